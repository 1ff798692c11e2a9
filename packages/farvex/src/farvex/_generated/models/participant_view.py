from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.capability import Capability
from ..models.participant_kind import ParticipantKind
from ..models.participant_state import ParticipantState
from ..models.role import Role
from ..models.state_reason import StateReason
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.sip_leg_operation import SipLegOperation


T = TypeVar("T", bound="ParticipantView")


@_attrs_define
class ParticipantView:
    """
    Attributes:
        accepted_at (datetime.datetime | None):
        capabilities (list[Capability]):
        connected (bool): In the media room now (from LiveKit's webhooks).
        contact_id (None | str):
        dispatch_id (None | str):
        ended_at (datetime.datetime | None):
        expires_at (datetime.datetime | None):
        id (str):
        invited_at (datetime.datetime):
        invited_by (None | str):
        kind (ParticipantKind):
        operations (list[SipLegOperation]):
        phone (None | str):
        role (Role):
        state (ParticipantState):
        state_reason (None | StateReason):
        user_id (int | None):
        connected_at (datetime.datetime | None | Unset): When the party first joined the media room.
    """

    accepted_at: datetime.datetime | None
    capabilities: list[Capability]
    connected: bool
    contact_id: None | str
    dispatch_id: None | str
    ended_at: datetime.datetime | None
    expires_at: datetime.datetime | None
    id: str
    invited_at: datetime.datetime
    invited_by: None | str
    kind: ParticipantKind
    operations: list[SipLegOperation]
    phone: None | str
    role: Role
    state: ParticipantState
    state_reason: None | StateReason
    user_id: int | None
    connected_at: datetime.datetime | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        accepted_at: None | str
        if isinstance(self.accepted_at, datetime.datetime):
            accepted_at = self.accepted_at.isoformat()
        else:
            accepted_at = self.accepted_at

        capabilities = []
        for capabilities_item_data in self.capabilities:
            capabilities_item = capabilities_item_data.value
            capabilities.append(capabilities_item)

        connected = self.connected

        contact_id: None | str
        contact_id = self.contact_id

        dispatch_id: None | str
        dispatch_id = self.dispatch_id

        ended_at: None | str
        if isinstance(self.ended_at, datetime.datetime):
            ended_at = self.ended_at.isoformat()
        else:
            ended_at = self.ended_at

        expires_at: None | str
        if isinstance(self.expires_at, datetime.datetime):
            expires_at = self.expires_at.isoformat()
        else:
            expires_at = self.expires_at

        id = self.id

        invited_at = self.invited_at.isoformat()

        invited_by: None | str
        invited_by = self.invited_by

        kind = self.kind.value

        operations = []
        for operations_item_data in self.operations:
            operations_item = operations_item_data.to_dict()
            operations.append(operations_item)

        phone: None | str
        phone = self.phone

        role = self.role.value

        state = self.state.value

        state_reason: None | str
        if isinstance(self.state_reason, StateReason):
            state_reason = self.state_reason.value
        else:
            state_reason = self.state_reason

        user_id: int | None
        user_id = self.user_id

        connected_at: None | str | Unset
        if isinstance(self.connected_at, Unset):
            connected_at = UNSET
        elif isinstance(self.connected_at, datetime.datetime):
            connected_at = self.connected_at.isoformat()
        else:
            connected_at = self.connected_at

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "accepted_at": accepted_at,
                "capabilities": capabilities,
                "connected": connected,
                "contact_id": contact_id,
                "dispatch_id": dispatch_id,
                "ended_at": ended_at,
                "expires_at": expires_at,
                "id": id,
                "invited_at": invited_at,
                "invited_by": invited_by,
                "kind": kind,
                "operations": operations,
                "phone": phone,
                "role": role,
                "state": state,
                "state_reason": state_reason,
                "user_id": user_id,
            }
        )
        if connected_at is not UNSET:
            field_dict["connected_at"] = connected_at

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.sip_leg_operation import SipLegOperation

        d = dict(src_dict)

        def _parse_accepted_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                accepted_at_type_0 = datetime.datetime.fromisoformat(data)

                return accepted_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        accepted_at = _parse_accepted_at(d.pop("accepted_at"))

        capabilities = []
        _capabilities = d.pop("capabilities")
        for capabilities_item_data in _capabilities:
            capabilities_item = Capability(capabilities_item_data)

            capabilities.append(capabilities_item)

        connected = d.pop("connected")

        def _parse_contact_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        contact_id = _parse_contact_id(d.pop("contact_id"))

        def _parse_dispatch_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        dispatch_id = _parse_dispatch_id(d.pop("dispatch_id"))

        def _parse_ended_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                ended_at_type_0 = datetime.datetime.fromisoformat(data)

                return ended_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        ended_at = _parse_ended_at(d.pop("ended_at"))

        def _parse_expires_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                expires_at_type_0 = datetime.datetime.fromisoformat(data)

                return expires_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        expires_at = _parse_expires_at(d.pop("expires_at"))

        id = d.pop("id")

        invited_at = datetime.datetime.fromisoformat(d.pop("invited_at"))

        def _parse_invited_by(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        invited_by = _parse_invited_by(d.pop("invited_by"))

        kind = ParticipantKind(d.pop("kind"))

        operations = []
        _operations = d.pop("operations")
        for operations_item_data in _operations:
            operations_item = SipLegOperation.from_dict(operations_item_data)

            operations.append(operations_item)

        def _parse_phone(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        phone = _parse_phone(d.pop("phone"))

        role = Role(d.pop("role"))

        state = ParticipantState(d.pop("state"))

        def _parse_state_reason(data: object) -> None | StateReason:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                state_reason_type_0 = StateReason(data)

                return state_reason_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | StateReason, data)

        state_reason = _parse_state_reason(d.pop("state_reason"))

        def _parse_user_id(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        user_id = _parse_user_id(d.pop("user_id"))

        def _parse_connected_at(data: object) -> datetime.datetime | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                connected_at_type_0 = datetime.datetime.fromisoformat(data)

                return connected_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None | Unset, data)

        connected_at = _parse_connected_at(d.pop("connected_at", UNSET))

        participant_view = cls(
            accepted_at=accepted_at,
            capabilities=capabilities,
            connected=connected,
            contact_id=contact_id,
            dispatch_id=dispatch_id,
            ended_at=ended_at,
            expires_at=expires_at,
            id=id,
            invited_at=invited_at,
            invited_by=invited_by,
            kind=kind,
            operations=operations,
            phone=phone,
            role=role,
            state=state,
            state_reason=state_reason,
            user_id=user_id,
            connected_at=connected_at,
        )

        participant_view.additional_properties = d
        return participant_view

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
