from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.member_put_role import MemberPutRole

T = TypeVar("T", bound="MemberPut")


@_attrs_define
class MemberPut:
    """
    Attributes:
        role (MemberPutRole):
    """

    role: MemberPutRole

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
        role = MemberPutRole(d.pop("role"))

        member_put = cls(
            role=role,
        )

        return member_put
