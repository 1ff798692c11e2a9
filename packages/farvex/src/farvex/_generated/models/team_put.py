from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="TeamPut")


@_attrs_define
class TeamPut:
    """
    Attributes:
        members (list[int]):
    """

    members: list[int]

    def to_dict(self) -> dict[str, Any]:
        members = self.members

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "members": members,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        members = cast(list[int], d.pop("members"))

        team_put = cls(
            members=members,
        )

        return team_put
