"""The per-step cost of ``torch.optim.lr_scheduler``'s ``scheduler.step()`` (CPU wheel) against
jaxlr's in-step cost: the train-step time with the schedule minus with a constant, from
``train_step`` (which must run first)."""

from __future__ import annotations

import statistics
import time

from benchmarks.sizes import Sizes

TORCH_SCHEDULERS = {
    "StepLR": lambda sched, opt: sched.StepLR(opt, 1000, 0.5),
    "CosineAnnealingLR": lambda sched, opt: sched.CosineAnnealingLR(opt, 10_000),
    "OneCycleLR": lambda sched, opt: sched.OneCycleLR(opt, 0.1, total_steps=1_000_000),
    "CyclicLR": lambda sched, opt: sched.CyclicLR(opt, 0.01, 0.1, 500, cycle_momentum=False),
    "LambdaLR": lambda sched, opt: sched.LambdaLR(opt, lambda t: 0.999**t),
}


def measure(sizes: Sizes, results: dict) -> dict:
    """torch's scheduler.step() cost per call, beside jaxlr's in-step overhead."""
    try:
        import torch
    except ImportError:
        return {"torch": {"available": False, "reason": "torch is not installed (pip install torch==2.13.0)"}}
    param = torch.nn.Parameter(torch.zeros(1))
    rows = []
    for name, make in TORCH_SCHEDULERS.items():
        optimizer = torch.optim.SGD([param], lr=0.1)
        optimizer.step()  # torch warns when a scheduler steps before its optimizer ever has
        scheduler = make(torch.optim.lr_scheduler, optimizer)
        samples = []
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(sizes.torch_calls):
                scheduler.step()
            samples.append((time.perf_counter() - start) / sizes.torch_calls)
        rows.append({"scheduler": name, "torch_us_per_step": 1e6 * statistics.median(samples)})
    overhead = [r["step_us_schedule"] - r["step_us_constant"] for r in results["train_step"]
                if r["schedule"] != "constant"]
    return {"torch": {
        "available": True,
        "torch": torch.__version__,
        "rows": rows,
        "jaxlr_in_step_overhead_us_median": statistics.median(overhead),
        "jaxlr_in_step_overhead_us_range": [min(overhead), max(overhead)],
    }}


def report(results: dict) -> list[str]:
    torch_result = results["torch"]
    lines = ["", "## Against PyTorch: the cost of stepping a scheduler", ""]
    if not torch_result["available"]:
        return [*lines, torch_result["reason"]]
    low, high = torch_result["jaxlr_in_step_overhead_us_range"]
    lines += [
        f"torch {torch_result['torch']}: `scheduler.step()` per call. jaxlr's schedule runs inside the "
        f"compiled step: its in-step cost (train step with schedule minus with a constant, section 2) has "
        f"median {torch_result['jaxlr_in_step_overhead_us_median']:.2f} µs per update "
        f"(range {low:.2f} to {high:.2f} across families).",
        "",
        "| scheduler | torch µs per step() |",
        "|---|---|",
    ]
    lines += [f"| {r['scheduler']} | {r['torch_us_per_step']:.2f} |" for r in torch_result["rows"]]
    return lines
