from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="VendorCreate")


@_attrs_define
class VendorCreate:
    """
    Attributes:
        name (str):
        slug (str): Lowercase letters, digits and dashes; 1 to 63 characters.
        end_sessions_with_room (bool | None | Unset): Whether a session ends when its media room finishes (LiveKit's
            `room_finished`: the room emptied out, or was deleted): `completed` once answered, `failed` while ringing. Null:
            the deployment's default (`CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM`).
        ring_timeout_s (float | None | Unset):
    """

    name: str
    slug: str
    end_sessions_with_room: bool | None | Unset = UNSET
    ring_timeout_s: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        slug = self.slug

        end_sessions_with_room: bool | None | Unset
        if isinstance(self.end_sessions_with_room, Unset):
            end_sessions_with_room = UNSET
        else:
            end_sessions_with_room = self.end_sessions_with_room

        ring_timeout_s: float | None | Unset
        if isinstance(self.ring_timeout_s, Unset):
            ring_timeout_s = UNSET
        else:
            ring_timeout_s = self.ring_timeout_s

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "slug": slug,
            }
        )
        if end_sessions_with_room is not UNSET:
            field_dict["end_sessions_with_room"] = end_sessions_with_room
        if ring_timeout_s is not UNSET:
            field_dict["ring_timeout_s"] = ring_timeout_s

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        slug = d.pop("slug")

        def _parse_end_sessions_with_room(data: object) -> bool | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(bool | None | Unset, data)

        end_sessions_with_room = _parse_end_sessions_with_room(
            d.pop("end_sessions_with_room", UNSET)
        )

        def _parse_ring_timeout_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ring_timeout_s = _parse_ring_timeout_s(d.pop("ring_timeout_s", UNSET))

        vendor_create = cls(
            name=name,
            slug=slug,
            end_sessions_with_room=end_sessions_with_room,
            ring_timeout_s=ring_timeout_s,
        )

        return vendor_create
