"""Typed fields for preset sections.

A preset is data typed by hand in a text editor, so every value is checked for its type
and range here, once, and every complaint names the key. Sections declare their fields
as `Field`s; `resolve_section` fills defaults and rejects unknown keys.
"""

from __future__ import annotations

import math
import reprlib
from dataclasses import dataclass
from typing import Any, Callable

from ..errors import SpecError

REQUIRED = object()  # sentinel default: the key must be given

# Every real-valued key lies within +-FLOAT_LIMIT unless its field says less. The model
# computes in float32: coordinates or scales beyond this make squares and scores overflow
# (float32 ends at 3.4e38) long before they could mean anything.
FLOAT_LIMIT = 1e6

_repr = reprlib.Repr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = 6
_repr.maxlevel = 3


def show(v) -> str:
    """A value as the user typed it, shortened: error messages stay one readable line."""
    return _repr.repr(v)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def to_float(key: str, v) -> float:
    if not _is_number(v):
        raise SpecError(key, f"expected a number, got {show(v)}")
    f = float(v)
    if not math.isfinite(f):
        raise SpecError(key, f"must be finite, got {show(v)}")
    return f


def to_int(key: str, v) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        raise SpecError(key, f"expected an integer, got {show(v)}")
    return v


def to_str(key: str, v) -> str:
    if not isinstance(v, str):
        raise SpecError(key, f"expected a string, got {show(v)}")
    return v


def to_bool(key: str, v) -> bool:
    if not isinstance(v, bool):
        raise SpecError(key, f"expected true or false, got {show(v)}")
    return v


def to_vector(key: str, v) -> list[float]:
    if not isinstance(v, (list, tuple)) or len(v) == 0:
        raise SpecError(key, f"expected a non-empty list of numbers, got {show(v)}")
    return [to_float(f"{key}[{i}]", x) for i, x in enumerate(v)]


def to_int_list(key: str, v) -> list[int]:
    if not isinstance(v, (list, tuple)):
        raise SpecError(key, f"expected a list of integers, got {show(v)}")
    return [to_int(f"{key}[{i}]", x) for i, x in enumerate(v)]


def to_matrix(key: str, v) -> list[list[float]]:
    if not isinstance(v, (list, tuple)) or len(v) == 0:
        raise SpecError(key, f"expected a list of rows, got {show(v)}")
    rows = [to_vector(f"{key}[{i}]", r) for i, r in enumerate(v)]
    if len({len(r) for r in rows}) != 1:
        raise SpecError(key, "rows have different lengths")
    return rows


def to_matrix_list(key: str, v) -> list[list[list[float]]]:
    if not isinstance(v, (list, tuple)) or len(v) == 0:
        raise SpecError(key, f"expected a list of matrices, got {show(v)}")
    return [to_matrix(f"{key}[{i}]", m) for i, m in enumerate(v)]


CONVERTERS: dict[str, Callable[[str, Any], Any]] = {
    "float": to_float,
    "int": to_int,
    "str": to_str,
    "bool": to_bool,
    "vector": to_vector,
    "ints": to_int_list,
    "matrix": to_matrix,
    "matrices": to_matrix_list,
}


@dataclass(frozen=True)
class Field:
    """One preset key: its type, default (None = optional, derived later) and range."""

    type: str
    default: Any = None
    choices: tuple | None = None
    min: float | None = None
    max: float | None = None
    exclusive_min: bool = False
    help: str = ""

    def convert(self, key: str, value):
        out = CONVERTERS[self.type](key, value)
        if self.choices is not None and out not in self.choices:
            raise SpecError(key, f"must be one of {', '.join(map(str, self.choices))}; got {show(value)}")
        for item_key, x in _scalars(key, out):
            if self.min is not None:
                if self.exclusive_min and not x > self.min:
                    raise SpecError(item_key, f"must be greater than {self.min:g}, got {x:g}")
                if not self.exclusive_min and x < self.min:
                    raise SpecError(item_key, f"must be at least {self.min:g}, got {x:g}")
            if self.max is not None and x > self.max:
                raise SpecError(item_key, f"must be at most {self.max:g}, got {x:g}")
            if isinstance(x, float) and abs(x) > FLOAT_LIMIT:
                raise SpecError(item_key, f"must be between {-FLOAT_LIMIT:g} and {FLOAT_LIMIT:g} "
                                          f"(the model computes in float32), got {x:g}")
        return out


def _scalars(key, v):
    if isinstance(v, list):
        for i, x in enumerate(v):
            yield from _scalars(f"{key}[{i}]", x)
    elif _is_number(v):
        yield key, v


def resolve_section(name: str, given: Any, fields: dict[str, Field]) -> dict[str, Any]:
    """Check a TOML table against `fields`; return every field, defaults filled (None = derived)."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise SpecError(name, f"expected a table [{name}], got {show(given)}")
    unknown = sorted(map(str, set(given) - set(fields)))
    if unknown:
        raise SpecError(f"{name}.{unknown[0]}",
                        f"unknown key (known keys: {', '.join(sorted(fields))})")
    out = {}
    for key, field in fields.items():
        full = f"{name}.{key}"
        if key in given:
            out[key] = field.convert(full, given[key])
        elif field.default is REQUIRED:
            raise SpecError(full, "is required")
        else:
            out[key] = field.default
    return out
