from enum import StrEnum


class PresencePutStatus(StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"

    def __str__(self) -> str:
        return str(self.value)
