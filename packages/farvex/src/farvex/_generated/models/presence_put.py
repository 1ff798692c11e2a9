from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

from ..models.presence_put_status import PresencePutStatus

T = TypeVar("T", bound="PresencePut")


@_attrs_define
class PresencePut:
    """`available` takes calls (and ends any after-call work early); `away` and
    `offline` take none.

        Attributes:
            status (PresencePutStatus):
    """

    status: PresencePutStatus

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "status": status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = PresencePutStatus(d.pop("status"))

        presence_put = cls(
            status=status,
        )

        return presence_put
