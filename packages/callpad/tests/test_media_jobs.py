"""Media jobs whose command fails: each is retried on its own, with its error kept, and
keyed digits are never repeated. The offline backend is made to refuse some actions, as a
media server would; LiveKit not answering is tested for real in
tests/media/test_livekit_jobs.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from callpad.context import AppContext
from callpad.db.tables import media_jobs
from callpad.domain import MediaCommand, Session
from callpad.media.base import MediaReport
from callpad.media.offline import OfflineMedia
from callpad.metrics import MEDIA_JOB_FAILURES
from fastapi import FastAPI

from testsupport.api import Api, eventually

from .test_dtmf_api import AGENT, answered_phone_call


class RefusingMedia(OfflineMedia):
    """Offline media that refuses the `refused` actions (and takes DTMF jobs, to refuse)."""

    actions = OfflineMedia.actions | {"send_dtmf"}

    def __init__(self, answer_delay_s: float, refused: set[str]) -> None:
        super().__init__(answer_delay_s)
        self.refused = refused

    async def execute(self, session: Session, command: MediaCommand) -> list[MediaReport]:
        if command.action in self.refused:
            raise RuntimeError(f"{command.action} refused")
        return await super().execute(session, command)


def refusing(app: FastAPI, *actions: str) -> AppContext:
    ctx: AppContext = app.state.ctx
    ctx.media = RefusingMedia(ctx.settings.offline_answer_delay_s, set(actions))
    return ctx


async def jobs_for(ctx: AppContext, action: str) -> list[dict[str, Any]]:
    async with ctx.db.read() as conn:
        rows = (await conn.execute(sa.select(media_jobs).order_by(media_jobs.c.id))).mappings()
        return [dict(r) for r in rows if r["body"].get("command", {}).get("action") == action]


async def test_a_failing_command_is_retried_and_holds_up_no_other(app: FastAPI, api: Api) -> None:
    sid, _ = await answered_phone_call(api)
    ctx = refusing(app, "dial")
    path = f"/vendors/acme/sessions/{sid}"
    added = await api.post(
        AGENT, f"{path}/participants", json={"target": {"type": "phone", "phone": "+12025550199"}}
    )
    assert added.status_code == 200, added.text
    recording = await api.post(AGENT, f"{path}/recordings")  # its job is due after the dial's
    assert recording.status_code == 201, recording.text

    async def recording_active() -> bool:
        view = (await api.get(AGENT, path)).json()
        return bool(view["recordings"][0]["state"] == "active")

    await eventually(recording_active)

    async def retried() -> dict[str, Any] | None:
        dials = await jobs_for(ctx, "dial")  # the first phone leg's, then the refused one
        return dials[-1] if len(dials) == 2 and dials[-1]["attempts"] >= 2 else None

    dial = await eventually(retried)
    assert dial["last_error"] == "RuntimeError: dial refused"
    assert dial["done_at"] is None


async def test_digits_that_fail_are_dropped_not_keyed_again(app: FastAPI, api: Api) -> None:
    sid, phone_id = await answered_phone_call(api)
    ctx = refusing(app, "send_dtmf")
    given_up = MEDIA_JOB_FAILURES.labels("send_dtmf", "given_up")
    before = given_up._value.get()
    sent = await api.post(
        AGENT, f"/vendors/acme/sessions/{sid}/participants/{phone_id}/dtmf", json={"digits": "12"}
    )
    assert sent.status_code == 202, sent.text

    await eventually(lambda: given_up._value.get() == before + 1)
    [job] = await jobs_for(ctx, "send_dtmf")
    assert job["done_at"] is not None  # taken once, never to run again
    assert job["attempts"] == 1
