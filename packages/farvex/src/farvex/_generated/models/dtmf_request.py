from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="DtmfRequest")


@_attrs_define
class DtmfRequest:
    """
    Attributes:
        digits (str): The keys to press, in order: `0`-`9`, `*`, `#`, `A`-`D` (1 to 64).
    """

    digits: str

    def to_dict(self) -> dict[str, Any]:
        digits = self.digits

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "digits": digits,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        digits = d.pop("digits")

        dtmf_request = cls(
            digits=digits,
        )

        return dtmf_request
