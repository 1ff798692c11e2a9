from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="VendorCreate")


@_attrs_define
class VendorCreate:
    """
    Attributes:
        name (str):
        slug (str): Lowercase letters, digits and dashes; 1 to 63 characters.
        ring_timeout_s (float | None | Unset):
    """

    name: str
    slug: str
    ring_timeout_s: float | None | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        slug = self.slug

        ring_timeout_s: float | None | Unset
        if isinstance(self.ring_timeout_s, Unset):
            ring_timeout_s = UNSET
        else:
            ring_timeout_s = self.ring_timeout_s

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "slug": slug,
            }
        )
        if ring_timeout_s is not UNSET:
            field_dict["ring_timeout_s"] = ring_timeout_s

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        name = d.pop("name")

        slug = d.pop("slug")

        def _parse_ring_timeout_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        ring_timeout_s = _parse_ring_timeout_s(d.pop("ring_timeout_s", UNSET))

        vendor_create = cls(
            name=name,
            slug=slug,
            ring_timeout_s=ring_timeout_s,
        )

        return vendor_create
