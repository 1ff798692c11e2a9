from enum import StrEnum


class EndReason(StrEnum):
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    ENDED_BY_HOST = "ended_by_host"
    FAILED = "failed"
    MISSED = "missed"
    NO_AGENTS_AVAILABLE = "no_agents_available"

    def __str__(self) -> str:
        return str(self.value)
