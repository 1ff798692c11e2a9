from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="VendorView")


@_attrs_define
class VendorView:
    """
    Attributes:
        created_at (datetime.datetime):
        name (str):
        ring_timeout_s (float):
        slug (str):
    """

    created_at: datetime.datetime
    name: str
    ring_timeout_s: float
    slug: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        created_at = self.created_at.isoformat()

        name = self.name

        ring_timeout_s = self.ring_timeout_s

        slug = self.slug

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "created_at": created_at,
                "name": name,
                "ring_timeout_s": ring_timeout_s,
                "slug": slug,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        created_at = datetime.datetime.fromisoformat(d.pop("created_at"))

        name = d.pop("name")

        ring_timeout_s = d.pop("ring_timeout_s")

        slug = d.pop("slug")

        vendor_view = cls(
            created_at=created_at,
            name=name,
            ring_timeout_s=ring_timeout_s,
            slug=slug,
        )

        vendor_view.additional_properties = d
        return vendor_view

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
