"""Renders one PNG per schedule family into docs/gallery/ (python docs/make_gallery.py).

Each curve comes from the call string beside it, through jaxlr.from_config, so the gallery
also checks that every string parses. Needs matplotlib (pip install -e ".[plot]").
"""

from __future__ import annotations

from pathlib import Path

import jax
import matplotlib
import numpy as np

import jaxlr

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OUT = Path(__file__).resolve().parent / "gallery"
STEPS = 1000

GALLERY = {
    "constant": "constant(1e-3)",
    "linear": "linear(1e-3, 1e-4, transition_steps=600, transition_begin=100)",
    "polynomial": "polynomial(1e-3, 1e-5, transition_steps=300, power=2.0, cycle=True)",
    "step_decay": "step_decay(1e-3, step_size=200, gamma=0.5)",
    "multistep_decay": "multistep_decay(1e-3, milestones=[300, 600, 800], gamma=0.3)",
    "piecewise_constant": "piecewise_constant([200, 500, 800], [1e-3, 6e-4, 3e-4, 1e-4])",
    "piecewise_linear": "piecewise_linear([0, 100, 400, 1000], [0.0, 1e-3, 5e-4, 0.0])",
    "exponential_decay": "exponential_decay(1e-3, decay_rate=0.5, decay_steps=200, end_value=1e-4)",
    "inverse_time_decay": "inverse_time_decay(1e-3, decay_rate=1.0, decay_steps=100)",
    "inverse_sqrt_decay": "inverse_sqrt_decay(1e-3, warmup_steps=100)",
    "cosine_decay": "cosine_decay(1e-3, decay_steps=400, end_value=1e-4, periodic=True)",
    "linear_warmup": "linear_warmup(1e-3, warmup_steps=300)",
    "exponential_warmup": "exponential_warmup(1e-3, warmup_steps=300, init_value=1e-6)",
    "warmup_then": "warmup_then(step_decay(1e-3, 250, 0.5), warmup_steps=150, shape='cosine')",
    "warmup_cosine": "warmup_cosine(1e-3, warmup_steps=100, total_steps=1000, end_value=1e-5)",
    "warmup_linear": "warmup_linear(1e-3, warmup_steps=100, total_steps=1000)",
    "warmup_exponential": "warmup_exponential(1e-3, warmup_steps=100, decay_rate=0.5, decay_steps=150)",
    "per_epoch": "per_epoch(exponential_decay(1e-3, decay_rate=0.8), steps_per_epoch=100)",
    "cosine_restarts": "cosine_restarts(1e-3, first_period=100, period_mul=2.0, value_mul=0.7, warmup_steps=10)",
    "cyclic": "cyclic(1e-4, 1e-3, step_size_up=100, step_size_down=150, mode='triangular2')",
    "one_cycle": "one_cycle(1e-3, total_steps=1000, three_phase=True)",
    "one_cycle_momentum": "one_cycle_momentum(total_steps=1000, three_phase=True)",
    "cyclic_momentum": "cyclic_momentum(0.8, 0.9, step_size_up=100, step_size_down=150, mode='triangular2')",
    "with_momentum": "with_momentum(one_cycle(1e-3, 1000), one_cycle_momentum(1000))",
    "wsd": "wsd(1e-3, total_steps=1000, warmup_steps=50, decay_steps=200, decay_shape='1-sqrt')",
    "noam": "noam(d_model=512, warmup_steps=200)",
    "rex_decay": "rex_decay(1e-3, total_steps=1000)",
    "tanh_decay": "tanh_decay(1e-3, decay_steps=1000)",
    "scale": "scale(cosine_decay(1e-3, 1000), factor=0.5)",
    "clip": "clip(cyclic(0.0, 2e-3, 250), min_value=2e-4, max_value=1e-3)",
    "multiply": "multiply(linear_warmup(1.0, 200), exponential_decay(1e-3, 0.5, 300))",
    "shift": "shift(cosine_decay(1e-3, 600), steps=300)",
    "repeat": "repeat(warmup_cosine(1e-3, 50, 250), period=250)",
    "cooldown": "cooldown(cyclic(5e-4, 1e-3, 50), total_steps=1000, cooldown_steps=300, shape='cosine')",
    "join": "join([linear_warmup(1e-3, 100), constant(1e-3), cosine_decay(1e-3, 500, 1e-5)], [100, 500])",
}


def schedules() -> dict[str, tuple[str, jaxlr.Schedule]]:
    out = {name: (text, jaxlr.from_config(text)) for name, text in GALLERY.items()}
    text = "from_fn(lambda t, peak: peak / (1 + t / 100), peak=1e-3)"
    out["from_fn"] = (text, jaxlr.from_fn(lambda t, peak: peak / (1 + t / 100), peak=1e-3))
    missing = set(jaxlr.names()) - set(out)
    if missing:
        raise SystemExit(f"no gallery entry for {sorted(missing)}")
    return out


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    steps = np.arange(STEPS)
    for name, (text, schedule) in schedules().items():
        values = np.asarray(jax.jit(schedule)(steps))
        fig, ax = plt.subplots(figsize=(4.2, 2.6))
        ax.plot(steps, values, color="#1f6feb", linewidth=1.6)
        ax.set_title(name, fontsize=10, fontweight="bold")
        ax.text(0.5, -0.32, text, transform=ax.transAxes, ha="center", fontsize=5.5, family="monospace", wrap=True)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
        ax.yaxis.get_offset_text().set_fontsize(6)
        ax.grid(True, alpha=0.3)
        ax.set_ylim(bottom=min(0.0, float(values.min())))
        fig.tight_layout()
        fig.savefig(OUT / f"{name}.png", dpi=90)
        plt.close(fig)
    print(f"wrote {len(schedules())} images to {OUT}")


if __name__ == "__main__":
    main()
