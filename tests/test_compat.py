"""jaxlr.compat: the peers' names and arguments, equal to the live peers at every step."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

from jaxlr.compat import hf, keras, torch
from tests.peers import assert_parity, keras_lrs, require, torch_lrs

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
