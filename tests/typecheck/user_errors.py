"""Wrong calls that the type checkers must flag, each on a line ending in ``# error: why``.

tests/test_typing.py checks that pyright and mypy report exactly these lines: proof that they
read jaxlr's constructors (a checker that could not resolve jaxlr would flag the import, or
nothing). Never called.
"""

from __future__ import annotations

import jaxlr


def mistakes() -> None:
    jaxlr.warmup_cosine(peak_valu=1e-3, warmup_steps=100, total_steps=1_000)  # error: no such argument
    jaxlr.cosine_decay(init_value=1e-3, decay_steps="100")  # error: a string is not a number of steps
    jaxlr.multistep_decay(init_value=0.1)  # error: milestones missing
    jaxlr.warmup_then(schedule=jaxlr.constant(value=0.1), warmup_steps=10, shift="no")  # error: shift is a bool
    count: int = jaxlr.constant(value=0.1)(10)  # error: a schedule returns an array
    print(count)
