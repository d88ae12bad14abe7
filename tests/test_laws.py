"""jaxlr.laws: the multi-power law against its formula summed term by term in float64, fits
that recover a known law, the paper's held-out metrics on its measured curves, and the
schedule optimisers against cosine and WSD."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import jaxlr
from jaxlr.laws import MultiPowerLaw, fit_multi_power_law, optimize_schedule, optimize_wsd, prediction_metrics

PAPER_25M = MultiPowerLaw(L0=3.04, A=0.525, alpha=0.508, B=363.8, C=2.066, beta=0.583, gamma=0.641)
DATA = Path(__file__).resolve().parent / "data" / "multi-power-law"  # the paper's curves, MIT (its LICENSE)


def reference(law: MultiPowerLaw, lrs: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """The law term by term in float64, from its formula:
    L(t) = L0 + A S(t)^-alpha - B sum_{k=1..t} (eta_{k-1} - eta_k) G(eta_k^-gamma S_k(t)),
    S(t) = sum_{tau<=t} eta_tau, S_k(t) = sum_{tau=k..t} eta_tau, G(x) = 1 - (C x + 1)^-beta."""
    p = {n: float(getattr(law, n)) for n in ("L0", "A", "alpha", "B", "C", "beta", "gamma")}
    eta = np.asarray(lrs, np.float64)
    cumulative = np.cumsum(eta)
    out = []
    for t in steps:
        k = np.arange(1, t + 1)
        s_k = cumulative[t] - cumulative[k - 1]  # sum of eta over k..t
        g = 1.0 - (p["C"] * eta[k] ** -p["gamma"] * s_k + 1.0) ** -p["beta"]
        drop = np.sum((eta[k - 1] - eta[k]) * g)
        out.append(p["L0"] + p["A"] * cumulative[t] ** -p["alpha"] - p["B"] * drop)
    return np.array(out)


def warmup_then(body: np.ndarray, warmup: int = 200, peak: float = 3e-4) -> np.ndarray:
    return np.concatenate([np.linspace(peak / warmup, peak, warmup), body])


SCHEDULES = {
    "constant": warmup_then(np.full(2_800, 3e-4)),
    "step": warmup_then(np.concatenate([np.full(1_500, 3e-4), np.full(800, 9e-5), np.full(500, 3e-5)])),
    "cosine": warmup_then(3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + np.cos(np.pi * np.arange(2_800) / 2_800))),
    "wsd": warmup_then(np.concatenate([np.full(2_000, 3e-4), np.linspace(3e-4, 3e-5, 800)])),
    "rising again": warmup_then(np.concatenate([np.full(1_000, 3e-4), np.full(900, 1e-4), np.full(900, 2e-4)])),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_predict_is_the_formula_at_every_logged_step(name):
    lrs = SCHEDULES[name]
    steps = np.array([0, 1, 199, 200, 1_000, 1_699, 1_700, 2_100, 2_500, 2_999])
    got = np.asarray(PAPER_25M.predict(lrs, steps), np.float64)
    np.testing.assert_allclose(got, reference(PAPER_25M, lrs, steps), rtol=2e-6, err_msg=name)
    exact = np.asarray(PAPER_25M.predict(lrs, steps, exact=True), np.float64)
    np.testing.assert_allclose(exact, got, rtol=2e-6, err_msg=name)


def test_a_constant_rate_is_the_power_law_alone():
    lrs = np.full(5_000, 3e-4)
    steps = np.array([0, 99, 999, 4_999])
    want = 3.04 + 0.525 * (3e-4 * (steps + 1)) ** -0.508
    np.testing.assert_allclose(np.asarray(PAPER_25M.predict(lrs, steps), np.float64), want, rtol=1e-6)


def test_a_schedule_is_taken_at_every_step():
    schedule = jaxlr.warmup_cosine(3e-4, warmup_steps=200, total_steps=3_000, end_value=3e-5)
    lrs = np.asarray(schedule(np.arange(3_000)), np.float64)
    steps = np.array([500, 2_999])
    np.testing.assert_allclose(np.asarray(PAPER_25M.predict(lrs, steps)), reference(PAPER_25M, lrs, steps), rtol=2e-6)


@pytest.mark.slow
def test_fitting_recovers_a_known_law_from_its_own_curves():
    truth = MultiPowerLaw(L0=2.9, A=0.6, alpha=0.45, B=420.0, C=1.5, beta=0.55, gamma=0.6)
    steps = np.arange(200, 3_000, 50)
    curves = [(SCHEDULES[n], steps, np.asarray(truth.predict(SCHEDULES[n], steps), np.float64))
              for n in ("constant", "step", "cosine")]
    law = fit_multi_power_law(curves, method="lbfgs")
    for name in ("wsd", "rising again"):  # held out: the fitted law predicts them too
        predicted = np.asarray(law.predict(SCHEDULES[name], steps), np.float64)
        np.testing.assert_allclose(predicted, np.asarray(truth.predict(SCHEDULES[name], steps)), rtol=1e-3)
    assert float(law.L0) == pytest.approx(2.9, rel=0.05) and float(law.alpha) == pytest.approx(0.45, rel=0.1)


def test_prediction_metrics_are_the_papers():
    m = prediction_metrics([3.0, 2.5, 2.1], [3.0, 2.4, 2.0])
    assert m["mae"] == pytest.approx(0.2 / 3) and m["rmse"] == pytest.approx(np.sqrt(0.02 / 3))
    assert m["r2"] == pytest.approx(1 - 0.02 / np.sum((np.array([3.0, 2.4, 2.0]) - 2.4666666666666667) ** 2))
    assert m["prede"] == pytest.approx((0.1 / 2.4 + 0.1 / 2.0) / 3) and m["worste"] == pytest.approx(0.05)


@pytest.mark.parametrize(("call", "message"), [
    (lambda: MultiPowerLaw(L0=3.0, A=-1.0, alpha=0.5, B=1.0, C=1.0, beta=0.5, gamma=0.5), "A"),
    (lambda: MultiPowerLaw(L0=3.0, A=1.0, alpha=0.5, B=1.0, C=1.0, beta=0.5, gamma=0.0), "gamma"),
    (lambda: PAPER_25M.predict(np.full(10, 3e-4), [10]), "steps"),
    (lambda: PAPER_25M.predict(np.full(10, -3e-4), [5]), "lrs"),
    (lambda: fit_multi_power_law([], method="adam"), "curves"),
    (lambda: fit_multi_power_law([(np.full(10, 1e-3), [5], [3.0])], method="sgd"), "method"),
    (lambda: fit_multi_power_law([(np.full(10, 1e-3), [5], [3.0])], huber_delta=-1.0), "huber_delta"),
    (lambda: optimize_schedule(PAPER_25M, 1_000, 3e-4, 2_000), "warmup_steps"),
    (lambda: prediction_metrics([1.0], [1.0, 2.0]), "predicted and measured"),
])
def test_bad_arguments_name_themselves(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()


def load_curve(size: str, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A measured curve of the paper and its schedule at every step, as the example reads it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    try:
        import loss_law_paper
    finally:
        sys.path.pop(0)
    return loss_law_paper.load(DATA, size, name)


PAPER = {"25M": {"r2": 0.9988, "mae": 0.00376, "rmse": 0.00465, "prede": 0.00110, "worste": 0.00409},
         "100M": {"r2": 0.9983, "mae": 0.00435, "rmse": 0.00592, "prede": 0.00142, "worste": 0.00583}}
TRAIN = ["cosine_24000", "constant_24000", "wsdcon_9"]
HELD_OUT = ["constant_72000", "cosine_72000", "wsdcon_3", "wsdcon_18", "wsd_20000_24000", "wsdld_20000_24000"]


@pytest.mark.slow
@pytest.mark.skipif(not DATA.exists(), reason=f"the paper's curves are not at {DATA}")
@pytest.mark.parametrize("size", ["25M", "100M"])
def test_the_papers_held_out_curves_are_predicted_as_well_as_it_published(size):
    law = fit_multi_power_law([load_curve(size, n) for n in TRAIN])
    metrics = []
    for name in HELD_OUT:
        lrs, steps, losses = load_curve(size, name)
        metrics.append(prediction_metrics(law.predict(lrs, steps), losses))
    ours = {k: float(np.mean([m[k] for m in metrics])) for k in metrics[0]}
    paper = PAPER[size]
    assert ours["r2"] >= paper["r2"], ours
    for key in ("mae", "rmse", "prede", "worste"):
        assert ours[key] <= paper[key], (key, ours)


def test_the_optimised_schedule_beats_cosine_and_wsd_in_predicted_final_loss():
    total, warmup, peak = 4_000, 400, 3e-4
    steps = np.arange(total)
    best = optimize_schedule(PAPER_25M, total, peak, warmup)
    rates = np.asarray(best(steps), np.float64)
    after = rates[warmup:]  # non-increasing, to float32 rounding of the interpolation
    assert np.all(np.diff(after) <= peak * 2**-22) and rates.max() <= peak * (1 + 2**-22) and rates.min() >= 0
    knots = np.asarray(best.values, np.float64)
    assert np.all(np.diff(knots[1:]) <= 0)  # the knots themselves are exactly non-increasing
    cosine = np.asarray(jaxlr.warmup_cosine(peak, warmup, total)(steps), np.float64)
    wsd = np.asarray(jaxlr.wsd(peak, total, warmup, 800)(steps), np.float64)
    final = {name: float(PAPER_25M.final_loss(r)) for name, r in
             (("best", rates), ("cosine", cosine), ("wsd", wsd))}
    assert final["best"] < final["cosine"] and final["best"] < final["wsd"], final
    tuned = optimize_wsd(PAPER_25M, total, peak, warmup, decay_shapes=("linear",))
    assert float(PAPER_25M.final_loss(np.asarray(tuned(steps)))) <= final["wsd"] + 1e-6
    # the final loss is the prediction at the last step
    assert final["cosine"] == pytest.approx(float(PAPER_25M.predict(cosine, [total - 1])[0]), rel=1e-5)
    assert jax.tree_util.tree_leaves(PAPER_25M)  # a pytree


def test_the_loss_law_page_block_runs_as_written(capsys):
    import re

    page = (Path(__file__).resolve().parent.parent / "docs" / "loss_law.md").read_text()
    (block,) = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    exec(compile(block, "docs/loss_law.md", "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.splitlines() == ["True"]


@pytest.mark.slow
def test_the_run_made_here_is_fitted_and_scored_end_to_end(tmp_path):
    # Shortened: 300 steps of a small transformer under four schedules, the law fitted on
    # three and scored on the fourth. What a chaotic run gives is not asserted, only that each
    # piece is there and finite, and the run trained (below the loss of a uniform guess).
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    try:
        import predict_schedule
    finally:
        sys.path.pop(0)
    out = tmp_path / "report.json"
    report = predict_schedule.main(["--steps", "200", "--context", "16", "--log-every", "10", "--warmup", "20",
                                    "--layers", "1", "--out", str(out)])
    assert set(report["finals"]) == {"constant", "cosine", "step down at half way", "wsd (held out)"}
    assert all(np.isfinite(v) and v < np.log(256) for v in report["finals"].values())
    assert set(report["metrics"]) == {"r2", "mae", "rmse", "prede", "worste"}
    assert all(np.isfinite(v) for v in report["metrics"].values())
    assert report["final_measured"] == report["finals"]["wsd (held out)"]
    assert np.isfinite(report["final_predicted"]) and report["final_error"] >= 0
    assert json.loads(out.read_text())["law"] == report["law"]
