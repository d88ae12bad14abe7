"""Parity with torch.optim.lr_scheduler (CPU), every step of the first few thousand."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import jaxlr
from tests.peers import assert_parity, require, torch_lrs

N = 3000


def ours(schedule, n=N):
    return schedule(jnp.arange(n))


@pytest.mark.parametrize(("step_size", "gamma"), [(30, 0.1), (7, 0.5), (1000, 0.9), (1, 0.999)])
def test_step_lr(step_size, gamma):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size, gamma), N, 0.1)
    assert_parity(ours(jaxlr.step_decay(0.1, step_size, gamma)), theirs)


@pytest.mark.parametrize(("milestones", "gamma"), [([30, 80], 0.1), ([1, 2, 3, 1000, 2999], 0.5), ([0, 500], 0.3)])
def test_multistep_lr(milestones, gamma):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones, gamma), N, 0.05)
    assert_parity(ours(jaxlr.multistep_decay(0.05, milestones, gamma)), theirs)


@pytest.mark.parametrize("gamma", [0.99, 0.999, 0.9999])
def test_exponential_lr(gamma):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma), N, 0.1)
    assert_parity(ours(jaxlr.exponential_decay(0.1, gamma)), theirs)


@pytest.mark.parametrize(("total_iters", "power"), [(100, 1.0), (1000, 2.0), (2500, 0.5)])
def test_polynomial_lr(total_iters, power):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.PolynomialLR(o, total_iters, power), N, 0.1)
    assert_parity(ours(jaxlr.polynomial(0.1, 0.0, total_iters, power)), theirs)


@pytest.mark.parametrize(("t_max", "eta_min"), [(100, 0.0), (1000, 1e-4), (700, 0.01)])
def test_cosine_annealing_lr_is_periodic_cosine(t_max, eta_min):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, t_max, eta_min), N, 0.1)
    # torch's recursive form accumulates float64 error near its minima: compare at 1e-7 of the peak
    assert_parity(ours(jaxlr.cosine_decay(0.1, t_max, end_value=eta_min, periodic=True)), theirs)


@pytest.mark.parametrize(("start", "end", "total"), [(1 / 3, 1.0, 5), (1.0, 0.1, 2000), (0.01, 1.0, 300)])
def test_linear_lr(start, end, total):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.LinearLR(o, start, end, total), N, 0.1)
    assert_parity(ours(jaxlr.linear(0.1 * start, 0.1 * end, total)), theirs)


@pytest.mark.parametrize(("factor", "total"), [(1 / 3, 5), (0.5, 1000)])
def test_constant_lr_is_piecewise_constant(factor, total):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.ConstantLR(o, factor, total), N, 0.1)
    assert_parity(ours(jaxlr.piecewise_constant([total], [0.1 * factor, 0.1])), theirs)


def test_step_lr_stepped_per_epoch():
    torch = require("torch")
    steps_per_epoch, epochs = 37, 60
    # torch: scheduler.step() once per epoch; the lr of update t is that of epoch t // 37
    per_epoch = torch_lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, 20, 0.1), epochs, 0.1)
    theirs = per_epoch.repeat(steps_per_epoch)
    schedule = jaxlr.per_epoch(jaxlr.step_decay(0.1, 20, 0.1), steps_per_epoch)
    assert_parity(ours(schedule, epochs * steps_per_epoch), theirs)


@pytest.mark.parametrize(
    ("up", "down", "mode", "gamma"),
    [(200, None, "triangular", 1.0), (150, 350, "triangular2", 1.0), (100, 100, "exp_range", 0.999),
     (7, 3, "triangular", 1.0)],
)
def test_cyclic_lr(up, down, mode, gamma):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, up, down, mode=mode, gamma=gamma, cycle_momentum=False), N, 0.01)
    assert_parity(ours(jaxlr.cyclic(0.01, 0.1, up, down, mode, gamma)), theirs)


@pytest.mark.parametrize(
    ("total", "pct", "anneal", "three_phase", "div", "final_div"),
    [(1000, 0.3, "cos", False, 25.0, 1e4), (3000, 0.25, "linear", False, 10.0, 100.0),
     (2000, 0.3, "cos", True, 25.0, 1e4), (997, 0.41, "linear", True, 5.0, 1e3), (10, 0.5, "cos", False, 25.0, 1e4)],
)
def test_one_cycle_lr(total, pct, anneal, three_phase, div, final_div):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, 0.1, total_steps=total, pct_start=pct, anneal_strategy=anneal, div_factor=div,
        final_div_factor=final_div, three_phase=three_phase, cycle_momentum=False), total, 0.1)
    schedule = jaxlr.one_cycle(0.1, total, pct, anneal, div, final_div, three_phase)
    assert_parity(ours(schedule, total), theirs)


@pytest.mark.parametrize(("t_0", "t_mult", "eta_min"), [(100, 1, 0.0), (50, 2, 1e-4), (7, 3, 0.01), (1000, 1, 1e-3)])
def test_cosine_annealing_warm_restarts(t_0, t_mult, eta_min):
    torch = require("torch")
    theirs = torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, t_0, t_mult, eta_min), N, 0.1)
    assert_parity(ours(jaxlr.cosine_restarts(0.1, t_0, float(t_mult), end_value=eta_min)), theirs)


def test_sequential_lr_is_join():
    torch = require("torch")
    lr_scheduler = torch.optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, 0.01, 1.0, 100), lr_scheduler.CosineAnnealingLR(o, 900)], milestones=[100]),
        N, 0.1)
    schedule = jaxlr.join([jaxlr.linear(0.001, 0.1, 100), jaxlr.cosine_decay(0.1, 900, periodic=True)], [100])
    assert_parity(ours(schedule), theirs)


def test_chained_scheduler_is_multiply():
    torch = require("torch")
    lr_scheduler = torch.optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.ChainedScheduler(
        [lr_scheduler.ConstantLR(o, 0.5, 100), lr_scheduler.ExponentialLR(o, 0.999)]), N, 0.1)
    schedule = jaxlr.multiply(jaxlr.piecewise_constant([100], [0.05, 0.1]), jaxlr.exponential_decay(1.0, 0.999))
    assert_parity(ours(schedule), theirs)


# The recipe torch users port: 5 epochs of linear warmup, then x0.1 at epochs 30, 60 and 90.
STEPS_PER_EPOCH, EPOCHS, MILESTONE_EPOCHS = 7, 100, [30, 60, 90]


def _warmup_multistep(chained: bool, per_step: bool, start_factor: float):
    """torch's LinearLR + MultiStepLR, combined as users write it, stepped once per update
    (lengths in updates) or once per epoch (lengths in epochs, the rate repeated per update)."""
    torch = require("torch")
    lr_scheduler = torch.optim.lr_scheduler
    unit = STEPS_PER_EPOCH if per_step else 1

    def make(o):
        warmup = lr_scheduler.LinearLR(o, start_factor, 1.0, total_iters=5 * unit)
        drops = lr_scheduler.MultiStepLR(o, [m * unit for m in MILESTONE_EPOCHS], 0.1)
        if chained:
            return lr_scheduler.ChainedScheduler([warmup, drops])
        return lr_scheduler.SequentialLR(o, [warmup, drops], milestones=[5 * unit])

    lrs = torch_lrs(make, EPOCHS * unit, 0.1)
    return lrs if per_step else lrs.repeat(STEPS_PER_EPOCH)


@pytest.mark.parametrize("start_factor", [0.01, 1 / 3])
def test_warmup_then_absolute_is_chained_scheduler(start_factor):
    """ChainedScheduler keeps MultiStepLR's milestones at absolute epochs: shift=False."""
    theirs = _warmup_multistep(chained=True, per_step=True, start_factor=start_factor)
    drops = jaxlr.multistep_decay(0.1, [m * STEPS_PER_EPOCH for m in MILESTONE_EPOCHS])
    schedule = jaxlr.warmup_then(drops, 5 * STEPS_PER_EPOCH, init_value=0.1 * start_factor, shift=False)
    assert_parity(ours(schedule, EPOCHS * STEPS_PER_EPOCH), theirs)
    config = (f"warmup_then(multistep_decay(0.1, milestones=['30ep', '60ep', '90ep']), warmup_steps='5ep', "
              f"init_value={0.1 * start_factor!r}, shift=False)")
    assert jaxlr.from_config(config, steps_per_epoch=STEPS_PER_EPOCH) == schedule
    # the drops are at the epochs written, 30, 60 and 90
    epochs_of_drops = [t // STEPS_PER_EPOCH for t in range(1, len(theirs)) if theirs[t] < 0.5 * theirs[t - 1]]
    assert epochs_of_drops == MILESTONE_EPOCHS


def test_warmup_then_absolute_per_epoch_is_chained_scheduler_stepped_per_epoch():
    theirs = _warmup_multistep(chained=True, per_step=False, start_factor=0.01)
    schedule = jaxlr.per_epoch(
        jaxlr.warmup_then(jaxlr.multistep_decay(0.1, MILESTONE_EPOCHS), 5, init_value=0.001, shift=False),
        STEPS_PER_EPOCH)
    assert_parity(ours(schedule, EPOCHS * STEPS_PER_EPOCH), theirs)


@pytest.mark.parametrize("per_step", [True, False])
def test_warmup_then_shifted_is_sequential_lr(per_step):
    """SequentialLR restarts MultiStepLR's count at the warmup's end: the default shift=True,
    whose drops come 5 epochs late (35, 65, 95)."""
    theirs = _warmup_multistep(chained=False, per_step=per_step, start_factor=0.01)
    unit = STEPS_PER_EPOCH if per_step else 1
    schedule = jaxlr.warmup_then(jaxlr.multistep_decay(0.1, [m * unit for m in MILESTONE_EPOCHS]), 5 * unit,
                                 init_value=0.001)
    if not per_step:
        schedule = jaxlr.per_epoch(schedule, STEPS_PER_EPOCH)
    assert_parity(ours(schedule, EPOCHS * STEPS_PER_EPOCH), theirs)
    epochs_of_drops = [t // STEPS_PER_EPOCH for t in range(1, len(theirs)) if theirs[t] < 0.5 * theirs[t - 1]]
    assert epochs_of_drops == [35, 65, 95]
