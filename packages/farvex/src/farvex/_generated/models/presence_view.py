from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.presence_view_status import PresenceViewStatus

T = TypeVar("T", bound="PresenceView")


@_attrs_define
class PresenceView:
    """
    Attributes:
        status (PresenceViewStatus):
        updated_at (datetime.datetime):
        user_id (int):
        vendor (str):
        wrap_up_until (datetime.datetime | None):
    """

    status: PresenceViewStatus
    updated_at: datetime.datetime
    user_id: int
    vendor: str
    wrap_up_until: datetime.datetime | None
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        status = self.status.value

        updated_at = self.updated_at.isoformat()

        user_id = self.user_id

        vendor = self.vendor

        wrap_up_until: None | str
        if isinstance(self.wrap_up_until, datetime.datetime):
            wrap_up_until = self.wrap_up_until.isoformat()
        else:
            wrap_up_until = self.wrap_up_until

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "status": status,
                "updated_at": updated_at,
                "user_id": user_id,
                "vendor": vendor,
                "wrap_up_until": wrap_up_until,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        status = PresenceViewStatus(d.pop("status"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updated_at"))

        user_id = d.pop("user_id")

        vendor = d.pop("vendor")

        def _parse_wrap_up_until(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                wrap_up_until_type_0 = datetime.datetime.fromisoformat(data)

                return wrap_up_until_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        wrap_up_until = _parse_wrap_up_until(d.pop("wrap_up_until"))

        presence_view = cls(
            status=status,
            updated_at=updated_at,
            user_id=user_id,
            vendor=vendor,
            wrap_up_until=wrap_up_until,
        )

        presence_view.additional_properties = d
        return presence_view

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
