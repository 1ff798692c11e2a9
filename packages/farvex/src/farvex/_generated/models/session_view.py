from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.end_reason import EndReason
from ..models.session_state import SessionState
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.dispatch_view import DispatchView
    from ..models.participant_view import ParticipantView
    from ..models.recording_view import RecordingView
    from ..models.route_view import RouteView


T = TypeVar("T", bound="SessionView")


@_attrs_define
class SessionView:
    """
    Attributes:
        answered_at (datetime.datetime | None):
        created_at (datetime.datetime):
        dispatches (list[DispatchView]):
        end_reason (EndReason | None):
        ended_at (datetime.datetime | None):
        id (str):
        name (str):
        participants (list[ParticipantView]):
        recordings (list[RecordingView]):
        room (str):
        route (RouteView): SessionRouteContext.
        state (SessionState):
        vendor (str):
        version (int):
        first_audio_at (datetime.datetime | None | Unset): When the first party started sending audio into the room.
    """

    answered_at: datetime.datetime | None
    created_at: datetime.datetime
    dispatches: list[DispatchView]
    end_reason: EndReason | None
    ended_at: datetime.datetime | None
    id: str
    name: str
    participants: list[ParticipantView]
    recordings: list[RecordingView]
    room: str
    route: RouteView
    state: SessionState
    vendor: str
    version: int
    first_audio_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        answered_at: None | str
        if isinstance(self.answered_at, datetime.datetime):
            answered_at = self.answered_at.isoformat()
        else:
            answered_at = self.answered_at

        created_at = self.created_at.isoformat()

        dispatches = []
        for dispatches_item_data in self.dispatches:
            dispatches_item = dispatches_item_data.to_dict()
            dispatches.append(dispatches_item)

        end_reason: None | str
        if isinstance(self.end_reason, EndReason):
            end_reason = self.end_reason.value
        else:
            end_reason = self.end_reason

        ended_at: None | str
        if isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        id = self.id

        name = self.name

        participants = []
        for participants_item_data in self.participants:
            participants_item = participants_item_data.to_dict()
            participants.append(participants_item)

        recordings = []
        for recordings_item_data in self.recordings:
            recordings_item = recordings_item_data.to_dict()
            recordings.append(recordings_item)

        room = self.room

        route = self.route.to_dict()

        state = self.state.value

        vendor = self.vendor

        version = self.version

        first_audio_at: None | str | Unset
        if isinstance(self.first_audio_at, Unset):
            first_audio_at = UNSET
        elif isinstance(self.first_audio_at, datetime.datetime):
            first_audio_at = self.first_audio_at.isoformat()
        else:
            first_audio_at = self.first_audio_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "answered_at": answered_at,
                "created_at": created_at,
                "dispatches": dispatches,
                "end_reason": end_reason,
                "ended_at": ended_at,
                "id": id,
                "name": name,
                "participants": participants,
                "recordings": recordings,
                "room": room,
                "route": route,
                "state": state,
                "vendor": vendor,
                "version": version,
            }
        )
        if first_audio_at is not UNSET:
            field_dict["first_audio_at"] = first_audio_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.dispatch_view import DispatchView
        from ..models.participant_view import ParticipantView
        from ..models.recording_view import RecordingView
        from ..models.route_view import RouteView

        d = dict(src_dict)

        def _parse_answered_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                answered_at_type_0 = datetime.datetime.fromisoformat(data)

                return answered_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        answered_at = _parse_answered_at(d.pop("answered_at"))

        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        dispatches = []
        _dispatches = d.pop("dispatches")
        for dispatches_item_data in _dispatches:
            dispatches_item = DispatchView.from_dict(dispatches_item_data)

            dispatches.append(dispatches_item)

        def _parse_end_reason(data: object) -> EndReason | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                end_reason_type_0 = EndReason(data)

                return end_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(EndReason | None, data)

        end_reason = _parse_end_reason(d.pop("end_reason"))

        def _parse_ended_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ended_at_type_0 = datetime.datetime.fromisoformat(data)

                return ended_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        ended_at = _parse_ended_at(d.pop("ended_at"))

        id = d.pop("id")

        name = d.pop("name")

        participants = []
        _participants = d.pop("participants")
        for participants_item_data in _participants:
            participants_item = ParticipantView.from_dict(participants_item_data)

            participants.append(participants_item)

        recordings = []
        _recordings = d.pop("recordings")
        for recordings_item_data in _recordings:
            recordings_item = RecordingView.from_dict(recordings_item_data)

            recordings.append(recordings_item)

        room = d.pop("room")

        route = RouteView.from_dict(d.pop("route"))

        state = SessionState(d.pop("state"))

        vendor = d.pop("vendor")

        version = d.pop("version")

        def _parse_first_audio_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                first_audio_at_type_0 = datetime.datetime.fromisoformat(data)

                return first_audio_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        first_audio_at = _parse_first_audio_at(d.pop("first_audio_at", UNSET))

        session_view = cls(
            answered_at=answered_at,
            created_at=created_at,
            dispatches=dispatches,
            end_reason=end_reason,
            ended_at=ended_at,
            id=id,
            name=name,
            participants=participants,
            recordings=recordings,
            room=room,
            route=route,
            state=state,
            vendor=vendor,
            version=version,
            first_audio_at=first_audio_at,
        )

        session_view.additional_properties = d
        return session_view

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
