from enum import StrEnum


class SessionState(StrEnum):
    ACTIVE = "active"
    ENDED = "ended"
    ON_HOLD = "on_hold"
    RINGING = "ringing"

    def __str__(self) -> str:
        return str(self.value)
