"""Argument checks for the compat constructors, with the peers' argument names.

A compat function checks its arguments under the peer's names before it builds a jaxlr
schedule, so an error names the argument the caller wrote (``total_iters``, not the
``transition_steps`` of the family it maps to). Traced values cannot be checked and are not.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from jaxlr._base import check, is_concrete


def check_whole(name: str, value: Any, minimum: int = 0) -> None:
    """A whole number of steps, at least ``minimum``.

    The peers count steps in integers: torch's recursive schedulers compare ``last_epoch``
    with the length, so a fractional length gives neither the closed form nor anything
    documented (``StepLR(step_size=2.5)`` cuts every 5 steps).
    """
    check(name, value, "a whole number of steps", lambda v: v == np.round(v))
    check(name, value, f">= {minimum}", lambda v: v >= minimum)


def is_zero(value: Any) -> bool:
    """Whether a concrete number is 0 (a traced one is never taken for 0)."""
    return is_concrete(value) and not isinstance(value, str) and bool(np.all(np.asarray(value) == 0))
