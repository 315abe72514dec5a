"""The schema's building blocks: shared types, checks and the strict base model."""

from __future__ import annotations

import datetime as dt
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

from ...codes import MODE_NAMES

WEEKDAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MODES: tuple[str, ...] = MODE_NAMES
REQUEST_MODES: tuple[str, ...] = ("face_to_face", "telephone", "online")

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
Mode = Literal["face_to_face", "telephone", "home_visit", "online"]
RequestMode = Literal["face_to_face", "telephone", "online"]

TimeOfDay = Annotated[
    str,
    Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Time of day as HH:MM (24-hour)."),
]


Share = Annotated[float, Field(ge=0.0, le=1.0)]
Identifier = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.\-]+$",
        description="Letters, digits, '_', '-' and '.' only.",
    ),
]


#: The dates a scenario may name: the calendar counts days from its start, and results
#: carry pandas timestamps (which end in 2262).
FIRST_DATE, LAST_DATE = dt.date(1900, 1, 1), dt.date(2199, 12, 31)


def _in_calendar(day: dt.date) -> dt.date:
    if not FIRST_DATE <= day <= LAST_DATE:
        raise ValueError(f"{day.isoformat()} is outside the dates a scenario may use "
                         f"({FIRST_DATE.isoformat()} to {LAST_DATE.isoformat()})")
    return day


CalendarDate = Annotated[dt.date, AfterValidator(_in_calendar)]


def hours(t: str) -> float:
    """Convert an ``"HH:MM"`` time of day to hours after midnight."""
    hh, mm = t.split(":")
    return int(hh) + int(mm) / 60.0


def _shares_sum_to_one(values: dict[str, float] | list[float], what: str) -> None:
    total = sum(values.values()) if isinstance(values, dict) else sum(values)
    if abs(total - 1.0) > 1e-6:
        raise ValueError(f"{what} must sum to 1 (they sum to {total:.6g})")


def _kinds(annotation: Any) -> set[type]:
    """The plain types a field holds: itself, or its items (lists, tuples), or its values (maps)."""
    if annotation in (int, float, bool, str):
        return {annotation}
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return _kinds(args[0])
    if origin is dict:
        return _kinds(args[-1]) if args else set()
    if origin is Literal:
        return {type(a) for a in args}
    if origin in (tuple, list, typing.Union, types.UnionType):
        return set().union(*(_kinds(a) for a in args if a is not Ellipsis))
    return set()


#: (model class, field name) -> whether the field holds numbers and never booleans.
_NUMERIC: dict[tuple[type, str | None], bool] = {}


def _has_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    if isinstance(value, list | tuple):
        return any(isinstance(v, bool) for v in value)
    if isinstance(value, dict):
        return any(isinstance(v, bool) for v in value.values())
    return False


class Strict(BaseModel):
    """Base of every scenario model: unknown keys are errors and objects are immutable.

    A number is never taken from ``true`` or ``false`` (pydantic would read
    ``size: true`` as one patient).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _numbers_are_not_booleans(cls, value: Any, info: ValidationInfo) -> Any:
        # Whether the field holds numbers and not booleans, worked out once a field:
        # this runs for every field of every model a scenario is made of (a network of
        # 400 practices: 300,000 times), and most hold no numbers.
        numeric = _NUMERIC.get((cls, info.field_name))
        if numeric is None and info.field_name is not None:
            kinds = _kinds(cls.model_fields[info.field_name].annotation)
            numeric = _NUMERIC[cls, info.field_name] = bool(kinds & {int, float}
                                                           and bool not in kinds)
        if numeric and _has_boolean(value):
            raise ValueError("a number is wanted here, not true or false")
        return value
