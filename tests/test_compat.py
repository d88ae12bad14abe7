"""jaxlr.compat: the peers' names and arguments, equal to the live peers at every step."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlr
from jaxlr.compat import hf, keras, torch
from tests.peers import assert_parity, keras_lrs, require, torch_lrs
from tests.test_adaptive import sequences, torch_scales

N = 2500

TORCH = [
    ("StepLR", dict(step_size=30, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[900, 300, 300, 2000], gamma=0.5)),
    ("ConstantLR", dict(factor=0.25, total_iters=700)),
    ("LinearLR", dict(start_factor=0.1, end_factor=0.9, total_iters=1500)),
    ("ExponentialLR", dict(gamma=0.999)),
    ("PolynomialLR", dict(total_iters=2000, power=2.0)),
    ("CosineAnnealingLR", dict(T_max=700, eta_min=1e-3)),
    ("CosineAnnealingWarmRestarts", dict(T_0=100, T_mult=2, eta_min=1e-4)),
]


@pytest.mark.parametrize(("name", "kwargs"), TORCH, ids=[name for name, _ in TORCH])
def test_torch_schedulers_with_a_base_rate(name, kwargs):
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: getattr(lr_scheduler, name)(o, **kwargs), N, 0.1)
    assert_parity(getattr(torch, name)(0.1, **kwargs)(jnp.arange(N)), theirs)


def test_torch_cyclic_one_cycle_lambda_and_sequential():
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.CyclicLR(o, 0.01, 0.1, 300, 200, "triangular2", cycle_momentum=False),
                       N, 0.01)
    assert_parity(torch.CyclicLR(0.01, 0.1, 300, 200, "triangular2")(jnp.arange(N)), theirs)
    theirs = torch_lrs(lambda o: lr_scheduler.OneCycleLR(o, 0.1, epochs=10, steps_per_epoch=250,
                                                         cycle_momentum=False), N, 0.1)
    assert_parity(torch.OneCycleLR(0.1, epochs=10, steps_per_epoch=250)(jnp.arange(N)), theirs)
    theirs = torch_lrs(lambda o: lr_scheduler.LambdaLR(o, lambda t: 0.95 ** (t // 10)), N, 0.1)
    assert_parity(torch.LambdaLR(0.1, lambda t: 0.95 ** (t // 10))(jnp.arange(N)), theirs)
    theirs = torch_lrs(lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, 0.1, 1.0, 200), lr_scheduler.ExponentialLR(o, 0.999)], [200]), N, 0.1)
    ours = torch.SequentialLR([torch.LinearLR(0.1, 0.1, 1.0, 200), torch.ExponentialLR(0.1, 0.999)], [200])
    assert_parity(ours(jnp.arange(N)), theirs)


KERAS = [
    ("ExponentialDecay", (0.1, 100, 0.9), dict(staircase=True)),
    ("PiecewiseConstantDecay", ([100, 1000], [0.1, 0.05, 0.01]), {}),
    ("PolynomialDecay", (0.1, 700), dict(power=0.5, cycle=True)),
    ("InverseTimeDecay", (0.1, 100, 0.5), {}),
    ("CosineDecay", (0.1, 1500), dict(alpha=0.1)),
    ("CosineDecay", (0.0, 1500), dict(alpha=0.1, warmup_target=0.1, warmup_steps=300)),
    ("CosineDecayRestarts", (0.1, 200), dict(t_mul=1.5, m_mul=0.8, alpha=0.05)),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), KERAS, ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(KERAS)])
def test_keras_schedules(name, args, kwargs):
    theirs = keras_lrs(name, *args, steps=N, **kwargs)
    assert_parity(getattr(keras, name)(*args, **kwargs)(jnp.arange(N)), theirs)


HF = [
    ("linear", {}),
    ("cosine", {}),
    ("cosine", dict(num_cycles=1.5)),
    ("cosine_with_restarts", dict(num_cycles=3)),
    ("cosine_with_restarts", dict(num_cycles=2.5)),
    ("polynomial", dict(lr_end=1e-6, power=2.0)),
    ("constant", {}),
    ("constant_with_warmup", {}),
    ("inverse_sqrt", dict(timescale=500)),
    ("cosine_with_min_lr", dict(min_lr_rate=0.1)),
    ("warmup_stable_decay", dict(num_decay_steps=400, min_lr_ratio=0.1, warmup_type="cosine", decay_type="1-sqrt")),
]


@pytest.mark.parametrize(("name", "specific"), HF, ids=[f"{n}-{i}" for i, (n, _) in enumerate(HF)])
def test_hf_get_scheduler_past_the_end_too(name, specific):
    transformers = require("transformers")
    warmup, total, lr = 100, 1800, 3e-4
    theirs = torch_lrs(lambda o: transformers.get_scheduler(
        name, o, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=dict(specific)), N, lr)
    ours = hf.get_scheduler(name, lr, warmup, total, specific)
    assert_parity(ours(jnp.arange(N)), theirs)


def test_unknown_hf_name():
    with pytest.raises(ValueError, match="name must be one of linear, cosine"):
        hf.get_scheduler("cosine_annealing", 1e-3, 10, 100)


# --- edges: zero lengths, equal lengths, factors of 0 and 1, against the live peers ---------

EDGE_STEPS = 60

TORCH_EDGES = [
    ("StepLR", dict(step_size=1, gamma=0.5)),
    ("StepLR", dict(step_size=3, gamma=0.0)),
    ("StepLR", dict(step_size=4, gamma=2.0)),
    ("MultiStepLR", dict(milestones=[], gamma=0.5)),
    ("MultiStepLR", dict(milestones=[0], gamma=0.5)),
    ("MultiStepLR", dict(milestones=[0, 0, 7], gamma=0.5)),
    ("MultiStepLR", dict(milestones=[3], gamma=0.0)),
    ("ConstantLR", dict(factor=0.5, total_iters=0)),
    ("ConstantLR", dict(factor=0.0, total_iters=0)),
    ("ConstantLR", dict(factor=1.0, total_iters=5)),
    ("ConstantLR", dict(factor=0.5, total_iters=1)),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.0, total_iters=0)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.0, total_iters=1)),
    ("LinearLR", dict(start_factor=1e-3, end_factor=1.0, total_iters=7)),
    ("LinearLR", dict(start_factor=0.5, end_factor=0.5, total_iters=5)),
    ("ExponentialLR", dict(gamma=0.0)),
    ("ExponentialLR", dict(gamma=1.0)),
    ("ExponentialLR", dict(gamma=1.01)),
    ("PolynomialLR", dict(total_iters=0, power=2.0)),
    ("PolynomialLR", dict(total_iters=1)),
    ("PolynomialLR", dict(total_iters=5, power=0.0)),
    ("PolynomialLR", dict(total_iters=7, power=0.5)),
    ("CosineAnnealingLR", dict(T_max=1)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.2)),
    ("CosineAnnealingWarmRestarts", dict(T_0=1)),
    ("CosineAnnealingWarmRestarts", dict(T_0=1, T_mult=2)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=3, eta_min=0.05)),
]


@pytest.mark.parametrize(("name", "kwargs"), TORCH_EDGES, ids=[f"{n}-{k}" for n, k in TORCH_EDGES])
def test_torch_edges(name, kwargs):
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: getattr(lr_scheduler, name)(o, **kwargs), EDGE_STEPS, 0.1)
    assert_parity(getattr(torch, name)(0.1, **kwargs)(jnp.arange(EDGE_STEPS)), theirs)


CYCLIC_EDGES = [
    dict(step_size_up=1), dict(step_size_up=1, step_size_down=1), dict(step_size_up=3, step_size_down=1,
                                                                       mode="triangular2"),
    dict(step_size_up=2.5, step_size_down=1.5), dict(step_size_up=3, mode="exp_range", gamma=0.0),
    dict(step_size_up=3, mode="triangular", gamma=0.0), dict(step_size_up=2, mode="exp_range", gamma=1.0),
]


@pytest.mark.parametrize("kwargs", CYCLIC_EDGES, ids=str)
@pytest.mark.parametrize(("base", "peak"), [(0.01, 0.1), (0.1, 0.01)], ids=["rising", "falling"])
def test_torch_cyclic_edges(kwargs, base, peak):
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.CyclicLR(o, base, peak, cycle_momentum=False, **kwargs), EDGE_STEPS,
                       base)
    assert_parity(torch.CyclicLR(base, peak, **kwargs)(jnp.arange(EDGE_STEPS)), theirs)


ONE_CYCLE_EDGES = [
    dict(total_steps=1), dict(total_steps=3), dict(total_steps=3, three_phase=True),
    dict(total_steps=10, pct_start=0.05), dict(total_steps=7, pct_start=0.9),
    dict(total_steps=10, pct_start=0.05, three_phase=True, anneal_strategy="linear"),
    dict(epochs=1, steps_per_epoch=1), dict(epochs=3, steps_per_epoch=4, pct_start=0.5),
]


@pytest.mark.parametrize("kwargs", ONE_CYCLE_EDGES, ids=str)
def test_torch_one_cycle_edges_up_to_the_last_step(kwargs):
    lr_scheduler = require("torch").optim.lr_scheduler
    total = kwargs.get("total_steps") or kwargs["epochs"] * kwargs["steps_per_epoch"]
    theirs = torch_lrs(lambda o: lr_scheduler.OneCycleLR(o, 0.1, cycle_momentum=False, **kwargs), total, 0.1)
    assert_parity(torch.OneCycleLR(0.1, **kwargs)(jnp.arange(total)), theirs)


@pytest.mark.parametrize(
    ("name", "kwargs", "message"),
    [
        ("LinearLR", dict(start_factor=0.0), r"start_factor must be in \(0, 1\], got 0.0"),
        ("LinearLR", dict(start_factor=1.5), r"start_factor must be in \(0, 1\], got 1.5"),
        ("LinearLR", dict(end_factor=-0.1), r"end_factor must be in \[0, 1\], got -0.1"),
        ("LinearLR", dict(end_factor=1.5), r"end_factor must be in \[0, 1\], got 1.5"),
        ("ConstantLR", dict(factor=-0.1), r"factor must be in \[0, 1\], got -0.1"),
        ("ConstantLR", dict(factor=1.5), r"factor must be in \[0, 1\], got 1.5"),
        ("CosineAnnealingWarmRestarts", dict(T_0=0), "T_0 must be >= 1, got 0"),
        ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=0), "T_mult must be >= 1, got 0"),
        ("CosineAnnealingWarmRestarts", dict(T_0=5, T_mult=1.5), "T_mult must be a whole number of steps, got 1.5"),
        ("CyclicLR", dict(max_lr=0.1, mode="triangle"), "mode must be one of 'triangular'"),
        ("OneCycleLR", dict(total_steps=0), "total_steps must be >= 1, got 0"),
        ("OneCycleLR", dict(epochs=0, steps_per_epoch=5), "epochs must be >= 1, got 0"),
        ("OneCycleLR", dict(total_steps=10, anneal_strategy="cosine"),
         "anneal_strategy must be one of 'cos', 'linear'"),
    ],
)
def test_torch_limits_are_torch_limits(name, kwargs, message):
    lr_scheduler = require("torch").optim.lr_scheduler

    def make(optimizer):
        if name in ("CyclicLR", "OneCycleLR"):  # these take their rate (base_lr, max_lr) as an argument
            return getattr(lr_scheduler, name)(optimizer, 0.1, cycle_momentum=False, **kwargs)
        return getattr(lr_scheduler, name)(optimizer, **kwargs)

    with pytest.raises(ValueError):
        torch_lrs(make, 1, 0.1)
    with pytest.raises(ValueError, match=message):
        getattr(torch, name)(0.1, **kwargs)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        # negative factors: torch gives learning rates of alternating sign
        ("StepLR", (5, -0.5), "gamma must be >= 0, got -0.5"),
        ("ExponentialLR", (-0.5,), "gamma must be >= 0, got -0.5"),
        ("CosineAnnealingLR", (5, -0.1), "eta_min must be >= 0, got -0.1"),
        # lengths torch never reaches, or divides by zero at
        ("MultiStepLR", ([-1, 5],), "milestones must be >= 0, got -1"),
        ("ConstantLR", (0.5, -1), "total_iters must be >= 0, got -1"),
        ("PolynomialLR", (-2,), "total_iters must be >= 0, got -2"),
        ("PolynomialLR", (5, -1.0), "power must be >= 0, got -1.0"),
        ("CosineAnnealingLR", (0,), "T_max must be > 0, got 0"),
        ("StepLR", (0,), "step_size must be >= 1, got 0"),
        # fractional step counts: torch's recursive form follows neither formula nor docs
        ("StepLR", (2.5,), "step_size must be a whole number of steps, got 2.5"),
        ("MultiStepLR", ([2.5],), "milestones must be a whole number of steps, got 2.5"),
        ("LinearLR", (0.5, 1.0, 2.5), "total_iters must be a whole number of steps, got 2.5"),
        # empty phases
        ("OneCycleLR", (10, None, None, 0.0), r"pct_start must be in \(0, 1\), got 0.0"),
        ("CyclicLR", (0.1, 3, 0), "step_size_down must be > 0, got 0"),
    ],
)
def test_torch_differences_raise_naming_the_argument(name, args, message):
    with pytest.raises(ValueError, match=message):
        getattr(torch, name)(0.1, *args)


def test_torch_constant_lr_with_factor_zero_follows_torchs_closed_form():
    # torch divides by zero at step total_iters (its undo step is lr / factor); up to there
    # the two agree, and from there jaxlr gives torch's closed form, lr.
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.ConstantLR(o, 0.0, 5), 4, 0.1)  # the 5th step() divides
    ours = torch.ConstantLR(0.1, 0.0, 5)(jnp.arange(10))
    assert_parity(ours[:4], theirs)
    np.testing.assert_array_equal(np.asarray(ours[4:]), np.float32([0, 0.1, 0.1, 0.1, 0.1, 0.1]))
    with pytest.raises(ZeroDivisionError):
        torch_lrs(lambda o: lr_scheduler.ConstantLR(o, 0.0, 5), 5, 0.1)


def test_torch_sequential_lr_milestone_zero_and_bad_milestones():
    lr_scheduler = require("torch").optim.lr_scheduler
    theirs = torch_lrs(lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.ConstantLR(o, 0.5, 3), lr_scheduler.ExponentialLR(o, 0.9)], [0]), EDGE_STEPS, 0.1)
    ours = torch.SequentialLR([torch.ConstantLR(0.1, 0.5, 3), torch.ExponentialLR(0.1, 0.9)], [0])
    assert_parity(ours(jnp.arange(EDGE_STEPS)), theirs)
    with pytest.raises(ValueError, match="milestones must have one entry fewer than schedulers, got 2"):
        torch.SequentialLR([torch.ExponentialLR(0.1, 0.9)] * 2, [3, 5])
    with pytest.raises(ValueError, match=r"milestones must be strictly increasing, got \[5, 3\]"):
        torch.SequentialLR([torch.ExponentialLR(0.1, 0.9)] * 3, [5, 3])


KERAS_EDGES = [
    ("ExponentialDecay", (0.1, 5, 0.0), dict(staircase=True)),
    ("ExponentialDecay", (0.1, 5, 0.0), {}),
    ("ExponentialDecay", (0.1, 2.5, 0.5), dict(staircase=True)),
    ("ExponentialDecay", (0.1, 1, 1.0), {}),
    ("ExponentialDecay", (0.1, 7, 2.0), {}),
    ("InverseTimeDecay", (0.1, 5, 0.0), {}),
    ("InverseTimeDecay", (0.1, 1, 0.5), dict(staircase=True)),
    ("PiecewiseConstantDecay", ([0], [0.1, 0.05]), {}),
    ("PiecewiseConstantDecay", ([0, 1, 2], [0.1, 0.0, 0.05, 0.0]), {}),
    ("PolynomialDecay", (0.1, 5, 1e-4, 0.0), {}),
    ("PolynomialDecay", (0.1, 5, 0.2), {}),
    ("PolynomialDecay", (0.1, 1, 0.0, 1.0, True), {}),
    ("CosineDecay", (0.1, 1), {}),
    ("CosineDecay", (0.1, 5, 1.0), {}),
    ("CosineDecay", (0.1, 5, 1.5), {}),
    ("CosineDecay", (0.1, 5), dict(warmup_target=0.2, warmup_steps=0)),
    ("CosineDecay", (0.1, 5), dict(warmup_target=0.05, warmup_steps=2.5)),
    ("CosineDecay", (0.0, 5, 0.1, "named"), dict(warmup_target=0.2, warmup_steps=5)),
    ("CosineDecayRestarts", (0.1, 1), {}),
    ("CosineDecayRestarts", (0.1, 5, 1.0, 0.0), {}),
    ("CosineDecayRestarts", (0.1, 5, 2.0, 0.0, 0.5), {}),
    ("CosineDecayRestarts", (0.1, 3, 1.0, 0.5, 0.2), {}),
]


@pytest.mark.parametrize(("name", "args", "kwargs"), KERAS_EDGES,
                         ids=[f"{n}-{a}-{k}" for n, a, k in KERAS_EDGES])
def test_keras_edges(name, args, kwargs):
    theirs = keras_lrs(name, *args, steps=EDGE_STEPS, **kwargs)
    assert_parity(getattr(keras, name)(*args, **kwargs)(jnp.arange(EDGE_STEPS)), theirs)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [("ExponentialDecay", (0.1, 0, 0.5), "decay_steps must be > 0, got 0"),
     ("InverseTimeDecay", (0.1, -1, 0.5), "decay_steps must be > 0, got -1"),
     ("PolynomialDecay", (0.1, 0), "decay_steps must be > 0, got 0"),
     ("CosineDecay", (0.1, 0), "decay_steps must be > 0, got 0"),
     ("CosineDecayRestarts", (0.1, 0), "first_decay_steps must be > 0, got 0"),
     ("PiecewiseConstantDecay", ([5], [0.1]), "values must have one more entry than boundaries")],
)
def test_keras_limits_are_keras_limits(name, args, message):
    with pytest.raises(ValueError):
        keras_lrs(name, *args, steps=2)
    with pytest.raises(ValueError, match=message):
        getattr(keras, name)(*args)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [("ExponentialDecay", (0.1, 5, -0.5), "decay_rate must be >= 0, got -0.5"),
     ("PolynomialDecay", (0.1, 5, -0.01), "end_learning_rate must be >= 0, got -0.01"),
     ("PolynomialDecay", (0.1, 5, 0.0, -1.0), "power must be >= 0, got -1.0"),
     ("CosineDecay", (0.1, 5, -0.5), "alpha must be >= 0, got -0.5"),
     ("CosineDecayRestarts", (0.1, 5, 0.5), "t_mul must be >= 1, got 0.5"),
     ("PiecewiseConstantDecay", ([5, 3], [0.1, 0.05, 0.01]), "boundaries must be strictly increasing"),
     ("PiecewiseConstantDecay", ([-1], [0.1, 0.05]), "boundaries must be >= 0")],
)
def test_keras_differences_raise_naming_the_argument(name, args, message):
    with pytest.raises(ValueError, match=message):
        getattr(keras, name)(*args)


# --- Hugging Face: a warmup as long as training, or longer; no num_training_steps ----------

LR = 3e-4

HF_EDGES = [
    ("linear", 10, 10, {}), ("linear", 12, 10, {}), ("linear", 0, 0, {}), ("linear", 3, 0, {}), ("linear", 0, 1, {}),
    ("cosine", 10, 10, {}), ("cosine", 12, 10, {}), ("cosine", 0, 0, {}), ("cosine", 1, 1, {}),
    ("cosine", 10, 10, dict(num_cycles=1.5)), ("cosine", 5, 10, dict(num_cycles=0)),
    ("cosine", 0, 10, dict(num_cycles=1)),
    ("cosine_with_restarts", 10, 10, {}), ("cosine_with_restarts", 12, 10, dict(num_cycles=3)),
    ("cosine_with_restarts", 0, 0, {}), ("cosine_with_restarts", 5, 10, dict(num_cycles=0)),
    ("polynomial", 12, 10, {}), ("polynomial", 3, 0, dict(lr_end=1e-5, power=2.0)),
    ("polynomial", 5, 10, dict(power=0.0)), ("polynomial", 0, 1, {}),
    ("cosine_with_min_lr", 10, 10, dict(min_lr_rate=0.1)), ("cosine_with_min_lr", 0, 0, dict(min_lr=1e-5)),
    ("cosine_with_min_lr", 5, 10, dict(min_lr_rate=0.1, num_cycles=0)),
    ("constant_with_warmup", 0, None, {}), ("inverse_sqrt", 0, None, {}), ("inverse_sqrt", 3, None, dict(timescale=5)),
    ("constant", None, None, {}),
    ("warmup_stable_decay", 5, None, dict(num_decay_steps=5, num_stable_steps=4)),
    ("warmup_stable_decay", 0, None, dict(num_decay_steps=0, num_stable_steps=3)),
    ("warmup_stable_decay", 5, 10, dict(num_decay_steps=0)),
    ("warmup_stable_decay", 0, 0, dict(num_decay_steps=0, min_lr_ratio=0.1)),
    ("warmup_stable_decay", 5, 10, dict(num_decay_steps=5, decay_type="linear", num_cycles=2.0)),
    ("warmup_stable_decay", 4, 10, dict(num_decay_steps=6, warmup_type="1-sqrt", min_lr_ratio=0.2)),
]


@pytest.mark.parametrize(("name", "warmup", "total", "specific"), HF_EDGES,
                         ids=[f"{n}-W{w}-T{t}-{s}" for n, w, t, s in HF_EDGES])
def test_hf_edges_past_the_end_too(name, warmup, total, specific):
    transformers = require("transformers")
    theirs = torch_lrs(lambda o: transformers.get_scheduler(
        name, o, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=dict(specific)),
        EDGE_STEPS, LR)
    ours = hf.get_scheduler(name, LR, warmup, total, dict(specific))
    assert_parity(ours(jnp.arange(EDGE_STEPS)), theirs)


def test_hf_wsd_with_both_lengths_uses_num_stable_steps_and_warns():
    transformers = require("transformers")
    specific = dict(num_decay_steps=5, num_stable_steps=4)
    with pytest.warns(UserWarning, match="num_stable_steps will be used"):
        theirs = torch_lrs(lambda o: transformers.get_scheduler(
            "warmup_stable_decay", o, num_warmup_steps=3, num_training_steps=100, scheduler_specific_kwargs=specific),
            EDGE_STEPS, LR)
    with pytest.warns(UserWarning, match="num_stable_steps will be used"):
        ours = hf.get_scheduler("warmup_stable_decay", LR, 3, 100, specific)
    assert_parity(ours(jnp.arange(EDGE_STEPS)), theirs)


@pytest.mark.parametrize(
    ("name", "warmup", "total", "specific", "error", "message"),
    [
        ("linear", None, 10, {}, ValueError, "linear requires num_warmup_steps"),
        ("cosine", 5, None, {}, ValueError, "cosine requires num_training_steps"),
        ("warmup_stable_decay", 5, None, dict(num_decay_steps=5), ValueError, "num_training_steps or num_stable_steps"),
        ("cosine_with_min_lr", 5, 10, {}, ValueError, "needs min_lr or min_lr_rate"),
        ("cosine_with_min_lr", 5, 10, dict(min_lr=1e-5, min_lr_rate=0.1), ValueError, "one of min_lr and min_lr_rate"),
        ("polynomial", 5, 10, dict(lr_end=1e-3), ValueError, "lr_end must be < lr"),
        ("warmup_stable_decay", 5, 10, dict(num_decay_steps=5, warmup_type="cos"), ValueError,
         "warmup_type must be one of 'linear', 'cosine', '1-sqrt'"),
        ("cosine", 5, 10, dict(num_cycle=2), TypeError, "unexpected 'num_cycle'"),
        ("linear", 5, 10, dict(power=2.0), TypeError, "unexpected 'power'"),
    ],
)
def test_hf_raises_where_transformers_raises(name, warmup, total, specific, error, message):
    transformers = require("transformers")
    with pytest.raises(error):
        torch_lrs(lambda o: transformers.get_scheduler(
            name, o, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=dict(specific)),
            1, LR)
    with pytest.raises(error, match=message):
        hf.get_scheduler(name, LR, warmup, total, dict(specific))


def test_hf_polynomial_with_warmup_equal_to_training_raises_where_transformers_divides_by_zero():
    transformers = require("transformers")
    with pytest.raises(ZeroDivisionError):
        torch_lrs(lambda o: transformers.get_scheduler("polynomial", o, num_warmup_steps=10, num_training_steps=10),
                  11, LR)
    with pytest.raises(ValueError, match="polynomial needs num_training_steps != num_warmup_steps, got both 10"):
        hf.get_scheduler("polynomial", LR, 10, 10)


@pytest.mark.parametrize(
    ("name", "warmup", "total", "specific", "message"),
    [
        ("warmup_stable_decay", 5, 10, dict(num_decay_steps=6),
         r"num_warmup_steps \+ num_decay_steps must be <= num_training_steps, got 5 \+ 6 and 10"),
        ("warmup_stable_decay", 5, 10, dict(num_decay_steps=5, num_cycles=1.0), "only num_cycles=0.5"),
        ("cosine", -1, 10, {}, "num_warmup_steps must be >= 0, got -1"),
        ("cosine", 5, 10, dict(num_cycles=-0.5), "num_cycles must be >= 0, got -0.5"),
        ("cosine_annealing", 10, 100, {}, "name must be one of linear, cosine"),
    ],
)
def test_hf_differences_raise_naming_the_problem(name, warmup, total, specific, message):
    with pytest.raises(ValueError, match=message):
        hf.get_scheduler(name, LR, warmup, total, dict(specific))


def test_hf_kwargs_that_transformers_would_drop_are_refused():
    # transformers ignores scheduler_specific_kwargs for these two names; a typo there would
    # pass silently, so jaxlr refuses them.
    for name in ("constant", "constant_with_warmup"):
        with pytest.raises(TypeError, match=f"scheduler_specific_kwargs for '{name}' got unexpected 'num_cycles'"):
            hf.get_scheduler(name, LR, 10, 100, dict(num_cycles=2))


# --- static options: a string for a bool, a bool for a string, raise -----------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: torch.OneCycleLR(0.1, 100, three_phase="false"), "three_phase must be True or False, got 'false'"),
        (lambda: torch.OneCycleLR(0.1, 100, anneal_strategy=True), "anneal_strategy must be a string"),
        (lambda: torch.CyclicLR(0.01, 0.1, mode=1), "mode must be a string"),
        (lambda: keras.ExponentialDecay(0.1, 10, 0.5, staircase="false"), "staircase must be True or False"),
        (lambda: keras.InverseTimeDecay(0.1, 10, 0.5, staircase=1), "staircase must be True or False"),
        (lambda: keras.PolynomialDecay(0.1, 10, cycle="true"), "cycle must be True or False"),
        (lambda: keras.CosineDecay(0.1, 10, 0.0, 0.2), "name must be a string"),
        (lambda: hf.get_scheduler(1, LR, 10, 100), "name must be a string"),
        (lambda: hf.get_scheduler("warmup_stable_decay", LR, 5, 100, dict(num_decay_steps=5, decay_type=True)),
         "decay_type must be a string"),
        (lambda: hf.get_scheduler("linear", LR, 5, 100, [("power", 2.0)]), "scheduler_specific_kwargs must be a dict"),
    ],
)
def test_static_options_are_type_checked(build, message):
    with pytest.raises(TypeError, match=message):
        build()


def test_a_numpy_bool_is_a_bool():
    schedule = keras.ExponentialDecay(0.1, 10, 0.5, staircase=np.bool_(True))
    assert float(schedule(15)) == pytest.approx(0.05)


# --- issue 17: momentum in the same call, the new names, their limits -----------------------


def test_torch_one_cycle_and_cyclic_carry_their_momentum():
    s = torch.OneCycleLR(0.1, total_steps=100)
    assert isinstance(s, jaxlr.with_momentum)
    assert s.schedule == jaxlr.one_cycle(0.1, 100) and s.momentum == jaxlr.one_cycle_momentum(100)
    assert float(s(29)) == pytest.approx(0.1) and float(s.momentum(29)) == pytest.approx(0.85)
    assert torch.OneCycleLR(0.1, total_steps=100, cycle_momentum=False) == jaxlr.one_cycle(0.1, 100)
    c = torch.CyclicLR(0.01, 0.1, 10)
    assert c.momentum == jaxlr.cyclic_momentum(0.8, 0.9, 10)
    assert torch.CyclicLR(0.01, 0.1, 10, cycle_momentum=False) == jaxlr.cyclic(0.01, 0.1, 10)
    # a with_momentum is a schedule like any: config, repr, optax
    assert jaxlr.from_config(s.to_config()) == s and eval(repr(s), vars(jaxlr)) == s
    opt = optax.inject_hyperparams(optax.sgd)(learning_rate=s, momentum=s.momentum)
    state = opt.init(jnp.zeros(1))
    _, state = opt.update(jnp.ones(1), state)
    assert float(jaxlr.current_hyperparam(state, "momentum")) == pytest.approx(0.95)


def test_torch_arguments_in_torchs_positional_order():
    by_position = torch.OneCycleLR(0.1, 100, None, None, 0.25, "linear", True, 0.8, 0.9, 10.0, 100.0, True)
    assert by_position == jaxlr.with_momentum(jaxlr.one_cycle(0.1, 100, 0.25, "linear", 10.0, 100.0, True),
                                              jaxlr.one_cycle_momentum(100, 0.8, 0.9, 0.25, "linear", True))
    fn = lambda x: 0.5**x  # noqa: E731
    cyclic = torch.CyclicLR(0.01, 0.1, 5, 7, "triangular", 1.0, fn, "iterations", False)
    assert cyclic.params == dict(start=0.01, peak=0.1, step_size_up=5, step_size_down=7)


def test_torch_cyclic_scale_fn_schedules_compare_equal_and_share_a_program():
    fn = lambda cycle: 1.0 / cycle  # noqa: E731
    a, b = torch.CyclicLR(0.01, 0.1, 5, scale_fn=fn), torch.CyclicLR(0.01, 0.1, 5, scale_fn=fn)
    assert a == b and hash(a) == hash(b)
    assert repr(a.schedule).startswith("from_fn(CyclicLR.scale_fn(")
    assert "<lambda>, scale_mode='cycle'), start=0.01" in repr(a)
    traces = []

    @jax.jit
    def rate(schedule, step):
        traces.append(1)
        return schedule(step)

    rate(a, 3), rate(b, 3), rate(torch.CyclicLR(0.02, 0.2, 5, scale_fn=fn), 3)
    assert len(traces) == 1


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: torch.OneCycleLR(0.1, 100, max_momentum=1.5), ValueError,
         r"max_momentum must be in \[0, 1\], got 1.5"),
        (lambda: torch.OneCycleLR(0.1, 100, cycle_momentum="no"), TypeError, "cycle_momentum must be True or False"),
        (lambda: torch.CyclicLR(0.01, 0.1, base_momentum=-0.1), ValueError, r"base_momentum must be in \[0, 1\]"),
        (lambda: torch.CyclicLR(0.01, 0.1, scale_fn=0.5), ValueError, "scale_fn must be a schedule"),
        (lambda: torch.CyclicLR(0.01, 0.1, scale_fn=abs, scale_mode="steps"), ValueError,
         "scale_mode must be one of 'cycle', 'iterations'"),
        (lambda: torch.MultiplicativeLR(0.1, 0.95), TypeError, "lr_lambda must be a function of the epoch"),
        (lambda: torch.MultiplicativeLR(0.1, lambda e: 0.9 if e < 5 else 0.5), ValueError,
         "MultiplicativeLR needs total_steps"),
        (lambda: torch.MultiplicativeLR(0.1, lambda e: 1.0 - 0.2 * e, total_steps=10), ValueError,
         r"lr_lambda\(6\) must be >= 0"),
        (lambda: torch.MultiplicativeLR(0.1, lambda e: 0.5 * (e % 2), total_steps=2.5), ValueError,
         "total_steps must be a whole number of steps"),
        (lambda: torch.SWALR(0.1, 0.05, anneal_epochs=-1), ValueError, "anneal_epochs must be >= 0, got -1"),
        (lambda: torch.SWALR(0.1, 0.05, anneal_epochs=2.5), ValueError, "anneal_epochs must be a whole number"),
        (lambda: torch.SWALR(0.1, 0.05, anneal_strategy="cosine"), ValueError, "anneal_strategy must be one of"),
        (lambda: torch.SWALR(0.1, -0.05), ValueError, "swa_lr must be >= 0, got -0.05"),
        (lambda: torch.ChainedScheduler([], 0.1), TypeError, "schedulers must be a non-empty list"),
        (lambda: torch.ChainedScheduler([torch.StepLR(0.1, 5), 0.5], 0.1), ValueError,
         "schedulers must be a schedule"),
        (lambda: torch.ChainedScheduler([torch.StepLR(0.1, 5)], 0.0), ValueError, "lr must be > 0, got 0.0"),
        (lambda: torch.ReduceLROnPlateau(0.1, factor=1.0), ValueError, r"factor must be in \(0, 1\), got 1.0"),
        (lambda: torch.ReduceLROnPlateau(0.1, mode="minimum"), ValueError, "mode must be one of 'min', 'max'"),
        (lambda: hf.get_scheduler("greedy", LR, scheduler_specific_kwargs=dict(factor=1.5)), ValueError,
         r"factor must be in \(0, 1\), got 1.5"),
        (lambda: hf.get_scheduler("greedy", LR, scheduler_specific_kwargs=dict(window=5)), TypeError,
         "unexpected 'window'"),
        (lambda: hf.get_scheduler("reduce_lr_on_plateau", LR, scheduler_specific_kwargs=dict(patience=-1)),
         ValueError, "patience must be >= 0, got -1"),
        (lambda: hf.get_scheduler("cosine_warmup_with_min_lr", LR, 10, 100, dict(min_lr_rate=0.1,
                                                                                warmup_lr_rate=-0.5)),
         ValueError, "warmup_lr_rate must be >= 0, got -0.5"),
        (lambda: hf.get_scheduler("cosine_warmup_with_min_lr", LR, 10, 100), ValueError,
         "needs min_lr or min_lr_rate"),
    ],
)
def test_new_names_raise_naming_the_argument(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_torch_raises_where_these_raise():
    # the limits kept from torch: a non-callable lr_lambda, negative anneal_epochs, a bad
    # strategy, factor >= 1, an unknown mode
    torch_module = require("torch")
    lr_scheduler, swa_utils = torch_module.optim.lr_scheduler, torch_module.optim.swa_utils
    for make in (lambda o: lr_scheduler.MultiplicativeLR(o, 0.95), lambda o: swa_utils.SWALR(o, 0.05, -1),
                 lambda o: swa_utils.SWALR(o, 0.05, 10, "cosine"),
                 lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0),
                 lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="minimum")):
        with pytest.raises((TypeError, ValueError)):
            torch_lrs(make, 1, 0.1)


def test_reduce_lr_on_plateau_by_its_torch_name_at_a_small_rate():
    # torch's eps and min_lr are in rate units: at lr=1e-3 its cuts stop where torch's do.
    cuts = 0
    for name, values in sequences().items():
        config = dict(factor=0.3, patience=1, cooldown=2, min_lr=2e-7, eps=1e-7)
        if name == "negative_abs":
            config["threshold_mode"] = "abs"
        theirs = torch_scales(values, base_lr=1e-3, **config) * 1e-3
        optimizer = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=1e-3),
                                torch.ReduceLROnPlateau(1e-3, **config))
        state, ours = optimizer.init(jnp.zeros(1)), []
        for v in np.asarray(values, np.float32):
            _, state = optimizer.update(jnp.ones(1), state, jnp.zeros(1), value=v)
            ours.append(float(jaxlr.current_lr(state)))
        cuts += np.sum(np.diff(theirs) < 0)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, err_msg=name)
    assert cuts >= 10  # cuts happen, and stop at min_lr or eps


def test_porting_guide_python_blocks_run_as_written(capsys):
    text = (Path(__file__).resolve().parent.parent / "docs" / "porting.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    assert len(blocks) == 2
    namespace: dict = {}
    exec(compile(textwrap.dedent(blocks[0]), "porting.md", "exec"), namespace)
    assert capsys.readouterr().out.splitlines() == ["0.1 0.85"]
    exec(compile(textwrap.dedent(blocks[1]), "porting.md", "exec"), namespace)
    by_epoch = namespace["by_epoch"]
    np.testing.assert_allclose([float(by_epoch(t)) for t in (0, 161, 171, 181, 299)],
                               [0.1, 0.1 * 0.9**161, 0.1 * 0.9**161 / 2 + 0.025, 0.05, 0.05], rtol=1e-5)


def test_current_hyperparam_through_chain_and_groups_and_its_errors():
    momentum = jaxlr.cyclic_momentum(0.8, 0.9, 4)
    sgd = optax.inject_hyperparams(optax.sgd)
    groups = optax.multi_transform(
        {"a": optax.chain(sgd(learning_rate=0.1, momentum=momentum), jaxlr.reduce_on_plateau(patience=0)),
         "b": optax.inject_hyperparams(optax.adam)(learning_rate=0.2, b1=jaxlr.one_cycle_momentum(10))},
        {"x": "a", "y": "b"})
    params = {"x": jnp.zeros(1), "y": jnp.zeros(1)}
    state = groups.init(params)
    for loss in (1.0, 2.0, 3.0):
        _, state = groups.update(params, state, params, value=loss)
    assert float(jaxlr.current_hyperparam(state, "momentum")) == pytest.approx(float(momentum(2)))  # not scaled
    assert float(jaxlr.current_hyperparam(state, "b1")) == pytest.approx(float(jaxlr.one_cycle_momentum(10)(2)))
    np.testing.assert_allclose(jaxlr.current_hyperparam(state, "learning_rate"), jaxlr.current_lr(state))
    np.testing.assert_allclose(jaxlr.current_hyperparam(state, "eps"), 1e-8)
    static_b2 = optax.inject_hyperparams(optax.adam, static_args=("b2",))(learning_rate=0.1, b2=0.99)
    with pytest.raises(ValueError, match=r"no injected hyperparameter 'b2' .*\(injected: b1, eps, eps_root, learning"):
        jaxlr.current_hyperparam(static_b2.init(jnp.zeros(1)), "b2")
    with pytest.raises(TypeError, match="name must be a string"):
        jaxlr.current_hyperparam(state, 1)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [(dict(base_lr=0.0), ValueError, "base_lr must be > 0, got 0.0"),
     (dict(base_lr=0.1, factor=1.0), ValueError, r"factor must be in \(0, 1\), got 1.0"),
     (dict(base_lr=0.1, window_size=0), ValueError, "window_size must be a whole number >= 1, got 0"),
     (dict(base_lr=0.1, smooth="yes"), TypeError, "smooth must be True or False"),
     (dict(base_lr=0.1, threshold_mode="relative"), ValueError, "threshold_mode must be one of 'rel', 'abs'"),
     (dict(base_lr=0.1, max_lr=0.0), ValueError, "max_lr must be > 0, got 0.0"),
     (dict(base_lr=0.1, warmup=-1), ValueError, "warmup must be >= 0, got -1")],
)
def test_greedy_lr_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        jaxlr.greedy_lr(**kwargs)


def test_greedy_lr_ignores_nan_scales_updates_and_checkpoints():
    rule = jaxlr.greedy_lr(base_lr=0.1, factor=0.5, patience=0, min_lr=0.0, max_lr=1.0)
    state = rule.init(None)
    updates, state = rule.update(jnp.ones(2), state, value=1.0)  # improves: raised at once (patience 0)
    np.testing.assert_allclose(updates, [2.0, 2.0])
    before = state
    _, state = rule.update(jnp.ones(2), state, value=jnp.nan)
    assert all(bool(jnp.all(a == b)) for a, b in zip(before, state, strict=True))
    step = jax.jit(lambda s, v: rule.update(jnp.ones(2), s, value=v)[1])
    restored = jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), state)  # through host memory, as a checkpoint
    for v in (2.0, 2.0, 0.5):
        state, restored = step(state, v), step(restored, v)
    assert float(state.lr) == float(restored.lr) == pytest.approx(0.1)  # two stalls halved it twice, then raised
