"""Parity with Hugging Face transformers' schedules (LambdaLR factors on a torch optimizer)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxlr
from jaxlr.compat import hf as compat_hf
from tests.peers import assert_parity, require, torch_lrs
from tests.profiles import examples

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


# --- issue 17: the names transformers 5 has that were missing ---------------------------


@pytest.mark.parametrize(
    ("warmup", "total", "specific"),
    [(100, 1000, dict(min_lr_rate=0.1)), (0, 1000, dict(min_lr_rate=0.05)), (1, 500, dict(min_lr=1e-5)),
     (2, 500, dict(min_lr_rate=0.1, num_cycles=1.0)), (100, 1000, dict(min_lr_rate=0.1, warmup_lr_rate=0.2)),
     (1, 400, dict(min_lr_rate=0.0, warmup_lr_rate=0.3)), (0, 600, dict(min_lr_rate=0.2, warmup_lr_rate=0.5)),
     (300, 300, dict(min_lr_rate=0.1)), (320, 300, dict(min_lr_rate=0.1, warmup_lr_rate=0.0)),
     (50, 400, dict(min_lr_rate=0.1, num_cycles=0))],
    ids=str,
)
def test_cosine_warmup_with_min_lr_is_cosine_with_min_lr_one_step_ahead(warmup, total, specific):
    n = total + 500
    theirs = hf_scheduler("cosine_warmup_with_min_lr", n, warmup, total, **specific)
    ours = compat_hf.get_scheduler("cosine_warmup_with_min_lr", LR, warmup, total, dict(specific))
    assert_parity(ours(jnp.arange(n)), theirs)
    if "warmup_lr_rate" not in specific:
        same = compat_hf.get_scheduler("cosine_with_min_lr", LR, warmup, total, dict(specific))
        assert ours == jaxlr.shift(same, -1)


@settings(max_examples=examples(25))
@given(warmup=st.integers(0, 300), total=st.integers(0, 600), floor=st.just(0.0) | st.floats(1e-6, 1.0),
       cycles=st.sampled_from([0.5, 1.0, 2.0]), warmup_rate=st.none() | st.just(0.0) | st.floats(1e-6, 1.0))
def test_unseen_cosine_warmup_with_min_lr_configurations(warmup, total, floor, cycles, warmup_rate):
    # Periods of whole or half steps: a third of a step is rounded in float32, and the
    # phase of a periodic cosine then drifts by a few ulps per period (documented).
    specific = dict(min_lr_rate=floor, num_cycles=cycles)
    if warmup_rate is not None:
        specific["warmup_lr_rate"] = warmup_rate
    theirs = hf_scheduler("cosine_warmup_with_min_lr", 800, warmup, total, **specific)
    ours = compat_hf.get_scheduler("cosine_warmup_with_min_lr", LR, warmup, total, dict(specific))
    assert_parity(ours(jnp.arange(800)), theirs, scale=LR)


def hf_adaptive(name, values, **specific):
    """The learning rate after each value fed to transformers' scheduler (step(metric))."""
    transformers, torch = require("transformers"), require("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=LR)
    scheduler = transformers.get_scheduler(name, optimizer, scheduler_specific_kwargs=specific)
    out = []
    for v in np.asarray(values, np.float32):  # the float32 values jaxlr sees
        scheduler.step(float(v))
        out.append(optimizer.param_groups[0]["lr"])
    return np.array(out)


def jaxlr_adaptive(name, values, **specific):
    """The rate jaxlr's transformation gives after each value, read back with current_lr."""
    optimizer = optax.chain(optax.inject_hyperparams(optax.sgd)(learning_rate=LR),
                            compat_hf.get_scheduler(name, LR, scheduler_specific_kwargs=specific))
    params = jnp.zeros(1)

    def step(state, v):
        _, state = optimizer.update(jnp.ones(1), state, params, value=v)
        return state, jaxlr.current_lr(state)

    _, rates = jax.lax.scan(step, optimizer.init(params), jnp.asarray(values, jnp.float32))
    return np.asarray(rates, np.float64)


def greedy_sequences():
    rng = np.random.default_rng(17)
    return {
        "walk": 20.0 + np.cumsum(rng.normal(0, 0.3, 400)),  # positive: the relative test differs below 0
        "decay": np.exp(-np.arange(400) / 80) + rng.normal(0, 0.01, 400) + 1.0,
        "steps": 1.0 + np.repeat(rng.normal(size=40), 10) ** 2,  # plateaus of 10 equal values
        "down_then_up": np.concatenate([np.linspace(3, 1, 150), np.linspace(1, 4, 250)]),
    }


GREEDY_CONFIGS = [
    dict(),
    dict(factor=0.5, patience=2, min_lr=1e-5, max_lr=1e-3),
    dict(factor=0.8, patience=1, cooldown=3, warmup=2, min_lr=1e-4, max_lr=2e-3, reset_start=3),
    dict(factor=0.9, patience=0, threshold=1e-3, threshold_mode="rel", min_lr=1e-4),
    dict(factor=0.7, patience=3, mode="max", min_lr=5e-5, reset_start=2),
    dict(factor=0.9, patience=2, smooth=True, window_size=7, threshold=1e-3, min_lr=1e-5, max_lr=1e-3),
    dict(patience=1, eps=1e-4, min_lr=1e-4, verbose=True),
]


@pytest.mark.parametrize("name", sorted(greedy_sequences()))
@pytest.mark.parametrize("config", GREEDY_CONFIGS, ids=str)
def test_greedy_matches_transformers(name, config, capsys):
    values = greedy_sequences()[name]
    theirs = hf_adaptive("greedy", values, **config)
    capsys.readouterr()  # verbose=True prints in transformers, and nothing here
    ours = jaxlr_adaptive("greedy", values, **config)
    assert capsys.readouterr().out == ""
    # The rate is kept in float32: each change rounds once more than HF's float64 (< 1e-5 here).
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)


def test_greedy_sequences_raise_cut_and_reset():
    # Parity where nothing happens would prove nothing: the sequences raise and lower the
    # rate, and one run at min_lr restarts from the base rate.
    changes = {name: np.diff(hf_adaptive("greedy", v, factor=0.8, patience=1, cooldown=3, warmup=2, min_lr=1e-4,
                                         max_lr=2e-3, reset_start=3))
               for name, v in greedy_sequences().items()}
    assert all(np.any(d > 0) and np.any(d < 0) for d in changes.values()), changes
    assert any(np.any(np.isclose(d, LR - 1e-4)) for d in changes.values())  # a reset, from min_lr to LR


@settings(max_examples=examples(30))
@given(
    values=st.lists(st.floats(0.5, 2.0, width=32), min_size=1, max_size=120),
    factor=st.floats(0.3, 0.99), patience=st.integers(0, 4), threshold=st.sampled_from([0.0, 1e-3, 0.05]),
    threshold_mode=st.sampled_from(["abs", "rel"]), mode=st.sampled_from(["min", "max"]),
    cooldown=st.integers(0, 3), warmup=st.integers(0, 3), min_lr=st.sampled_from([0.0, 1e-5, 1e-4]),
    max_lr=st.sampled_from([5e-4, 1e-3]), reset_start=st.integers(1, 5),
)
def test_unseen_greedy_configurations(values, factor, patience, threshold, threshold_mode, mode, cooldown, warmup,
                                      min_lr, max_lr, reset_start):
    config = dict(factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode, mode=mode,
                  cooldown=cooldown, warmup=warmup, min_lr=min_lr, max_lr=max_lr, reset_start=reset_start)
    np.testing.assert_allclose(jaxlr_adaptive("greedy", values, **config), hf_adaptive("greedy", values, **config),
                               rtol=1e-5)


@pytest.mark.parametrize(
    "config",
    [dict(), dict(factor=0.5, patience=2, cooldown=3), dict(patience=1, min_lr=1e-5, threshold_mode="abs",
                                                            threshold=0.01), dict(mode="max", patience=3)],
    ids=str,
)
def test_reduce_lr_on_plateau_by_its_hf_name(config):
    values = greedy_sequences()["walk"]
    np.testing.assert_allclose(jaxlr_adaptive("reduce_lr_on_plateau", values, **config),
                               hf_adaptive("reduce_lr_on_plateau", values, **config), rtol=1e-6)
