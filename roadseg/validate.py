"""Range checks of numeric options, shared by the stages' config ``__post_init__`` methods.

A config refuses a bad value when it is built, so the library refuses it as the
command line does: one line naming the option, :class:`~roadseg.errors.InputError`.

Example:
    >>> check_number("rho", 3, minimum=0)
    >>> try:
    ...     check_number("rho", -1, minimum=0)
    ... except InputError as exc:
    ...     print(exc)
    rho: -1 is out of range (must be >= 0)
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from roadseg.errors import InputError


def check_number(
    name: str,
    value: Any,
    minimum: float | None = None,
    maximum: float | None = None,
    inclusive: bool = True,
    optional: bool = False,
    integer: bool = False,
) -> None:
    """Refuse an option that is not a finite number in range (for configs' ``__post_init__``)."""
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise InputError(f"{name}: {value!r} is not a finite number")
    v = float(value)
    if integer and not v.is_integer():
        raise InputError(f"{name}: {value!r} is not a whole number")
    if minimum is not None and (v < minimum or (not inclusive and v == minimum)):
        bound = ">=" if inclusive else ">"
        raise InputError(f"{name}: {value} is out of range (must be {bound} {minimum:g})")
    if maximum is not None and v > maximum:
        raise InputError(f"{name}: {value} is out of range (must be <= {maximum:g})")
