"""Parity with torch.optim.lr_scheduler (CPU), every step of the first few thousand."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import jaxlr
from jaxlr.compat import torch as compat_torch
from tests.peers import assert_parity, require, torch_hyperparams, torch_lrs
from tests.profiles import examples

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


# --- issue 17: the momentum torch cycles, the recipe through optax, and the missing schedulers ---

MOMENTUM_STEPS = 400
MOMENTA = st.just(0.0) | st.floats(1e-6, 1.0)  # a nonzero momentum float32 flushes to 0 is refused


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize(
    "kwargs",
    [dict(total_steps=400), dict(total_steps=397, pct_start=0.41, anneal_strategy="linear", three_phase=True,
                                 base_momentum=0.8, max_momentum=0.99),
     dict(total_steps=250, pct_start=0.2, three_phase=True, base_momentum=0.9, max_momentum=0.9),
     dict(total_steps=300, pct_start=0.5, base_momentum=0.95, max_momentum=0.85)],
    ids=str,
)
def test_one_cycle_momentum(kwargs, optimizer):
    lr_scheduler = require("torch").optim.lr_scheduler
    total = kwargs["total_steps"]
    lrs, momenta = torch_hyperparams(lambda o: lr_scheduler.OneCycleLR(o, 0.1, **kwargs), total, 0.1, optimizer)
    ported = compat_torch.OneCycleLR(0.1, **kwargs)
    assert_parity(ours(ported, total), lrs)
    assert_parity(ours(ported.momentum, total), momenta)
    family = jaxlr.one_cycle_momentum(total, kwargs.get("base_momentum", 0.85), kwargs.get("max_momentum", 0.95),
                                      kwargs.get("pct_start", 0.3), kwargs.get("anneal_strategy", "cos"),
                                      kwargs.get("three_phase", False))
    assert family == ported.momentum
    # past the end torch raises; jaxlr holds max_momentum
    assert float(ported.momentum(total + 10)) == pytest.approx(kwargs.get("max_momentum", 0.95))


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize(
    ("up", "down", "mode", "gamma", "base", "high"),
    [(200, None, "triangular", 1.0, 0.8, 0.9), (150, 350, "triangular2", 1.0, 0.85, 0.95),
     (100, 100, "exp_range", 0.999, 0.8, 0.9), (7, 3, "triangular", 1.0, 0.9, 0.8)],
)
def test_cyclic_momentum(up, down, mode, gamma, base, high, optimizer):
    lr_scheduler = require("torch").optim.lr_scheduler
    lrs, momenta = torch_hyperparams(lambda o: lr_scheduler.CyclicLR(
        o, 0.01, 0.1, up, down, mode=mode, gamma=gamma, base_momentum=base, max_momentum=high), N, 0.01, optimizer)
    ported = compat_torch.CyclicLR(0.01, 0.1, up, down, mode, gamma, base_momentum=base, max_momentum=high)
    assert_parity(ours(ported), lrs)
    assert_parity(ours(ported.momentum), momenta)
    assert ported.momentum == jaxlr.cyclic_momentum(base, high, up, down, mode, gamma)


@settings(max_examples=examples(25))
@given(
    total=st.integers(2, 600), pct=st.floats(0.01, 0.99), anneal=st.sampled_from(["cos", "linear"]),
    three_phase=st.booleans(), base=MOMENTA, high=MOMENTA,
)
def test_unseen_one_cycle_configurations_match_torch(total, pct, anneal, three_phase, base, high):
    # every phase longer than 0 steps: torch divides by zero in an empty one (it steps once past the end)
    assume(pct * total > 1 and (not three_phase or pct * total - 1 < 2 * pct * total - 2 < total - 1))
    lr_scheduler = require("torch").optim.lr_scheduler
    kwargs = dict(total_steps=total, pct_start=pct, anneal_strategy=anneal, three_phase=three_phase,
                  base_momentum=base, max_momentum=high)
    lrs, momenta = torch_hyperparams(lambda o: lr_scheduler.OneCycleLR(o, 0.1, **kwargs), total, 0.1)
    ported = compat_torch.OneCycleLR(0.1, **kwargs)
    assert_parity(ours(ported, total), lrs)
    assert_parity(ours(ported.momentum, total), momenta, scale=1.0)


@settings(max_examples=examples(25))
@given(
    up=st.integers(1, 300), down=st.none() | st.integers(1, 300),
    mode=st.sampled_from(["triangular", "triangular2", "exp_range"]), gamma=st.floats(0.98, 1.0),
    base=MOMENTA, high=MOMENTA, optimizer=st.sampled_from(["sgd", "adam"]),
)
def test_unseen_cyclic_configurations_match_torch(up, down, mode, gamma, base, high, optimizer):
    lr_scheduler = require("torch").optim.lr_scheduler
    lrs, momenta = torch_hyperparams(lambda o: lr_scheduler.CyclicLR(
        o, 0.01, 0.1, up, down, mode=mode, gamma=gamma, base_momentum=base, max_momentum=high), MOMENTUM_STEPS,
        0.01, optimizer)
    ported = compat_torch.CyclicLR(0.01, 0.1, up, down, mode, gamma, base_momentum=base, max_momentum=high)
    assert_parity(ours(ported, MOMENTUM_STEPS), lrs)
    assert_parity(ours(ported.momentum, MOMENTUM_STEPS), momenta, scale=1.0)


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_cyclic_scale_fn(scale_mode):
    lr_scheduler = require("torch").optim.lr_scheduler
    if scale_mode == "cycle":
        theirs_fn, ours_fn = (lambda x: 1 / (1.0 + 0.5 * (x - 1))), (lambda x: 1 / (1.0 + 0.5 * (x - 1)))
    else:
        theirs_fn, ours_fn = (lambda x: 0.5 * (1 + math.cos(x / 300))), (lambda x: 0.5 * (1 + jnp.cos(x / 300)))
    lrs, momenta = torch_hyperparams(lambda o: lr_scheduler.CyclicLR(
        o, 0.01, 0.1, 70, 50, mode="not used", scale_fn=theirs_fn, scale_mode=scale_mode), N, 0.01)
    ported = compat_torch.CyclicLR(0.01, 0.1, 70, 50, mode="not used", scale_fn=ours_fn, scale_mode=scale_mode)
    assert_parity(ours(ported), lrs)
    assert_parity(ours(ported.momentum), momenta)


def _quadratic_run_torch(make_scheduler, optimizer, steps):
    torch = require("torch")
    curvature = torch.tensor([0.5, 1.0, 1.5, 2.0])
    param = torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0, -4.0]))
    opt = torch.optim.SGD([param], lr=0.1, momentum=0.9) if optimizer == "sgd" else torch.optim.Adam([param], lr=0.1)
    scheduler = make_scheduler(opt)
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * (curvature * param**2).sum()).backward()
        opt.step()
        scheduler.step()
    return param.detach().numpy().copy()


def _quadratic_run_optax(optimizer, steps):
    curvature = jnp.array([0.5, 1.0, 1.5, 2.0])
    params = jnp.array([1.0, -2.0, 3.0, -4.0])
    state = optimizer.init(params)

    def step(carry, _):
        params, state = carry
        updates, state = optimizer.update(curvature * params, state, params)
        return (optax.apply_updates(params, updates), state), None

    (params, state), _ = jax.lax.scan(step, (params, state), None, length=steps)
    return np.asarray(params), state


@pytest.mark.parametrize(("optimizer", "hyperparam"), [("sgd", "momentum"), ("adam", "b1")])
@pytest.mark.parametrize("scheduler", ["OneCycleLR", "CyclicLR"])
def test_momentum_recipe_through_inject_hyperparams_trains_as_torch(optimizer, hyperparam, scheduler):
    # A convex quadratic (no chaos): torch's optimizer with its scheduler cycling the
    # momentum, against optax's with the ported schedules injected, parameter for parameter.
    lr_scheduler = require("torch").optim.lr_scheduler
    steps = 300
    if scheduler == "OneCycleLR":
        make = lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=steps)  # noqa: E731
        ported = compat_torch.OneCycleLR(0.1, total_steps=steps)
    else:
        make = lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 40, 60)  # noqa: E731
        ported = compat_torch.CyclicLR(0.01, 0.1, 40, 60)
    theirs = _quadratic_run_torch(make, optimizer, steps)
    factory = optax.sgd if optimizer == "sgd" else optax.adam
    injected = optax.inject_hyperparams(factory)(learning_rate=ported, **{hyperparam: ported.momentum})
    params, state = _quadratic_run_optax(injected, steps)
    np.testing.assert_allclose(params, theirs, rtol=1e-5, atol=1e-6)
    # the values the last update used, read back for logging
    assert float(jaxlr.current_lr(state)) == pytest.approx(float(ported(steps - 1)), rel=1e-6)
    assert float(jaxlr.current_hyperparam(state, hyperparam)) == pytest.approx(float(ported.momentum(steps - 1)),
                                                                               rel=1e-6)
    # without cycling the momentum the run is another one: the test can tell them apart
    plain, _ = _quadratic_run_optax(optax.inject_hyperparams(factory)(learning_rate=ported), steps)
    assert not np.allclose(plain, theirs, rtol=1e-3, atol=1e-4)


def test_multiplicative_lr_constant_factor_is_a_closed_form():
    lr_scheduler = require("torch").optim.lr_scheduler
    for factor in (0.95, 0.999, 1.001):
        theirs = torch_lrs(lambda o, f=factor: lr_scheduler.MultiplicativeLR(o, lambda epoch: f), N, 0.1)
        ported = compat_torch.MultiplicativeLR(0.1, lambda epoch, f=factor: f)
        assert ported == jaxlr.exponential_decay(0.1, factor)
        assert_parity(ours(ported), theirs)


@pytest.mark.parametrize(
    "lr_lambda",
    [lambda epoch: 0.5 if epoch % 100 == 0 else 1.0, lambda epoch: 1.0 - 1.0 / (epoch + 10),
     lambda epoch: 0.9 + 0.1 * math.cos(epoch / 50), lambda epoch: 1.02 if epoch < 200 else 0.98],
    ids=["every-100", "harmonic", "cos", "up-then-down"],
)
def test_multiplicative_lr_tabulates_a_function_of_the_epoch(lr_lambda):
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.MultiplicativeLR(o, lr_lambda), 1000, 0.1)
    ported = compat_torch.MultiplicativeLR(0.1, lr_lambda, total_steps=1000)
    assert_parity(ours(ported, 1000), theirs)
    assert float(ported(5000)) == pytest.approx(float(theirs[-1]), rel=1e-6)  # the last value is held


@pytest.mark.parametrize(("swa_lr", "anneal_epochs", "strategy"),
                         [(0.05, 10, "cos"), (0.05, 10, "linear"), (0.3, 7, "cos"), (0.02, 1, "linear"),
                          (0.05, 0, "cos"), (0.0, 500, "cos")])
def test_swalr(swa_lr, anneal_epochs, strategy):
    swa_utils = require("torch").optim.swa_utils
    theirs = torch_lrs(lambda o: swa_utils.SWALR(o, swa_lr, anneal_epochs, strategy), 1000, 0.1)
    assert_parity(ours(compat_torch.SWALR(0.1, swa_lr, anneal_epochs, strategy), 1000), theirs)


@pytest.mark.parametrize(("anneal_epochs", "strategy"), [(20, "linear"), (5, "cos"), (1, "cos")])
def test_swalr_after_another_schedule_as_in_torchs_example(anneal_epochs, strategy):
    # torch's SWALR docstring: MultiplicativeLR, then SWALR once epoch > swa_start.
    torch = require("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=0.1)
    scheduler = torch.optim.lr_scheduler.MultiplicativeLR(optimizer, lambda epoch: 0.9)
    swa_scheduler = torch.optim.swa_utils.SWALR(optimizer, anneal_strategy=strategy, anneal_epochs=anneal_epochs,
                                                swa_lr=0.05)
    swa_start, theirs = 160, []
    for epoch in range(300):
        theirs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if epoch > swa_start:
            swa_scheduler.step()
        else:
            scheduler.step()
    before = compat_torch.MultiplicativeLR(0.1, lambda epoch: 0.9)
    recipe = jaxlr.join([before, compat_torch.SWALR(float(before(swa_start + 1)), 0.05, anneal_epochs, strategy)],
                        [swa_start + 1])
    assert_parity(ours(recipe, 300), np.asarray(theirs))


@pytest.mark.parametrize(
    "names",
    [("ConstantLR", "ExponentialLR"), ("StepLR", "LinearLR", "ExponentialLR"), ("MultiStepLR", "PolynomialLR"),
     ("ExponentialLR", "StepLR", "ConstantLR")],
    ids="+".join,
)
def test_chained_scheduler(names):
    lr_scheduler = require("torch").optim.lr_scheduler
    arguments = {"ConstantLR": (0.5, 300), "ExponentialLR": (0.999,), "StepLR": (400, 0.5),
                 "LinearLR": (0.2, 1.0, 700), "MultiStepLR": ([100, 900],), "PolynomialLR": (2000, 2.0)}
    theirs = torch_lrs(lambda o: lr_scheduler.ChainedScheduler(
        [getattr(lr_scheduler, name)(o, *arguments[name]) for name in names]), N, 0.1)
    ported = compat_torch.ChainedScheduler([getattr(compat_torch, name)(0.1, *arguments[name]) for name in names],
                                           lr=0.1)
    assert_parity(ours(ported), theirs)


@settings(max_examples=examples(25))
@given(factors=st.lists(st.just(0.0) | st.floats(0.5, 1.5), min_size=1, max_size=12),
       total=st.sampled_from([1, 2, 300]), lr=st.floats(1e-4, 1.0))
def test_unseen_multiplicative_lr_configurations(factors, total, lr):
    # few lengths: each new table size compiles anew, eagerly
    # a factor of the epoch through Python indexing: tabulated, as torch calls it
    lr_lambda = lambda epoch: factors[epoch % len(factors)]  # noqa: E731
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.MultiplicativeLR(o, lr_lambda), total, lr)
    tiny = np.finfo(np.float32).tiny
    assert_parity(ours(compat_torch.MultiplicativeLR(lr, lr_lambda, total_steps=total), total),
                  np.where(theirs < tiny, 0.0, theirs), scale=lr)


@settings(max_examples=examples(25))
@given(lr=st.floats(1e-4, 1.0), swa_lr=st.just(0.0) | st.floats(1e-4, 1.0), anneal_epochs=st.integers(0, 300),
       strategy=st.sampled_from(["cos", "linear"]))
def test_unseen_swalr_configurations(lr, swa_lr, anneal_epochs, strategy):
    swa_utils = require("torch").optim.swa_utils
    theirs = torch_lrs(lambda o: swa_utils.SWALR(o, swa_lr, anneal_epochs, strategy), MOMENTUM_STEPS, lr)
    assert_parity(ours(compat_torch.SWALR(lr, swa_lr, anneal_epochs, strategy), MOMENTUM_STEPS), theirs,
                  scale=max(lr, swa_lr))
