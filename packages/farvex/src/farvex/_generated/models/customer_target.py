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

T = TypeVar("T", bound="CustomerTarget")


@_attrs_define
class CustomerTarget:
    """Ring a customer (any Callpad user) in their app. Vendor members only.

    Attributes:
        type_ (Literal['customer']):
        user_id (int):
    """

    type_: Literal["customer"]
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
        type_ = cast(Literal["customer"], d.pop("type"))
        if type_ != "customer":
            raise ValueError(f"type must match const 'customer', got '{type_}'")

        user_id = d.pop("user_id")

        customer_target = cls(
            type_=type_,
            user_id=user_id,
        )

        return customer_target
