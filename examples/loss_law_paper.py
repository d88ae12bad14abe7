"""The multi-power law against the paper's table: fit on its three training curves, predict
its six held-out ones, and compare the optimised schedule with cosine and WSD.

    python examples/loss_law_paper.py

Writes ``docs/loss_law-<size>.png`` (measured and predicted curves; the schedules with their
predicted final losses) and prints the table of ``docs/loss_law.md``. The data are the
paper's measured curves (Luo et al. 2025, arXiv 2503.12811, MIT license), kept with their
license and README (each file's schedule) in ``tests/data/multi-power-law``.
"""

from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np

from jaxlr.laws import fit_multi_power_law, optimize_schedule, optimize_wsd, prediction_metrics

PEAK, WARMUP, FLOOR = 3e-4, 2_160, 3e-5
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]
HELD_OUT = ["constant_72000", "cosine_72000", "wsdcon_3", "wsdcon_18", "wsd_20000_24000", "wsdld_20000_24000"]
PAPER = {"25M": (0.9988, 0.00376, 0.00465, 0.00110, 0.00409), "100M": (0.9983, 0.00435, 0.00592, 0.00142, 0.00583)}


def schedule_of(name: str) -> np.ndarray:
    """The rate at every step of a data file's run (the data's README)."""
    kind, _, rest = name.partition("_")
    total = {"constant": int(rest or 0), "cosine": int(rest or 0), "wsdcon": 16_000}.get(kind, 24_000)
    t = np.arange(total, dtype=np.float64)
    if kind == "constant":
        lrs = np.full(total, PEAK)
    elif kind == "cosine":
        lrs = FLOOR + 0.5 * (PEAK - FLOOR) * (1 + np.cos(np.pi * (t - WARMUP) / (total - WARMUP)))
    elif kind == "wsdcon":
        lrs = np.where(t < 8_000, PEAK, {"3": 3e-5, "9": 9e-5, "18": 1.8e-4}[rest])
    elif kind == "wsdld":
        lrs = np.where(t < 20_000, PEAK, PEAK + (FLOOR - PEAK) * (t - 20_000) / 4_000)
    else:
        lrs = np.where(t < 20_000, PEAK, PEAK ** ((total - t) / 4_000) * FLOOR ** ((t - 20_000) / 4_000))
    lrs[:WARMUP] = np.linspace(0, PEAK, WARMUP)
    return lrs


def load(data: Path, size: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lrs = schedule_of(name)
    with open(data / size / f"{name}.csv") as f:
        rows = [(int(float(r["step"])), float(r["loss"])) for r in csv.DictReader(f)]
    rows = [(s, loss) for s, loss in rows if s < len(lrs)]
    return lrs, np.array([s for s, _ in rows]), np.array([loss for _, loss in rows])


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parent.parent / "tests" / "data" /
                        "multi-power-law", help="the multi-power-law data folder (25M/, 100M/)")
    parser.add_argument("--sizes", nargs="+", default=["25M", "100M"])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "docs")
    args = parser.parse_args(argv)
    report = {}
    for size in args.sizes:
        curves = [load(args.data, size, n) for n in TRAIN]
        start = time.perf_counter()
        law = fit_multi_power_law(curves)
        first = time.perf_counter() - start
        start = time.perf_counter()
        law = fit_multi_power_law(curves)
        again = time.perf_counter() - start
        held = {n: load(args.data, size, n) for n in HELD_OUT}
        metrics = [prediction_metrics(law.predict(lrs, steps), losses) for lrs, steps, losses in held.values()]
        ours = tuple(float(np.mean([m[k] for m in metrics])) for k in ("r2", "mae", "rmse", "prede", "worste"))
        total, steps = 24_000, np.arange(24_000)
        best = optimize_schedule(law, total, PEAK, WARMUP, min_value=FLOOR)
        tuned = optimize_wsd(law, total, PEAK, WARMUP, end_value=FLOOR)
        rates = {"cosine": schedule_of("cosine_24000"), "WSD (linear, last 4,000)": schedule_of("wsdld_20000_24000"),
                 f"WSD tuned ({tuned.decay_shape}, {tuned.decay_steps} steps)": np.asarray(tuned(steps)),
                 "optimised": np.asarray(best(steps))}
        finals = {k: float(law.final_loss(r)) for k, r in rates.items()}
        report[size] = {"ours": ours, "paper": PAPER[size], "fit_s": (first, again), "finals": finals}
        print(f"\n{size}: fit {first:.1f} s (first call, compiling), {again:.1f} s again; {law}")
        print("| | R² | MAE | RMSE | PredE | WorstE |\n|---|---|---|---|---|---|")
        print("| paper | " + " | ".join(f"{x:.5g}" for x in PAPER[size]) + " |")
        print("| jaxlr | " + " | ".join(f"{x:.5g}" for x in ours) + " |")
        for k, v in finals.items():
            print(f"  predicted final loss, {k}: {v:.5f}")
        plot(args.out / f"loss_law-{size}.png", size, law, held, rates, finals)
    return report


def plot(path: Path, size: str, law, held, rates, finals) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no figure (pip install matplotlib)")
        return
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, (lrs, steps, losses) in held.items():
        line = left.plot(steps, losses, lw=0.8, alpha=0.6, label=f"{name} measured")[0]
        left.plot(steps, np.asarray(law.predict(lrs, steps)), "--", color=line.get_color(), lw=1.2)
    left.set(xlabel="step", ylabel="loss", title=f"{size}: held-out curves, measured and predicted (dashed)",
             ylim=(min(np.min(v[2]) for v in held.values()) - 0.05, 4.2))
    left.legend(fontsize=6)
    for name, r in rates.items():
        right.plot(r, label=f"{name}: {finals[name]:.4f}")
    right.set(xlabel="step", ylabel="learning rate", title="schedules and their predicted final loss")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
