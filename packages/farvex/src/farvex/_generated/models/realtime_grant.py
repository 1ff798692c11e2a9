from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..types import UNSET, Unset

T = TypeVar("T", bound="RealtimeGrant")


@_attrs_define
class RealtimeGrant:
    """Connect a Centrifugo client to `url` with `token`; it is subscribed to `channels`.

    Attributes:
        channels (list[str]): Channels the connection is subscribed to.
        expires_at (datetime.datetime): When the token expires; fetch a new grant then.
        token (str): Connection token (HS256 JWT: sub, exp, channels).
        url (str): WebSocket URL: the embedded hub, or Centrifugo in production.
        member_of (list[str] | Unset): Customer grants: the vendors the caller is a member of. What those vendors send
            the caller as a member (invites, their sessions) is published on vendor-scoped channels, which a vendor grant
            names, not on this one.
    """

    channels: list[str]
    expires_at: datetime.datetime
    token: str
    url: str
    member_of: list[str] | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        channels = self.channels

        expires_at = self.expires_at.isoformat()

        token = self.token

        url = self.url

        member_of: list[str] | Unset = UNSET
        if not isinstance(self.member_of, Unset):
            member_of = self.member_of

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "channels": channels,
                "expires_at": expires_at,
                "token": token,
                "url": url,
            }
        )
        if member_of is not UNSET:
            field_dict["member_of"] = member_of

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        channels = cast(list[str], d.pop("channels"))

        expires_at = datetime.datetime.fromisoformat(d.pop("expires_at"))

        token = d.pop("token")

        url = d.pop("url")

        member_of = cast(list[str], d.pop("member_of", UNSET))

        realtime_grant = cls(
            channels=channels,
            expires_at=expires_at,
            token=token,
            url=url,
            member_of=member_of,
        )

        realtime_grant.additional_properties = d
        return realtime_grant

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
