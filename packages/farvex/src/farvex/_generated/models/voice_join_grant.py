from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="VoiceJoinGrant")


@_attrs_define
class VoiceJoinGrant:
    """A LiveKit access token for the caller's participant in the session's room.

    Attributes:
        expires_at (datetime.datetime):
        participant_id (str):
        room (str):
        token (str):
        url (str):
    """

    expires_at: datetime.datetime
    participant_id: str
    room: str
    token: str
    url: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        expires_at = self.expires_at.isoformat()

        participant_id = self.participant_id

        room = self.room

        token = self.token

        url = self.url

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "expires_at": expires_at,
                "participant_id": participant_id,
                "room": room,
                "token": token,
                "url": url,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        participant_id = d.pop("participant_id")

        room = d.pop("room")

        token = d.pop("token")

        url = d.pop("url")

        voice_join_grant = cls(
            expires_at=expires_at,
            participant_id=participant_id,
            room=room,
            token=token,
            url=url,
        )

        voice_join_grant.additional_properties = d
        return voice_join_grant

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
