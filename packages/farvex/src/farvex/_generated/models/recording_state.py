from enum import StrEnum


class RecordingState(StrEnum):
    ACTIVE = "active"
    FAILED = "failed"
    STARTING = "starting"
    STOPPED = "stopped"

    def __str__(self) -> str:
        return str(self.value)
