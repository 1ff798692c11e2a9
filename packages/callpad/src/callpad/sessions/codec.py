"""The session aggregate as a JSON document, and back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..domain import (
    Attempt,
    Direction,
    Dispatch,
    DispatchPolicy,
    DispatchReason,
    DispatchState,
    DispatchStrategy,
    EndReason,
    Participant,
    ParticipantKind,
    ParticipantState,
    Recording,
    RecordingFile,
    RecordingState,
    RingOrder,
    Role,
    Route,
    Session,
    SipLeg,
    SipLegState,
    StateReason,
    WhenUnavailable,
)

__all__ = ["from_document", "to_document"]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _required(value: str) -> datetime:
    return datetime.fromisoformat(value)


def to_document(s: Session) -> dict[str, Any]:
    return {
        "id": s.id,
        "vendor": s.vendor,
        "name": s.name,
        "version": s.version,
        "room": s.room,
        "created_at": _time(s.created_at),
        "answered_at": _time(s.answered_at),
        "ended_at": _time(s.ended_at),
        "end_reason": s.end_reason,
        "on_hold": s.on_hold,
        "ring_timeout_s": s.ring_timeout_s,
        "first_audio_at": _time(s.first_audio_at),
        "room_closed_at": _time(s.room_closed_at),
        "route": {
            "direction": s.route.direction,
            "initiator_user_id": s.route.initiator_user_id,
            "initiator_participant_id": s.route.initiator_participant_id,
            "target": s.route.target,
            "team": s.route.team,
            "dispatch_id": s.route.dispatch_id,
        },
        "participants": [
            {
                "id": p.id,
                "kind": p.kind,
                "role": p.role,
                "state": p.state,
                "invited_at": _time(p.invited_at),
                "user_id": p.user_id,
                "phone": p.phone,
                "contact_id": p.contact_id,
                "state_reason": p.state_reason,
                "expires_at": _time(p.expires_at),
                "accepted_at": _time(p.accepted_at),
                "ended_at": _time(p.ended_at),
                "invited_by": p.invited_by,
                "dispatch_id": p.dispatch_id,
                "sip_leg": (
                    {"state": p.sip_leg.state, "phone": p.sip_leg.phone, "error": p.sip_leg.error}
                    if p.sip_leg
                    else None
                ),
                "connected": p.connected,
                "member": p.member,
                "room_sids": sorted(p.room_sids),
                "left_sids": sorted(p.left_sids),
                "connected_at": _time(p.connected_at),
            }
            for p in s.participants
        ],
        "recordings": [
            {
                "id": r.id,
                "state": r.state,
                "started_by": r.started_by,
                "started_at": _time(r.started_at),
                "stopped_at": _time(r.stopped_at),
                "error": r.error,
                "file": (
                    {
                        "duration_s": r.file.duration_s,
                        "size_bytes": r.file.size_bytes,
                        "format": r.file.format,
                    }
                    if r.file
                    else None
                ),
            }
            for r in s.recordings
        ],
        "dispatches": [_dispatch_document(d) for d in s.dispatches],
    }


def _dispatch_document(d: Dispatch) -> dict[str, Any]:
    p = d.policy
    return {
        "id": d.id,
        "team": d.team,
        "state": d.state,
        "created_at": _time(d.created_at),
        "requested_by": d.requested_by,
        "policy": {
            "strategy": p.strategy,
            "ring_order": p.ring_order,
            "batch_size": p.batch_size,
            "ring_timeout_s": p.ring_timeout_s,
            "dispatch_timeout_s": p.dispatch_timeout_s,
            "when_unavailable": p.when_unavailable,
            "max_queue_wait_s": p.max_queue_wait_s,
            "max_rounds": p.max_rounds,
            "max_concurrent_calls": p.max_concurrent_calls,
            "wrap_up_s": p.wrap_up_s,
        },
        "attempts": [[a.participant_id, a.round] for a in d.attempts],
        "round": d.round,
        "deadline": _time(d.deadline),
        "queued_at": _time(d.queued_at),
        "queue_position": d.queue_position,
        "estimated_wait_s": d.estimated_wait_s,
        "winner_participant_id": d.winner_participant_id,
        "reason": d.reason,
        "ended_at": _time(d.ended_at),
    }


def _dispatch(d: dict[str, Any]) -> Dispatch:
    p = d["policy"]
    return Dispatch(
        id=d["id"],
        team=d["team"],
        state=DispatchState(d["state"]),
        created_at=_required(d["created_at"]),
        requested_by=d["requested_by"],
        policy=DispatchPolicy(
            strategy=DispatchStrategy(p["strategy"]),
            ring_order=RingOrder(p["ring_order"]),
            batch_size=p["batch_size"],
            ring_timeout_s=p["ring_timeout_s"],
            dispatch_timeout_s=p["dispatch_timeout_s"],
            when_unavailable=WhenUnavailable(p["when_unavailable"]),
            max_queue_wait_s=p["max_queue_wait_s"],
            max_rounds=p["max_rounds"],
            max_concurrent_calls=p["max_concurrent_calls"],
            wrap_up_s=p["wrap_up_s"],
        ),
        attempts=tuple(Attempt(pid, round_) for pid, round_ in d["attempts"]),
        round=d["round"],
        deadline=_parse(d["deadline"]),
        queued_at=_parse(d["queued_at"]),
        queue_position=d["queue_position"],
        estimated_wait_s=d["estimated_wait_s"],
        winner_participant_id=d["winner_participant_id"],
        reason=DispatchReason(d["reason"]) if d["reason"] else None,
        ended_at=_parse(d["ended_at"]),
    )


def from_document(doc: dict[str, Any]) -> Session:
    route = doc["route"]
    return Session(
        id=doc["id"],
        vendor=doc["vendor"],
        name=doc["name"],
        version=doc["version"],
        room=doc["room"],
        created_at=_required(doc["created_at"]),
        answered_at=_parse(doc["answered_at"]),
        ended_at=_parse(doc["ended_at"]),
        end_reason=EndReason(doc["end_reason"]) if doc["end_reason"] else None,
        on_hold=doc["on_hold"],
        ring_timeout_s=doc["ring_timeout_s"],
        first_audio_at=_parse(doc.get("first_audio_at")),
        room_closed_at=_parse(doc.get("room_closed_at")),
        route=Route(
            direction=Direction(route["direction"]),
            initiator_user_id=route["initiator_user_id"],
            initiator_participant_id=route["initiator_participant_id"],
            target=route["target"],
            team=route["team"],
            dispatch_id=route["dispatch_id"],
        ),
        participants=tuple(
            Participant(
                id=p["id"],
                kind=ParticipantKind(p["kind"]),
                role=Role(p["role"]),
                state=ParticipantState(p["state"]),
                invited_at=_required(p["invited_at"]),
                user_id=p["user_id"],
                phone=p["phone"],
                contact_id=p["contact_id"],
                state_reason=StateReason(p["state_reason"]) if p["state_reason"] else None,
                expires_at=_parse(p["expires_at"]),
                accepted_at=_parse(p["accepted_at"]),
                ended_at=_parse(p["ended_at"]),
                invited_by=p["invited_by"],
                dispatch_id=p["dispatch_id"],
                sip_leg=(
                    SipLeg(
                        state=SipLegState(p["sip_leg"]["state"]),
                        phone=p["sip_leg"]["phone"],
                        error=p["sip_leg"]["error"],
                    )
                    if p["sip_leg"]
                    else None
                ),
                connected=p["connected"],
                member=p.get("member", False),
                room_sids=frozenset(p.get("room_sids", ())),
                left_sids=frozenset(p.get("left_sids", ())),
                connected_at=_parse(p.get("connected_at")),
            )
            for p in doc["participants"]
        ),
        recordings=tuple(
            Recording(
                id=r["id"],
                state=RecordingState(r["state"]),
                started_by=r["started_by"],
                started_at=_required(r["started_at"]),
                stopped_at=_parse(r["stopped_at"]),
                error=r["error"],
                file=RecordingFile(**r["file"]) if r.get("file") else None,
            )
            for r in doc["recordings"]
        ),
        dispatches=tuple(_dispatch(d) for d in doc["dispatches"]),
    )
