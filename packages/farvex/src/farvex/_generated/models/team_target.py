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

T = TypeVar("T", bound="TeamTarget")


@_attrs_define
class TeamTarget:
    """Ring a team: its available agents, as the team's dispatch settings say.

    Attributes:
        team (str):
        type_ (Literal['team']):
    """

    team: str
    type_: Literal["team"]

    def to_dict(self) -> dict[str, Any]:
        team = self.team

        type_ = self.type_

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "team": team,
                "type": type_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)
        team = d.pop("team")

        type_ = cast(Literal["team"], d.pop("type"))
        if type_ != "team":
            raise ValueError(f"type must match const 'team', got '{type_}'")

        team_target = cls(
            team=team,
            type_=type_,
        )

        return team_target
