from enum import StrEnum


class WhenUnavailable(StrEnum):
    FAIL = "fail"
    QUEUE = "queue"

    def __str__(self) -> str:
        return str(self.value)
