"""The `offline` media backend: no audio, scripted outcomes, like test credentials.

Phone legs follow the number dialled (docs/media.md lists them):

| number          | what happens                                   |
|-----------------|------------------------------------------------|
| +12025550100    | rings, answers after the answer delay          |
| +12025550101    | rings, then busy (SIP 486)                     |
| +12025550102    | rings, then declined (SIP 603)                 |
| +12025550103    | fails at once (SIP 500)                        |
| +12025550104    | rings and never answers (the ring timeout ends it) |
| +12025550105    | answers, then hangs up after three answer delays |
| any other valid | like +12025550100                              |

Recordings become `active` after the answer delay and stop when asked.
"""

from __future__ import annotations

from typing import Any

from ..domain import MediaCommand, RecordingState, Session, SipLegState
from .base import MediaReport, ReportSink
from .reports import RecordingReport, SipReport

__all__ = ["OFFLINE_NUMBERS", "OfflineMedia"]

ANSWERS = "+12025550100"
BUSY = "+12025550101"
DECLINES = "+12025550102"
FAILS = "+12025550103"
NEVER_ANSWERS = "+12025550104"
ANSWERS_THEN_HANGS_UP = "+12025550105"

OFFLINE_NUMBERS = {
    ANSWERS: "answers after the answer delay",
    BUSY: "busy (SIP 486)",
    DECLINES: "declined (SIP 603)",
    FAILS: "fails at once (SIP 500)",
    NEVER_ANSWERS: "never answers; the ring timeout withdraws it",
    ANSWERS_THEN_HANGS_UP: "answers, then hangs up after three answer delays",
}


class OfflineMedia:
    """Simulates what LiveKit would report. It has no audio and says so."""

    name = "offline"
    actions = frozenset({"dial", "start_recording"})  # nothing to simulate for the rest

    def __init__(self, answer_delay_s: float) -> None:
        self.answer_delay_s = answer_delay_s

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "audio": False,
            "note": "offline media: no audio; phone legs and recordings are simulated",
        }

    async def open_room(self, session: Session) -> None:
        return None

    def attach(self, sink: ReportSink) -> None:
        return None  # every outcome is known when the command runs

    async def aclose(self) -> None:
        return None

    async def execute(self, session: Session, command: MediaCommand) -> list[MediaReport]:
        delay = self.answer_delay_s
        if command.action == "dial" and command.participant_id and command.phone:
            return self._dial(command.participant_id, command.phone, delay)
        if command.action == "start_recording" and command.recording_id:
            active = RecordingReport(recording_id=command.recording_id, state=RecordingState.ACTIVE)
            return [MediaReport(delay, active)]
        return []

    @staticmethod
    def _dial(participant_id: str, phone: str, delay: float) -> list[MediaReport]:
        def sip(
            after_s: float, state: SipLegState, status: int | None = None, error: str | None = None
        ) -> MediaReport:
            leg = SipReport(
                participant_id=participant_id, state=state, sip_status=status, error=error
            )
            return MediaReport(after_s, leg)

        failed, answered = SipLegState.FAILED, SipLegState.ANSWERED
        if phone == FAILS:
            return [sip(0, failed, 500, "simulated failure")]
        ringing = sip(0, SipLegState.RINGING)
        if phone == NEVER_ANSWERS:
            return [ringing]
        if phone == BUSY:
            return [ringing, sip(delay, failed, 486, "busy")]
        if phone == DECLINES:
            return [ringing, sip(delay, failed, 603, "declined")]
        if phone == ANSWERS_THEN_HANGS_UP:
            return [ringing, sip(delay, answered), sip(delay * 4, SipLegState.ENDED)]
        return [ringing, sip(delay, answered)]
