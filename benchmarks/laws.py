"""The multi-power loss law (``jaxlr.laws``): the time to fit it to the paper's three training
curves (25M model), and to predict a curve at its logged steps, the block sum against the
exact term-by-term double sum measured in the same run.

The paper's reference fitting code (PyTorch, a Python loop over steps) takes about 75 s for
the same fit on a 2-core CPU, as the data's README reports; it is not run here (it is not
part of jaxlr or its dependencies), so that figure is cited, not measured.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.sizes import Sizes
from benchmarks.timing import interleaved_medians
from jaxlr.laws import fit_multi_power_law

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def training_curves() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The paper's three training curves of its 25M model, read as ``examples/loss_law_paper.py``
    reads them (from ``tests/data/multi-power-law``)."""
    sys.path.insert(0, str(EXAMPLES))
    try:
        import loss_law_paper
    finally:
        sys.path.pop(0)
    data = EXAMPLES.parent / "tests" / "data" / "multi-power-law"
    return [loss_law_paper.load(data, "25M", name) for name in loss_law_paper.TRAIN]


def measure(sizes: Sizes, results: dict) -> dict:
    curves = training_curves()
    max_steps = 20 if sizes.quick else 200
    start = time.perf_counter()
    law = fit_multi_power_law(curves, max_steps=max_steps)
    first = time.perf_counter() - start
    fits = []
    for _ in range(1 if sizes.quick else 3):
        start = time.perf_counter()
        fit_multi_power_law(curves, max_steps=max_steps)
        fits.append(time.perf_counter() - start)
    lrs, steps, _ = curves[0]
    steps = steps[:: 8 if sizes.quick else 1]
    block, exact = interleaved_medians([lambda: law.predict(lrs, steps), lambda: law.predict(lrs, steps, exact=True)],
                                       max(3, sizes.repetitions // 5), warmup=1)
    return {"laws": {"fit_first_s": first, "fit_s": float(np.median(fits)), "fit_max_steps": max_steps,
                     "predict_steps": len(lrs), "predict_points": len(steps),
                     "predict_s": block, "predict_exact_s": exact, "exact_over_block": exact / block,
                     "reference_fit_s_cited": 75.0}}


def report(results: dict) -> list[str]:
    r = results["laws"]
    return [
        "",
        "## Loss law: fitting and predicting (`jaxlr.laws`)",
        "",
        f"Fit of the multi-power law to the paper's three 25M training curves (AdamW stage of at most "
        f"{r['fit_max_steps']} steps): {r['fit_first_s']:.2f} s the first call (compiling), {r['fit_s']:.2f} s "
        f"after; the paper's reference code: about {r['reference_fit_s_cited']:.0f} s on a 2-core CPU (cited "
        "from the data's README, not run here).",
        "",
        "| predict a 24,000-step curve at its logged steps | ms |",
        "|---|---|",
        f"| block sum (`law.predict`), {r['predict_points']} points | {1e3 * r['predict_s']:.1f} |",
        f"| exact double sum (`exact=True`) | {1e3 * r['predict_exact_s']:.1f} |",
        f"| ratio exact / block | {r['exact_over_block']:.1f} |",
    ]
