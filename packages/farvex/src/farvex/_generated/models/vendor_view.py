from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="VendorView")


@_attrs_define
class VendorView:
    """
    Attributes:
        created_at (datetime.datetime):
        end_sessions_with_room (bool | None): Whether a session ends when its media room finishes (LiveKit's
            `room_finished`: the room emptied out, or was deleted): `completed` once answered, `failed` while ringing. Null:
            the deployment's default (`CALLPAD_LIVEKIT_END_SESSIONS_WITH_ROOM`).
        name (str):
        ring_timeout_s (float):
        slug (str):
    """

    created_at: datetime.datetime
    end_sessions_with_room: bool | None
    name: str
    ring_timeout_s: float
    slug: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        end_sessions_with_room: bool | None
        end_sessions_with_room = self.end_sessions_with_room

        name = self.name

        ring_timeout_s = self.ring_timeout_s

        slug = self.slug

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "end_sessions_with_room": end_sessions_with_room,
                "name": name,
                "ring_timeout_s": ring_timeout_s,
                "slug": slug,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        def _parse_end_sessions_with_room(data: object) -> bool | None:
            if data is None:
                return data
            return cast(bool | None, data)

        end_sessions_with_room = _parse_end_sessions_with_room(
            d.pop("end_sessions_with_room")
        )

        name = d.pop("name")

        ring_timeout_s = d.pop("ring_timeout_s")

        slug = d.pop("slug")

        vendor_view = cls(
            created_at=created_at,
            end_sessions_with_room=end_sessions_with_room,
            name=name,
            ring_timeout_s=ring_timeout_s,
            slug=slug,
        )

        vendor_view.additional_properties = d
        return vendor_view

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
