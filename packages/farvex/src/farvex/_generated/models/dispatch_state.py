from enum import StrEnum


class DispatchState(StrEnum):
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    QUEUED = "queued"
    RESOLVED = "resolved"
    RINGING = "ringing"

    def __str__(self) -> str:
        return str(self.value)
