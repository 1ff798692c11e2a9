from enum import StrEnum


class ProblemCode(StrEnum):
    ALREADY_PARTICIPANT = "already_participant"
    BODY_TOO_LARGE = "body_too_large"
    CAPABILITY_MISSING = "capability_missing"
    CONTACT_NOT_FOUND = "contact_not_found"
    FORBIDDEN = "forbidden"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    INTERNAL_ERROR = "internal_error"
    INVALID_NAME = "invalid_name"
    INVALID_PHONE = "invalid_phone"
    INVALID_STATE = "invalid_state"
    INVALID_TARGET = "invalid_target"
    INVITE_NOT_PENDING = "invite_not_pending"
    MALFORMED_JSON = "malformed_json"
    MEDIA_UNAVAILABLE = "media_unavailable"
    MEMBER_NOT_FOUND = "member_not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    NOT_FOUND = "not_found"
    NOT_READY = "not_ready"
    NO_INVITEES = "no_invitees"
    PARTICIPANT_NOT_FOUND = "participant_not_found"
    RECORDING_NOT_FOUND = "recording_not_found"
    SESSION_ENDED = "session_ended"
    SESSION_NOT_FOUND = "session_not_found"
    TARGET_NOT_ALLOWED = "target_not_allowed"
    TEAM_NOT_FOUND = "team_not_found"
    TOKEN_EXPIRED = "token_expired"
    UNAUTHORIZED = "unauthorized"
    VALIDATION_FAILED = "validation_failed"
    VENDOR_EXISTS = "vendor_exists"
    VENDOR_NOT_FOUND = "vendor_not_found"
    VERSION_MISMATCH = "version_mismatch"
    WEBHOOK_REJECTED = "webhook_rejected"

    def __str__(self) -> str:
        return str(self.value)
