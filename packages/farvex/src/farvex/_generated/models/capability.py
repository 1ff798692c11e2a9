from enum import StrEnum


class Capability(StrEnum):
    ACCEPT_INVITE = "accept_invite"
    ADD_PARTICIPANT = "add_participant"
    CANCEL_SESSION = "cancel_session"
    END_SESSION = "end_session"
    HOLD_SESSION = "hold_session"
    LEAVE_SESSION = "leave_session"
    REJECT_INVITE = "reject_invite"
    REMOVE_PARTICIPANT = "remove_participant"
    RENAME_SESSION = "rename_session"
    SEND_DTMF = "send_dtmf"
    START_RECORDING = "start_recording"
    STOP_RECORDING = "stop_recording"
    UNHOLD_SESSION = "unhold_session"

    def __str__(self) -> str:
        return str(self.value)
