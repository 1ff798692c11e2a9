from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.contact_target import ContactTarget
    from ..models.customer_target import CustomerTarget
    from ..models.phone_target import PhoneTarget
    from ..models.team_target import TeamTarget
    from ..models.vendor_user_target import VendorUserTarget


T = TypeVar("T", bound="AddParticipantRequest")


@_attrs_define
class AddParticipantRequest:
    """
    Attributes:
        target (ContactTarget | CustomerTarget | PhoneTarget | TeamTarget | VendorUserTarget):
    """

    target: ContactTarget | CustomerTarget | PhoneTarget | TeamTarget | VendorUserTarget

    def to_dict(self) -> dict[str, Any]:
        from ..models.contact_target import ContactTarget
        from ..models.customer_target import CustomerTarget
        from ..models.phone_target import PhoneTarget
        from ..models.vendor_user_target import VendorUserTarget

        target: dict[str, Any]
        if (
            isinstance(self.target, VendorUserTarget)
            or isinstance(self.target, CustomerTarget)
            or isinstance(self.target, ContactTarget)
            or isinstance(self.target, PhoneTarget)
        ):
            target = self.target.to_dict()
        else:
            target = self.target.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "target": target,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.contact_target import ContactTarget
        from ..models.customer_target import CustomerTarget
        from ..models.phone_target import PhoneTarget
        from ..models.team_target import TeamTarget
        from ..models.vendor_user_target import VendorUserTarget

        d = dict(src_dict)

        def _parse_target(
            data: object,
        ) -> (
            ContactTarget | CustomerTarget | PhoneTarget | TeamTarget | VendorUserTarget
        ):
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                target_type_0 = VendorUserTarget.from_dict(data)

                return target_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                target_type_1 = CustomerTarget.from_dict(data)

                return target_type_1
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                target_type_2 = ContactTarget.from_dict(data)

                return target_type_2
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                target_type_3 = PhoneTarget.from_dict(data)

                return target_type_3
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            if not isinstance(data, dict):
                raise TypeError()
            target_type_4 = TeamTarget.from_dict(data)

            return target_type_4

        target = _parse_target(d.pop("target"))

        add_participant_request = cls(
            target=target,
        )

        return add_participant_request
