"""Action names and the capabilities they need.

The rules themselves exist once, on the server: every participant of every session view
carries its `capabilities`, and `can()` reads them. A property test
(packages/farvex/tests/test_capabilities.py) walks many sessions through the server's
pure domain and checks the SDK's answers against the server's rules.
"""

from __future__ import annotations

from typing import Literal, get_args

from ._errors import InvalidRequestError
from ._models import Capability

__all__ = ["ACTIONS", "Action", "capability_for"]

Action = Literal[
    "accept",
    "reject",
    "leave",
    "cancel",
    "end",
    "hold",
    "unhold",
    "start_recording",
    "stop_recording",
    "add_participant",
    "remove_participant",
    "rename",
    "send_dtmf",
]
ACTIONS: tuple[Action, ...] = get_args(Action)

_CAPABILITY_OF_ACTION: dict[str, Capability] = {
    "accept": Capability.ACCEPT_INVITE,
    "reject": Capability.REJECT_INVITE,
    "leave": Capability.LEAVE_SESSION,
    "cancel": Capability.CANCEL_SESSION,
    "end": Capability.END_SESSION,
    "hold": Capability.HOLD_SESSION,
    "unhold": Capability.UNHOLD_SESSION,
    "start_recording": Capability.START_RECORDING,
    "stop_recording": Capability.STOP_RECORDING,
    "add_participant": Capability.ADD_PARTICIPANT,
    "remove_participant": Capability.REMOVE_PARTICIPANT,
    "rename": Capability.RENAME_SESSION,
    "send_dtmf": Capability.SEND_DTMF,
}


def capability_for(action: Action | Capability | str) -> Capability:
    """`"end"` or `"end_session"` -> Capability.END_SESSION; ValueError for anything else."""
    found = _CAPABILITY_OF_ACTION.get(str(action))
    if found is not None:
        return found
    try:
        return Capability(str(action))
    except ValueError:
        known = ", ".join(ACTIONS)
        raise InvalidRequestError(f"unknown action {action!r}; one of: {known}") from None
