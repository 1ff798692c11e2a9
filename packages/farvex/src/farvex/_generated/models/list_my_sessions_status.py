from enum import StrEnum


class ListMySessionsStatus(StrEnum):
    ALL = "all"
    ENDED = "ended"
    LIVE = "live"

    def __str__(self) -> str:
        return str(self.value)
