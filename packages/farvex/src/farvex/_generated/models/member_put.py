from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.member_role import MemberRole

T = TypeVar("T", bound="MemberPut")


@_attrs_define
class MemberPut:
    """
    Attributes:
        role (MemberRole): A user's role in a vendor: owners and admins manage it, agents take its calls.
    """

    role: MemberRole

    def to_dict(self) -> dict[str, Any]:
        role = self.role.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "role": role,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        role = MemberRole(d.pop("role"))

        member_put = cls(
            role=role,
        )

        return member_put
