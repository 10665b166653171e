"""Arguments of explorer.api, checked the way a preset's keys are: every bad value is one
SpecError naming the argument (never a raw TypeError, AttributeError or AssertionError from
deep inside torch), and numpy scalars are as good as Python numbers."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .errors import SpecError


def integer(name: str, value: Any, lo: int, hi: int) -> int:
    """An int (a numpy integer, or a float with no fraction, is fine) in [lo, hi]."""
    if isinstance(value, (bool, np.bool_)):
        raise SpecError(name, f"must be an integer, got {value!r}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    elif isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value).is_integer():
        v = int(value)
    else:
        raise SpecError(name, f"must be an integer, got {_show(value)}")
    if not lo <= v <= hi:
        raise SpecError(name, f"must be between {lo:,} and {hi:,}, got {v:,}")
    return v


def choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise SpecError(name, f"must be one of {', '.join(map(repr, choices))}, got {_show(value)}")
    return value


def particles_array(name: str, value: Any, dim: int, limit: int) -> np.ndarray:
    """An (n, dim) array of finite numbers, n between 1 and `limit`, as float32."""
    try:
        x = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise SpecError(name, f"must be an (n, {dim}) array of numbers, got {_show(value)}") from None
    if x.ndim == 1 and dim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != dim or x.shape[0] < 1:
        raise SpecError(name, f"must be an (n, {dim}) array, got shape {x.shape}")
    if x.shape[0] > limit:
        raise SpecError(name, f"at most {limit:,} rows, got {x.shape[0]:,}")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise SpecError(name, f"{int(bad.sum())} of {len(x)} rows are not finite (NaN or inf), "
                              f"the first is row {int(np.argmax(bad))}")
    if np.abs(x).max() > 1e30:
        raise SpecError(name, "holds values beyond 1e30, which float32 cannot compute with")
    return x.astype(np.float32)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"a {type(value).__name__}"
