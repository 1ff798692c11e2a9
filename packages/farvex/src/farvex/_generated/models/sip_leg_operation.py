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
from attrs import field as _attrs_field

from ..models.sip_leg_state import SipLegState
from ..types import UNSET, Unset

T = TypeVar("T", bound="SipLegOperation")


@_attrs_define
class SipLegOperation:
    """
    Attributes:
        phone (str):
        state (SipLegState):
        error (None | str | Unset):
        kind (Literal['sip_leg'] | Unset):  Default: 'sip_leg'.
    """

    phone: str
    state: SipLegState
    error: None | str | Unset = UNSET
    kind: Literal["sip_leg"] | Unset = "sip_leg"
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        phone = self.phone

        state = self.state.value

        error: None | str | Unset
        if isinstance(self.error, Unset):
            error = UNSET
        else:
            error = self.error

        kind = self.kind

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "phone": phone,
                "state": state,
            }
        )
        if error is not UNSET:
            field_dict["error"] = error
        if kind is not UNSET:
            field_dict["kind"] = kind

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        phone = d.pop("phone")

        state = SipLegState(d.pop("state"))

        def _parse_error(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        error = _parse_error(d.pop("error", UNSET))

        kind = cast(Literal["sip_leg"] | Unset, d.pop("kind", UNSET))
        if kind != "sip_leg" and not isinstance(kind, Unset):
            raise ValueError(f"kind must match const 'sip_leg', got '{kind}'")

        sip_leg_operation = cls(
            phone=phone,
            state=state,
            error=error,
            kind=kind,
        )

        sip_leg_operation.additional_properties = d
        return sip_leg_operation

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
