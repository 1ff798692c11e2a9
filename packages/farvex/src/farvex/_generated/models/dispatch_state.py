from enum import StrEnum


class DispatchState(StrEnum):
    CANCELLED = "cancelled"
    RESOLVED = "resolved"
    STARTED = "started"

    def __str__(self) -> str:
        return str(self.value)
