from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="VendorUpdate")


@_attrs_define
class VendorUpdate:
    """The settings to change; a field left out stays as it is, and
    `end_sessions_with_room: null` goes back to the deployment's default.

        Attributes:
            end_sessions_with_room (bool | None | Unset): Whether a session ends when its media room finishes (LiveKit's
                `room_finished`: the room emptied out, or was deleted): `completed` once answered, `failed` while ringing. Null:
                the deployment's default (`CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM`).
            name (None | str | Unset):
            ring_timeout_s (float | None | Unset):
    """

    end_sessions_with_room: bool | None | Unset = UNSET
    name: None | str | Unset = UNSET
    ring_timeout_s: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        end_sessions_with_room: bool | None | Unset
        if isinstance(self.end_sessions_with_room, Unset):
            end_sessions_with_room = UNSET
        else:
            end_sessions_with_room = self.end_sessions_with_room

        name: None | str | Unset
        if isinstance(self.name, Unset):
            name = UNSET
        else:
            name = self.name

        ring_timeout_s: float | None | Unset
        if isinstance(self.ring_timeout_s, Unset):
            ring_timeout_s = UNSET
        else:
            ring_timeout_s = self.ring_timeout_s

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if end_sessions_with_room is not UNSET:
            field_dict["end_sessions_with_room"] = end_sessions_with_room
        if name is not UNSET:
            field_dict["name"] = name
        if ring_timeout_s is not UNSET:
            field_dict["ring_timeout_s"] = ring_timeout_s

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_end_sessions_with_room(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        end_sessions_with_room = _parse_end_sessions_with_room(
            d.pop("end_sessions_with_room", UNSET)
        )

        def _parse_name(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        name = _parse_name(d.pop("name", UNSET))

        def _parse_ring_timeout_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ring_timeout_s = _parse_ring_timeout_s(d.pop("ring_timeout_s", UNSET))

        vendor_update = cls(
            end_sessions_with_room=end_sessions_with_room,
            name=name,
            ring_timeout_s=ring_timeout_s,
        )

        return vendor_update
