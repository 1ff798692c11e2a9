from __future__ import annotations

from collections.abc import Mapping
from typing import (
    Any,
    Literal,
    Self,
    TypeVar,
    cast,
)

from attrs import define as _attrs_define

T = TypeVar("T", bound="VendorUserTarget")


@_attrs_define
class VendorUserTarget:
    """Ring one of the vendor's members in their app.

    Attributes:
        type_ (Literal['vendor_user']):
        user_id (int):
    """

    type_: Literal["vendor_user"]
    user_id: int

    def to_dict(self) -> dict[str, Any]:
        type_ = self.type_

        user_id = self.user_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "type": type_,
                "user_id": user_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        type_ = cast(Literal["vendor_user"], d.pop("type"))
        if type_ != "vendor_user":
            raise ValueError(f"type must match const 'vendor_user', got '{type_}'")

        user_id = d.pop("user_id")

        vendor_user_target = cls(
            type_=type_,
            user_id=user_id,
        )

        return vendor_user_target
