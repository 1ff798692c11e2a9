from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, Self, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.recording_state import RecordingState
from ..types import UNSET, Unset

T = TypeVar("T", bound="RecordingView")


@_attrs_define
class RecordingView:
    """
    Attributes:
        error (None | str):
        id (str):
        started_at (datetime.datetime):
        started_by (str):
        state (RecordingState):
        stopped_at (datetime.datetime | None):
        duration_s (float | None | Unset): The audio's length, once its file is written.
        format_ (None | str | Unset): The audio file's media type (`audio/wav`); download it from `GET
            .../recordings/{recording_id}/audio`.
        size_bytes (int | None | Unset): The audio file's size.
    """

    error: None | str
    id: str
    started_at: datetime.datetime
    started_by: str
    state: RecordingState
    stopped_at: datetime.datetime | None
    duration_s: float | None | Unset = UNSET
    format_: None | str | Unset = UNSET
    size_bytes: int | None | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        error: None | str
        error = self.error

        id = self.id

        started_at = self.started_at.isoformat()

        started_by = self.started_by

        state = self.state.value

        stopped_at: None | str
        if isinstance(self.stopped_at, datetime.datetime):
            stopped_at = self.stopped_at.isoformat()
        else:
            stopped_at = self.stopped_at

        duration_s: float | None | Unset
        if isinstance(self.duration_s, Unset):
            duration_s = UNSET
        else:
            duration_s = self.duration_s

        format_: None | str | Unset
        if isinstance(self.format_, Unset):
            format_ = UNSET
        else:
            format_ = self.format_

        size_bytes: int | None | Unset
        if isinstance(self.size_bytes, Unset):
            size_bytes = UNSET
        else:
            size_bytes = self.size_bytes

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "error": error,
                "id": id,
                "started_at": started_at,
                "started_by": started_by,
                "state": state,
                "stopped_at": stopped_at,
            }
        )
        if duration_s is not UNSET:
            field_dict["duration_s"] = duration_s
        if format_ is not UNSET:
            field_dict["format"] = format_
        if size_bytes is not UNSET:
            field_dict["size_bytes"] = size_bytes

        return field_dict

    @classmethod
    def from_dict(cls, src_dict: Mapping[str, Any]) -> Self:
        d = dict(src_dict)

        def _parse_error(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        error = _parse_error(d.pop("error"))

        id = d.pop("id")

        started_at = datetime.datetime.fromisoformat(d.pop("started_at"))

        started_by = d.pop("started_by")

        state = RecordingState(d.pop("state"))

        def _parse_stopped_at(data: object) -> datetime.datetime | None:
            if data is None:
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                stopped_at_type_0 = datetime.datetime.fromisoformat(data)

                return stopped_at_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(datetime.datetime | None, data)

        stopped_at = _parse_stopped_at(d.pop("stopped_at"))

        def _parse_duration_s(data: object) -> float | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(float | None | Unset, data)

        duration_s = _parse_duration_s(d.pop("duration_s", UNSET))

        def _parse_format_(data: object) -> None | str | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(None | str | Unset, data)

        format_ = _parse_format_(d.pop("format", UNSET))

        def _parse_size_bytes(data: object) -> int | None | Unset:
            if data is None:
                return data
            if isinstance(data, Unset):
                return data
            return cast(int | None | Unset, data)

        size_bytes = _parse_size_bytes(d.pop("size_bytes", UNSET))

        recording_view = cls(
            error=error,
            id=id,
            started_at=started_at,
            started_by=started_by,
            state=state,
            stopped_at=stopped_at,
            duration_s=duration_s,
            format_=format_,
            size_bytes=size_bytes,
        )

        recording_view.additional_properties = d
        return recording_view

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
