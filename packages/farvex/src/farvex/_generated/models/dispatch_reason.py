from enum import StrEnum


class DispatchReason(StrEnum):
    ANSWERED = "answered"
    CALLER_CANCELLED = "caller_cancelled"
    DISPATCH_TIMEOUT = "dispatch_timeout"
    NO_AGENTS_AVAILABLE = "no_agents_available"
    NO_ANSWER = "no_answer"
    QUEUE_TIMEOUT = "queue_timeout"
    SESSION_ENDED = "session_ended"

    def __str__(self) -> str:
        return str(self.value)
