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

T = TypeVar("T", bound="PhoneTarget")


@_attrs_define
class PhoneTarget:
    """Dial a phone number (E.164) through the media layer.

    Attributes:
        phone (str):
        type_ (Literal['phone']):
    """

    phone: str
    type_: Literal["phone"]

    def to_dict(self) -> dict[str, Any]:
        phone = self.phone

        type_ = self.type_

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "phone": phone,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        phone = d.pop("phone")

        type_ = cast(Literal["phone"], d.pop("type"))
        if type_ != "phone":
            raise ValueError(f"type must match const 'phone', got '{type_}'")

        phone_target = cls(
            phone=phone,
            type_=type_,
        )

        return phone_target
