"""Field types shared by every schema (scenario, mechanisms, levers, experiments): ranges and
dates with readable errors, and the strict base of every section."""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    model_validator,
)
from pydantic.annotated_handlers import GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


def _unit(v: float) -> float:
    if not 0.0 <= v <= 1.0:
        raise ValueError("expected a number in [0, 1]")
    return v


def _date(v: object) -> str:
    """Accept 2019, '2019-01', '2019-01-15' or a YAML date; keep it as text."""
    if isinstance(v, bool):
        raise ValueError("expected a date such as 2019, 2019-01 or 2019-01-15")
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, int):
        v = str(v)
    if isinstance(v, str):
        m = re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", v.strip())
        if m:
            y, mo, d = int(m[1]), int(m[2] or 1), int(m[3] or 1)
            try:
                _dt.date(y, mo, d)
            except ValueError as exc:
                raise ValueError(f"not a real date ({exc})") from None
            return v.strip()
    raise ValueError("expected a date such as 2019, 2019-01 or 2019-01-15")


def _no_bool(v: object) -> object:
    if isinstance(v, bool):
        raise ValueError("expected a number, not a yes/no value")
    return v


_JSON_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}


@dataclass(frozen=True)
class Shown:
    """How an annotated type shows in the JSON Schema of a scenario (`sim schema`); no effect on
    validation. Pydantic writes a bound that follows a validator (`NoBool`) as `ge`, `gt`, `le`
    or `lt`, which JSON Schema does not know: they become `minimum`, `exclusiveMinimum`,
    `maximum` and `exclusiveMaximum`. `extra` adds what a validator checks and pydantic cannot
    show (the range of `Unit`, the form of a `FolderName`)."""

    extra: tuple[tuple[str, Any], ...] = ()

    def __get_pydantic_json_schema__(
        self, core: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        out = handler(core)
        for key, std in _JSON_BOUNDS.items():
            if key in out:
                out[std] = out.pop(key)
        out.update(dict(self.extra))
        return out


def shown(**extra: Any) -> Shown:
    """`Shown` with these JSON Schema keywords added, e.g. `shown(minimum=0.0, maximum=1.0)`."""
    return Shown(tuple(extra.items()))


def about(unit: str | None = None, source: str | None = None) -> dict[str, Any]:
    """A field's `json_schema_extra`: the unit of a quantity ("per year", "share 0-1", ...; a
    count or a calendar year says so) and the seed passage or assumption docs/model.md gives
    for it. `sim schema` and docs/scenario-reference.md show both."""
    out: dict[str, Any] = {}
    if unit:
        out["unit"] = unit
    if source:
        out["source"] = source
    return out


NoBool = BeforeValidator(_no_bool)  # `true` is not 1 (pydantic would otherwise read it so)
Unit = Annotated[float, NoBool, AfterValidator(_unit), shown(minimum=0.0, maximum=1.0)]
Positive = Annotated[float, NoBool, Field(gt=0), shown()]
NonNeg = Annotated[float, NoBool, Field(ge=0), shown()]
Rate = Annotated[float, NoBool, Field(ge=-0.9, le=5.0), shown()]
# a date as YAML writes it: 2019 (a number), 2019-01 or 2019-01-15
DATE_JSON: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": r"^\d{4}(-\d{2}(-\d{2})?)?$"},
        {"type": "integer", "minimum": 1000, "maximum": 9999},
    ]
}
Date = Annotated[str, BeforeValidator(_date), WithJsonSchema(DATE_JSON)]
Name = Annotated[str, Field(min_length=1)]


def _safe_name(v: str) -> str:
    if v and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", v):
        raise ValueError(
            "expected a name of at most 100 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (it names the output folder)"
        )
    return v


def folder_name(stem: str) -> str:
    """A file's stem made into a valid `FolderName` (for files that do not name themselves)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).lstrip("._-")[:100] or "unnamed"


# A name that becomes part of an output folder's name (scenarios, experiments, calibrations).
FolderName = Annotated[
    str, AfterValidator(_safe_name), shown(pattern=r"^([A-Za-z0-9][A-Za-z0-9_.-]{0,99})?$")
]
# A position: one value per norm dimension, as a list (in the order of `norms`) or a mapping.
Position = list[Unit] | dict[str, Unit]


@dataclass(frozen=True)
class PerYear:
    """Marks a parameter stated per year (MODEL.md s.10: results must not depend on the length
    of a step). `per_step` converts it for a step of 1 / steps_per_year years:

    - kind `rate`: a rate per year (a pull coefficient, a hazard, a credit per year) -> rate / spy.
      The pull engine turns a pull rate T into the share 1 - e^-T of the distance closed, and
      `share` turns a hazard into a probability, so a year of steps does the same whatever
      their length;
    - kind `share`: a share of a stock per year (a decay, the weight of a running mean)
      f -> 1 - (1 - f) ** (1 / spy)."""

    kind: Literal["rate", "share"]

    def to_step(self, value: float, steps_per_year: int) -> float:
        if self.kind == "rate":
            return value / steps_per_year
        return -math.expm1(math.log1p(-value) / steps_per_year) if value < 1.0 else 1.0


YearRate = Annotated[float, NoBool, Field(ge=0), PerYear("rate"), shown()]
YearShare = Annotated[float, NoBool, AfterValidator(_unit), PerYear("share"), shown(minimum=0.0, maximum=1.0)]

M = TypeVar("M", bound=BaseModel)


def per_step(params: M, steps_per_year: int) -> M:
    """A copy of a parameter section with every per-year field converted for one step."""
    update = {}
    for name, info in type(params).model_fields.items():
        for meta in info.metadata:
            if isinstance(meta, PerYear):
                update[name] = meta.to_step(getattr(params, name), steps_per_year)
    return params.model_copy(update=update)


def per_year_fields(cls: type[BaseModel]) -> dict[str, str]:
    """{field: kind} of the per-year fields of a parameter class."""
    return {
        name: meta.kind
        for name, info in cls.model_fields.items()
        for meta in info.metadata
        if isinstance(meta, PerYear)
    }


def share(rate_step: np.ndarray | float) -> np.ndarray:
    """The probability (or share of a gap) that a hazard of `rate_step` per step gives in one
    step: 1 - e^-rate."""
    out: np.ndarray = -np.expm1(-np.asarray(rate_step, dtype=float))
    return out


def _mentions(tp: Any, kind: type) -> bool:
    """Whether a type annotation admits `kind` anywhere (unions, Annotated, Literal values)."""
    if tp is kind:
        return True
    if typing.get_origin(tp) is Literal:
        return any(type(a) is kind for a in typing.get_args(tp))
    return any(_mentions(a, kind) for a in typing.get_args(tp))


@functools.cache
def _numeric_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """Fields that take numbers but not yes/no values."""
    return tuple(
        name
        for name, f in cls.model_fields.items()
        if not _mentions(f.annotation, bool)
        and (_mentions(f.annotation, int) or _mentions(f.annotation, float))
    )


class Strict(BaseModel):
    """A scenario section: unknown keys are errors, defaults are validated too."""

    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        """`tier: true` is not tier 1: a yes/no value where a number belongs is an error
        (pydantic would otherwise read true as 1)."""
        if isinstance(data, dict):
            for key in _numeric_fields(cls):
                if isinstance(data.get(key), bool):
                    raise ValueError(f"{key}: expected a number, got {str(data[key]).lower()}")
        return data


class Bounds(Strict):
    """A range of values, low < high (a sweep's bounds; a prior's support)."""

    low: float
    high: float

    @model_validator(mode="after")
    def _order(self) -> Bounds:
        if self.high <= self.low:
            raise ValueError(f"high ({self.high:g}) must be above low ({self.low:g})")
        return self


def repeated(values: list[str]) -> list[str]:
    """The values that occur more than once, sorted (for 'each name once' checks)."""
    return sorted({v for v in values if values.count(v) > 1})


def position_problems(pos: object, norms: list[str]) -> list[str]:
    """What is wrong with a position given as a list or mapping over these norm dimensions."""
    if isinstance(pos, list) and len(pos) != len(norms):
        return [f"expected {len(norms)} values ({', '.join(norms)}), got {len(pos)}"]
    if isinstance(pos, dict) and set(pos) != set(norms):
        missing = [n for n in norms if n not in pos]
        extra = [k for k in pos if k not in norms]
        msg = []
        if missing:
            msg.append(f"missing {', '.join(missing)}")
        if extra:
            msg.append(f"unknown dimension {', '.join(map(repr, extra))}")
        return [f"expected one value per norm dimension ({', '.join(norms)}): " + "; ".join(msg)]
    return []
