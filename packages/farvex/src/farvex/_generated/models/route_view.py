from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.direction import Direction

if TYPE_CHECKING:
    from ..models.route_view_target import RouteViewTarget


T = TypeVar("T", bound="RouteView")


@_attrs_define
class RouteView:
    """SessionRouteContext.

    Attributes:
        direction (Direction):
        dispatch_id (None | str):
        initiator_participant_id (str):
        initiator_user_id (int):
        target (RouteViewTarget):
        team (None | str):
    """

    direction: Direction
    dispatch_id: None | str
    initiator_participant_id: str
    initiator_user_id: int
    target: RouteViewTarget
    team: None | str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        direction = self.direction.value

        dispatch_id: None | str
        dispatch_id = self.dispatch_id

        initiator_participant_id = self.initiator_participant_id

        initiator_user_id = self.initiator_user_id

        target = self.target.to_dict()

        team: None | str
        team = self.team

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "direction": direction,
                "dispatch_id": dispatch_id,
                "initiator_participant_id": initiator_participant_id,
                "initiator_user_id": initiator_user_id,
                "target": target,
                "team": team,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        from ..models.route_view_target import RouteViewTarget

        d = dict(src_dict)
        direction = Direction(d.pop("direction"))

        def _parse_dispatch_id(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        dispatch_id = _parse_dispatch_id(d.pop("dispatch_id"))

        initiator_participant_id = d.pop("initiator_participant_id")

        initiator_user_id = d.pop("initiator_user_id")

        target = RouteViewTarget.from_dict(d.pop("target"))

        def _parse_team(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        team = _parse_team(d.pop("team"))

        route_view = cls(
            direction=direction,
            dispatch_id=dispatch_id,
            initiator_participant_id=initiator_participant_id,
            initiator_user_id=initiator_user_id,
            target=target,
            team=team,
        )

        route_view.additional_properties = d
        return route_view

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
