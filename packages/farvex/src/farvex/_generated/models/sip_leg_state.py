from enum import StrEnum


class SipLegState(StrEnum):
    ANSWERED = "answered"
    DIALING = "dialing"
    ENDED = "ended"
    FAILED = "failed"
    RINGING = "ringing"

    def __str__(self) -> str:
        return str(self.value)
