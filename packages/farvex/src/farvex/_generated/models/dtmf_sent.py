from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="DtmfSent")


@_attrs_define
class DtmfSent:
    """The digits are on their way to the phone leg (sent once, even if the request is
    retried with the same Idempotency-Key).

        Attributes:
            digits (str):
            participant_id (str):
    """

    digits: str
    participant_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        digits = self.digits

        participant_id = self.participant_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "digits": digits,
                "participant_id": participant_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        digits = d.pop("digits")

        participant_id = d.pop("participant_id")

        dtmf_sent = cls(
            digits=digits,
            participant_id=participant_id,
        )

        dtmf_sent.additional_properties = d
        return dtmf_sent

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
