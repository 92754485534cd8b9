"""Reading loosely typed JSON values the same way in every protocol module."""

from __future__ import annotations

import math
from typing import Any


def text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def finite_number(value: Any) -> float | None:
    """A number from a number or numeric string; None for booleans, NaN and infinities
    (remotes write all of these where a coordinate belongs)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
