"""Porting: the peers' own names and arguments, returning jaxlr schedules equal to them.

``jaxlr.compat.torch``, ``jaxlr.compat.keras``, ``jaxlr.compat.hf`` and ``jaxlr.compat.optax``
(optax's schedules jaxlr has no family for) reproduce each peer's
values at every step, quirks included (torch's periodic cosine and compounding milestones,
Keras' inclusive piecewise boundary and warmup counted outside ``decay_steps``, Hugging
Face's periodic cosine and ``min_lr_ratio`` warmup). The results are ordinary jaxlr
schedules: pytrees, jit-compilable, with ``to_config``.
"""

from jaxlr.compat import hf, keras, optax, torch

__all__ = ["hf", "keras", "optax", "torch"]
