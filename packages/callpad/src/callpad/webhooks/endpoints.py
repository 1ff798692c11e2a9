"""`POST /api/v1/webhooks/livekit`: where LiveKit posts its webhooks."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from ..clock import utcnow
from ..context import write_transaction
from ..dependencies import Ctx
from ..problems import Problem, ProblemCode, problem_responses
from .service import apply_livekit_webhook

__all__ = ["router"]

router = APIRouter(tags=["webhooks"])


class WebhookReceipt(BaseModel):
    id: str = Field(description="LiveKit's event id.")
    event: str = Field(description="LiveKit's event name, e.g. `participant_joined`.")
    applied: bool = Field(description="False when this event was already applied.")


@router.post(
    "/webhooks/livekit",
    operation_id="receive_livekit_webhook",
    response_model=WebhookReceipt,
    responses=problem_responses(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "A LiveKit `WebhookEvent`, signed in `Authorization`.",
            "content": {"application/webhook+json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_livekit_webhook(request: Request, ctx: Ctx) -> WebhookReceipt:
    """A webhook from LiveKit, signed with the API secret (401 `webhook_rejected` when it
    is unsigned, forged or expired). Each event is applied once; redeliveries answer
    `applied: false`."""
    # Imported on the first webhook: livekit-api and its protobufs cost every server
    # process start-up time, and only deployments on LiveKit receive webhooks.
    from ..media.livekit.webhooks import WebhookRejected, verify_webhook

    try:
        event = verify_webhook(
            ctx.settings, await request.body(), request.headers.get("authorization")
        )
    except WebhookRejected as exc:
        raise Problem(401, ProblemCode.WEBHOOK_REJECTED, str(exc)) from exc
    async with write_transaction(ctx) as conn:
        applied = await apply_livekit_webhook(ctx, conn, event, utcnow())
    return WebhookReceipt(id=event.id, event=event.event, applied=applied)
