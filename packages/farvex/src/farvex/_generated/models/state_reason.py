from enum import StrEnum


class StateReason(StrEnum):
    ANSWERED_ELSEWHERE = "answered_elsewhere"
    BUSY = "busy"
    CANCELLED = "cancelled"
    DECLINED = "declined"
    FAILED = "failed"
    HUNG_UP = "hung_up"
    REMOVED = "removed"
    TIMEOUT = "timeout"

    def __str__(self) -> str:
        return str(self.value)
