"""Media jobs whose command fails: each is retried on its own, with its error kept, until
given up, and keyed digits are never repeated; an attempt that outlived its lease settles
nothing. The offline backend is made to refuse some actions, as a
media server would; LiveKit not answering is tested for real in
tests/media/test_livekit_jobs.py."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from callpad import workers
from callpad.clock import utcnow
from callpad.context import AppContext, write_transaction
from callpad.db.tables import media_jobs
from callpad.domain import MediaCommand, Session
from callpad.media.base import MediaReport
from callpad.media.jobs import schedule_commands, settle_job, take_job
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


async def test_a_command_refused_at_every_attempt_is_given_up_with_its_error(
    app: FastAPI, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers, "MEDIA_JOB_ATTEMPTS", 2)
    sid, _ = await answered_phone_call(api)
    ctx = refusing(app, "dial")
    added = await api.post(
        AGENT,
        f"/vendors/acme/sessions/{sid}/participants",
        json={"target": {"type": "phone", "phone": "+12025550199"}},
    )
    assert added.status_code == 200, added.text

    async def given_up() -> dict[str, Any] | None:
        dials = await jobs_for(ctx, "dial")
        return dials[-1] if len(dials) == 2 and dials[-1]["done_at"] else None

    dial = await eventually(given_up)
    assert (dial["attempts"], dial["last_error"]) == (2, "RuntimeError: dial refused")


def test_retries_back_off_doubling_to_a_minute_apart() -> None:
    delays = [workers.retry_delay_s(attempt) for attempt in (1, 2, 3, 7, 8, 59)]
    assert delays == [0.5, 1.0, 2.0, 32.0, 60.0, 60.0]


async def test_an_attempt_whose_lease_ran_out_settles_nothing(app: FastAPI) -> None:
    """A slow attempt that finishes after its lease ran out (and another attempt took the
    job) neither marks it done nor reschedules it: that is the later attempt's to do."""
    ctx: AppContext = app.state.ctx
    later = utcnow() + timedelta(hours=1)  # not due for the running worker
    async with write_transaction(ctx) as conn:
        await schedule_commands(conn, "ses_x", [MediaCommand("hold")], later)
    [job_id] = [job["id"] for job in await jobs_for(ctx, "hold")]
    async with write_transaction(ctx) as conn:
        slow = await take_job(conn, job_id, later, lease_s=60)
        assert await take_job(conn, job_id, later, lease_s=60) is None  # leased
        lease_over = later + timedelta(seconds=61)
        again = await take_job(conn, job_id, lease_over, lease_s=60)
        assert slow is not None and again is not None
        assert (slow.attempts, again.attempts) == (1, 2)
        assert not await settle_job(conn, slow, lease_over)
        assert not await settle_job(conn, slow, lease_over, retry_at=lease_over, error="late")
        assert await settle_job(conn, again, lease_over)
    [job] = await jobs_for(ctx, "hold")
    assert (job["done_at"], job["last_error"]) == (lease_over, None)
