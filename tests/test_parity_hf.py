"""Parity with Hugging Face transformers' schedules (LambdaLR factors on a torch optimizer)."""

from __future__ import annotations

import jax.numpy as jnp
import pytest

import jaxlr
from tests.peers import assert_parity, require, torch_lrs

LR = 3e-4


def hf(name, n, **kwargs):
    transformers = require("transformers")
    return torch_lrs(lambda o: getattr(transformers, name)(o, **kwargs), n, LR)


@pytest.mark.parametrize(("warmup", "total"), [(0, 1000), (100, 1000), (1, 2), (500, 3000), (999, 1000)])
def test_linear_schedule_with_warmup(warmup, total):
    theirs = hf("get_linear_schedule_with_warmup", total + 500, num_warmup_steps=warmup, num_training_steps=total)
    ours = jaxlr.warmup_linear(LR, warmup, total)
    assert_parity(ours(jnp.arange(total + 500)), theirs)


@pytest.mark.parametrize(("warmup", "total"), [(0, 1000), (100, 1000), (500, 3000)])
def test_cosine_schedule_with_warmup_up_to_the_end(warmup, total):
    # HF's cosine is not clamped: past num_training_steps it rises again. Up to the end
    # the two agree; after it jaxlr holds end_value (see the README's conventions).
    theirs = hf("get_cosine_schedule_with_warmup", total + 1, num_warmup_steps=warmup, num_training_steps=total)
    ours = jaxlr.warmup_cosine(LR, warmup, total)
    assert_parity(ours(jnp.arange(total + 1)), theirs)


def test_cosine_schedule_after_the_end_matches_periodic_recipe():
    warmup, total, n = 100, 1000, 3000
    theirs = hf("get_cosine_schedule_with_warmup", n, num_warmup_steps=warmup, num_training_steps=total)
    recipe = jaxlr.warmup_then(jaxlr.cosine_decay(LR, total - warmup, periodic=True), warmup)
    assert_parity(recipe(jnp.arange(n)), theirs)


@pytest.mark.parametrize("warmup", [0, 10, 400])
def test_constant_schedule_with_warmup(warmup):
    theirs = hf("get_constant_schedule_with_warmup", 2000, num_warmup_steps=warmup)
    assert_parity(jaxlr.linear_warmup(LR, warmup)(jnp.arange(2000)), theirs)


@pytest.mark.parametrize(("warmup", "timescale"), [(0, None), (100, None), (100, 1000), (4000, None)])
def test_inverse_sqrt_schedule(warmup, timescale):
    theirs = hf("get_inverse_sqrt_schedule", 5000, num_warmup_steps=warmup, timescale=timescale)
    assert_parity(jaxlr.inverse_sqrt_decay(LR, warmup, timescale)(jnp.arange(5000)), theirs)


@pytest.mark.parametrize(("warmup", "total", "end", "power"), [(100, 1000, 1e-7, 1.0), (0, 2000, 1e-5, 2.0)])
def test_polynomial_decay_schedule_with_warmup(warmup, total, end, power):
    theirs = hf("get_polynomial_decay_schedule_with_warmup", total + 500, num_warmup_steps=warmup,
                num_training_steps=total, lr_end=end, power=power)
    ours = jaxlr.warmup_then(jaxlr.polynomial(LR, end, total - warmup, power), warmup)
    assert_parity(ours(jnp.arange(total + 500)), theirs)


def hf_scheduler(name, n, warmup, total, **specific):
    transformers = require("transformers")
    return torch_lrs(lambda o: transformers.get_scheduler(
        name, o, num_warmup_steps=warmup, num_training_steps=total, scheduler_specific_kwargs=specific), n, LR)


@pytest.mark.parametrize(("warmup", "total", "cycles"), [(100, 1000, 3), (0, 2000, 1), (50, 3000, 5)])
def test_cosine_with_restarts(warmup, total, cycles):
    theirs = hf_scheduler("cosine_with_restarts", total + 300, warmup, total, num_cycles=cycles)
    ours = jaxlr.warmup_then(jaxlr.cosine_restarts(LR, (total - warmup) / cycles, cycles=cycles), warmup)
    assert_parity(ours(jnp.arange(total + 300)), theirs)


@pytest.mark.parametrize(
    ("warmup", "decay", "total", "warmup_type", "decay_type", "ratio"),
    [(100, 300, 1000, "linear", "cosine", 0.0), (50, 500, 2000, "cosine", "1-sqrt", 0.1),
     (0, 1000, 1000, "linear", "linear", 0.0), (200, 200, 3000, "1-sqrt", "linear", 0.05)],
)
def test_warmup_stable_decay(warmup, decay, total, warmup_type, decay_type, ratio):
    theirs = hf_scheduler("warmup_stable_decay", total + 300, warmup, total, num_decay_steps=decay,
                          warmup_type=warmup_type, decay_type=decay_type, min_lr_ratio=ratio)
    ours = jaxlr.wsd(LR, total, warmup, decay, init_value=ratio * LR, end_value=ratio * LR,
                     decay_shape=decay_type, warmup_shape=warmup_type)
    assert_parity(ours(jnp.arange(total + 300)), theirs)


@pytest.mark.parametrize(
    ("name", "ours"),
    [
        ("linear", lambda w, t: jaxlr.warmup_linear(LR, w, t)),
        ("cosine", lambda w, t: jaxlr.warmup_cosine(LR, w, t)),
        ("polynomial", lambda w, t: jaxlr.warmup_then(jaxlr.polynomial(LR, 1e-7, t - w), w)),
        ("constant_with_warmup", lambda w, t: jaxlr.linear_warmup(LR, w)),
        ("inverse_sqrt", lambda w, t: jaxlr.inverse_sqrt_decay(LR, w)),
    ],
)
def test_get_scheduler_names(name, ours):
    warmup, total = 100, 1500
    theirs = hf_scheduler(name, total + 1, warmup, total)
    assert_parity(ours(warmup, total)(jnp.arange(total + 1)), theirs)


def test_linear_to_zero_is_warmup_linear():
    # Bergsma et al. 2025 ("straight to zero"): linear decay to zero after warmup.
    schedule = jaxlr.warmup_linear(LR, 100, 2000)
    values = schedule(jnp.arange(2001))
    assert float(values[2000]) == 0.0 and float(values[100]) == pytest.approx(LR)
    assert_parity(values, hf("get_linear_schedule_with_warmup", 2001, num_warmup_steps=100, num_training_steps=2000))
