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

T = TypeVar("T", bound="ContactTarget")


@_attrs_define
class ContactTarget:
    """Ring an address-book contact: in their app if it names a user id, else their phone.

    Attributes:
        contact_id (str):
        type_ (Literal['contact']):
    """

    contact_id: str
    type_: Literal["contact"]

    def to_dict(self) -> dict[str, Any]:
        contact_id = self.contact_id

        type_ = self.type_

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "contact_id": contact_id,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        contact_id = d.pop("contact_id")

        type_ = cast(Literal["contact"], d.pop("type"))
        if type_ != "contact":
            raise ValueError(f"type must match const 'contact', got '{type_}'")

        contact_target = cls(
            contact_id=contact_id,
            type_=type_,
        )

        return contact_target
