"""What the rules refuse, as a tree a caller catches by meaning:

DomainError (code, detail, capability)
├── Forbidden   the caller's role may never do this
├── NotFound    no such participant or recording in the session
├── Conflict    the session's current state does not allow it
└── Invalid     the request itself breaks a rule (a name too long, nobody to call)

The HTTP layer maps each kind to a status (`problems.py`); the codes are a subset of the
API's problem codes (a test holds them to it).
"""

from __future__ import annotations

from enum import StrEnum

from .model import Capability

__all__ = ["Conflict", "DomainError", "ErrorCode", "Forbidden", "Invalid", "NotFound"]


class ErrorCode(StrEnum):
    CAPABILITY_MISSING = "capability_missing"
    FORBIDDEN = "forbidden"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    RECORDING_NOT_FOUND = "recording_not_found"
    SESSION_ENDED = "session_ended"
    INVITE_NOT_PENDING = "invite_not_pending"
    INVALID_STATE = "invalid_state"
    ALREADY_PARTICIPANT = "already_participant"
    INVALID_NAME = "invalid_name"
    NO_INVITEES = "no_invitees"
    INVALID_TARGET = "invalid_target"
    TARGET_NOT_ALLOWED = "target_not_allowed"


class DomainError(Exception):
    """An action refused by the rules."""

    def __init__(self, code: ErrorCode, detail: str, capability: Capability | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.capability = capability


class Forbidden(DomainError):
    """The caller's role may never do this."""


class NotFound(DomainError):
    """No such participant or recording in the session."""


class Conflict(DomainError):
    """The session's current state does not allow it."""


class Invalid(DomainError):
    """The request itself breaks a rule."""
