"""jaxlr.lr_find: the range test against the formulas it states, a float64 reference of SGD on a
quadratic (whose divergence threshold 2/h is known), pytorch-lr-finder run live, a plain optax
loop over a Flax NNX model, and every argument's error."""

from __future__ import annotations

import math
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlr
from jaxlr.finder import LRFinderResult

H = 4.0  # curvature: plain SGD on h/2 (w - b)^2 diverges for lr > 2/h = 0.5
DIM = 3
OFFSET = 0.1  # keeps the loss away from 0, as a real loss's noise floor does
STEPS = 100  # most tests share this length and LOSS, and so one compiled program


def targets(steps: int, seed: int = 0, noise: float = 0.1) -> np.ndarray:
    """One target b per step: the batches of the quadratic."""
    return np.asarray(1.0 + noise * jax.random.normal(jax.random.key(seed), (steps, DIM)), np.float32)


def quadratic(h: float = H):
    def loss_fn(w, b):
        return 0.5 * h * jnp.sum((w - b) ** 2) + OFFSET

    return loss_fn


LOSS = quadratic()


def reference(batches: np.ndarray, h: float, min_lr: float, max_lr: float, num_steps: int, beta: float = 0.98,
              factor: float | None = 4.0, w0: np.ndarray | None = None) -> dict:
    """The range test written out in float64: SGD w <- w - lr(t) h (w - b_t) on the quadratic."""
    w = np.zeros(DIM) if w0 is None else np.asarray(w0, np.float64)
    average, best, out = 0.0, math.inf, {"lr": [], "loss": [], "smoothed": [], "ratio": []}
    for t in range(num_steps):
        lr = min_lr * (max_lr / min_lr) ** (t / (num_steps - 1))
        b = batches[t].astype(np.float64)
        loss = 0.5 * h * np.sum((w - b) ** 2) + OFFSET
        average = beta * average + (1 - beta) * loss
        smoothed = average / (1 - beta ** (t + 1))
        best = min(best, smoothed)
        for name, value in (("lr", lr), ("loss", loss), ("smoothed", smoothed), ("ratio", smoothed / best)):
            out[name].append(value)
        if factor is not None and smoothed > factor * best:
            return {**{k: np.asarray(v) for k, v in out.items()}, "divergence": t}
        w = w - lr * h * (w - b)
    return {**{k: np.asarray(v) for k, v in out.items()}, "divergence": None}


# ----------------------------------------------------------------------------- the ramp and the smoothing


def test_the_ramp_is_exponential_from_min_lr_to_max_lr():
    result = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, targets(STEPS), min_lr=1e-6, max_lr=1e-2)
    expected = 1e-6 * (1e-2 / 1e-6) ** (np.arange(STEPS) / (STEPS - 1))
    assert result.divergence_step is None and len(result.learning_rates) == STEPS
    np.testing.assert_allclose(result.learning_rates, expected, rtol=2e-6)
    assert result.learning_rates[0] == np.float32(1e-6) and result.learning_rates[-1] == np.float32(1e-2)


def test_smoothed_losses_are_the_bias_corrected_moving_average_of_the_losses():
    for beta in (0.98, 0.7, 0.0):
        result = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, targets(STEPS), min_lr=1e-3, max_lr=0.3,
                               smoothing=beta)
        average, expected = 0.0, []
        for t, loss in enumerate(result.losses):
            average = beta * average + (1 - beta) * loss
            expected.append(average / (1 - beta ** (t + 1)))
        np.testing.assert_allclose(result.smoothed_losses, expected, rtol=2e-6)
    np.testing.assert_array_equal(result.smoothed_losses, result.losses)  # beta = 0: no smoothing


# ----------------------------------------------------------------------------- the quadratic: divergence at 2/h


@pytest.mark.parametrize("h", [0.5, 4.0, 40.0])
def test_on_a_quadratic_it_finds_the_divergence_just_above_two_over_h_and_suggests_below(h):
    num_steps, min_lr, max_lr = 100, 1e-4 / h, 40.0 / h
    batches = targets(num_steps)
    result = jaxlr.lr_find(quadratic(h), jnp.zeros(DIM), optax.sgd, batches, min_lr=min_lr, max_lr=max_lr)
    ref = reference(batches, h, min_lr, max_lr, num_steps)
    d = ref["divergence"]
    # The reference's decision is not a float-rounding call: far from the threshold either side.
    assert ref["ratio"][d] > 4.0 * 1.05 and ref["ratio"][d - 1] < 4.0 / 1.05
    assert result.divergence_step == d and len(result.losses) == d + 1
    np.testing.assert_allclose(result.losses, ref["loss"], rtol=1e-4)
    np.testing.assert_allclose(result.smoothed_losses, ref["smoothed"], rtol=1e-4)
    # SGD is stable up to 2/h; the smoothed loss catches the blow-up within a few ramp steps of it.
    ramp_step = (max_lr / min_lr) ** (1 / (num_steps - 1))
    threshold = 2 / h
    assert threshold < result.divergence_lr < threshold * ramp_step**8
    for rule, lr in result.suggestions.items():
        assert lr < threshold, rule
    assert result.suggestion == result.suggestions["steepest"]  # the default rule
    # Scale-free in the curvature: every lr scales as 1/h.
    np.testing.assert_allclose(result.learning_rates * h, np.geomspace(1e-4, 40.0, num_steps)[: d + 1], rtol=2e-6)


def test_the_masked_stop_leaves_the_curve_finite():
    # Up to lr = 1e4 on a curvature of 4, the unstopped loss would overflow to inf and NaN.
    kwargs = {"min_lr": 1e-3, "max_lr": 1e4, "num_steps": 150}
    batches = targets(150)
    stopped = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, batches, **kwargs)
    only_nonfinite = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, batches, diverge_factor=None, **kwargs)
    for result in (stopped, only_nonfinite):
        for curve in (result.learning_rates, result.losses, result.smoothed_losses, result.repeat_losses):
            assert np.all(np.isfinite(curve))
    assert len(stopped.losses) == stopped.divergence_step + 1 < 150
    # Without the factor the test runs on until the loss overflows: that step is not recorded.
    d = only_nonfinite.divergence_step
    assert stopped.divergence_step < d == len(only_nonfinite.losses) < 150
    assert only_nonfinite.losses[-1] > 1e30 and only_nonfinite.divergence_lr > 0.5
    # The stop changes nothing before it.
    n = len(stopped.losses)
    np.testing.assert_array_equal(stopped.losses, only_nonfinite.losses[:n])


def test_a_nan_loss_stops_the_test_and_is_not_recorded():
    def loss_fn(w, b):  # NaN once w passes 1.5: log of a negative number
        return 0.5 * H * jnp.sum((w - b) ** 2) + OFFSET + 0.0 * jnp.log(1.5 - w[0])

    result = jaxlr.lr_find(loss_fn, jnp.zeros(DIM), optax.sgd, targets(100, noise=0.0) * 2, min_lr=1e-4,
                           max_lr=0.2, diverge_factor=None)
    assert result.divergence_step == len(result.losses) and np.all(np.isfinite(result.losses))


# ----------------------------------------------------------------------------- repeats


def init_params(key):
    return jax.random.normal(key, (DIM,))


def test_repeats_in_one_program_equal_the_same_runs_one_by_one():
    keys = jax.random.split(jax.random.key(7), 3)
    batches = targets(120, seed=3)
    kwargs = {"min_lr": 1e-4, "max_lr": 10.0, "num_steps": 100}
    together = jaxlr.lr_find(LOSS, init_params, optax.sgd, batches, key=keys, **kwargs)
    alone = [jaxlr.lr_find(LOSS, init_params, optax.sgd, batches, key=k, shuffle=True, **kwargs)
             for k in keys]
    n = len(together.losses)
    assert together.repeat_divergence_steps == tuple(r.divergence_step for r in alone)
    assert together.divergence_step == min(r.divergence_step for r in alone)
    assert n == min(len(r.losses) for r in alone)
    for i, run in enumerate(alone):
        np.testing.assert_allclose(together.repeat_losses[i], run.losses[:n], rtol=1e-6)
        np.testing.assert_allclose(together.repeat_smoothed_losses[i], run.smoothed_losses[:n], rtol=1e-6)
    np.testing.assert_allclose(together.losses, np.mean([r.losses[:n] for r in alone], axis=0), rtol=1e-6)
    # The runs differ (own data order and start), and num_repeats splits the key the same way.
    assert not np.allclose(together.repeat_losses[0], together.repeat_losses[1])
    by_count = jaxlr.lr_find(LOSS, init_params, optax.sgd, batches, key=jax.random.key(7), num_repeats=3,
                             **kwargs)
    np.testing.assert_array_equal(by_count.repeat_losses, together.repeat_losses)
    # A batch of one key (or a raw uint32 key) is one run.
    one = jaxlr.lr_find(LOSS, init_params, optax.sgd, batches, key=jax.random.key_data(keys[:1]), shuffle=True,
                        **kwargs)
    np.testing.assert_array_equal(one.losses, alone[0].losses)


def test_batches_from_an_iterator_equal_batches_as_arrays_and_stop_being_drawn_after_the_stop():
    batches = targets(STEPS)
    drawn = []

    def stream(data):
        for batch in data:
            drawn.append(1)
            yield batch

    kwargs = {"min_lr": 1e-4, "max_lr": 10.0}
    arrays = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, batches, **kwargs)
    chunked = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, stream(batches), chunk_steps=7, **kwargs)
    np.testing.assert_array_equal(chunked.losses, arrays.losses)
    assert chunked.divergence_step == arrays.divergence_step < 90
    assert len(drawn) == 7 * (arrays.divergence_step // 7 + 1)  # the chunk holding the stop, no more

    # Repeats from an iterator: the repeats draw in turn, so repeat r gets batches r, r + k, r + 2k, ...
    many = targets(300, seed=5)
    together = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, iter(many), num_repeats=3, chunk_steps=16,
                             **kwargs)
    n = len(together.losses)
    for r in range(3):
        alone = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, many[r::3], **kwargs)
        np.testing.assert_allclose(together.repeat_losses[r], alone.losses[:n], rtol=1e-6)
        assert together.repeat_divergence_steps[r] == alone.divergence_step


# ----------------------------------------------------------------------------- state, aux, extra args


def test_state_and_aux_are_threaded_through_the_loss():
    batches = targets(60)

    def with_state(w, count, b):  # the state counts the steps, and the loss reads it
        loss = LOSS(w, b) + 0.01 * count
        return loss, (count + 1.0, {"twice": 2 * loss})

    def with_aux(w, b):
        return LOSS(w, b), jnp.ones(5)

    kwargs = {"min_lr": 1e-4, "max_lr": 0.2, "num_steps": 60}
    plain = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, batches, **kwargs)
    stateful = jaxlr.lr_find(with_state, jnp.zeros(DIM), optax.sgd, batches, state=jnp.float32(0.0), has_aux=True,
                             **kwargs)
    aux = jaxlr.lr_find(with_aux, jnp.zeros(DIM), optax.sgd, batches, has_aux=True, **kwargs)
    np.testing.assert_allclose(stateful.losses - plain.losses, 0.01 * np.arange(60), atol=2e-6)
    np.testing.assert_array_equal(aux.losses, plain.losses)


def test_an_optimizer_that_takes_the_loss_as_an_extra_argument_gets_it():
    # reduce_on_plateau needs value=loss; with a patience longer than the test it never cuts.
    def optimizer(lr):
        return optax.chain(optax.sgd(lr), optax.contrib.reduce_on_plateau(patience=1000))

    kwargs = {"min_lr": 1e-4, "max_lr": 10.0}
    chained = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optimizer, targets(STEPS), **kwargs)
    plain = jaxlr.lr_find(LOSS, jnp.zeros(DIM), optax.sgd, targets(STEPS), **kwargs)
    np.testing.assert_allclose(chained.losses, plain.losses, rtol=1e-6)  # another program: fused otherwise


@pytest.mark.parametrize(
    "optimizer",
    [optax.adamw, optax.lion, lambda lr: optax.chain(optax.clip_by_global_norm(0.5), optax.sgd(lr, momentum=0.9)),
     lambda lr: optax.adafactor(lr, min_dim_size_to_factor=2)],
    ids=["adamw", "lion", "clip+momentum", "adafactor"],
)
def test_any_optimizer_trains_as_a_plain_optax_loop_on_the_ramp(optimizer):
    num_steps, batches = 40, targets(40)
    w0 = jnp.asarray(np.linspace(-1.0, 1.0, 4 * DIM, dtype=np.float32).reshape(4, DIM))
    loss_fn = jax.jit(lambda w, b: LOSS(w, b) + 0.5 * jnp.sum(w[1:] ** 2))
    result = jaxlr.lr_find(loss_fn, w0, optimizer, batches, min_lr=1e-3, max_lr=0.3, num_steps=num_steps)
    transform = optimizer(jaxlr.exponential_warmup(0.3, num_steps - 1, init_value=1e-3))
    @jax.jit
    def step(w, opt_state, b):
        loss, grads = jax.value_and_grad(loss_fn)(w, b)
        updates, opt_state = transform.update(grads, opt_state, w)
        return loss, optax.apply_updates(w, updates), opt_state

    w, opt_state, losses = w0, transform.init(w0), []
    for t in range(num_steps):
        loss, w, opt_state = step(w, opt_state, batches[t])
        losses.append(float(loss))
    n = len(result.losses)
    assert n >= 30
    np.testing.assert_allclose(result.losses, losses[:n], rtol=1e-5)


def test_a_second_call_with_other_rates_reuses_the_compiled_program():
    loss_fn, batches = LOSS, targets(STEPS)
    first = jaxlr.lr_find(loss_fn, jnp.zeros(DIM), optax.sgd, batches, min_lr=1e-4)
    before = jaxlr.finder._compiled.cache_info()
    second = jaxlr.lr_find(loss_fn, jnp.zeros(DIM), optax.sgd, batches, min_lr=1e-5, max_lr=3.0)
    after = jaxlr.finder._compiled.cache_info()
    assert after.hits == before.hits + 1 and after.misses == before.misses
    assert first.learning_rates[0] != second.learning_rates[0]


# ----------------------------------------------------------------------------- a Flax NNX model


@pytest.mark.slow  # imports flax, compiles three programs
def test_a_flax_nnx_model_through_split_and_merge_equals_a_plain_optax_loop():
    nnx = pytest.importorskip("flax.nnx", reason="the NNX usage needs flax (pip install -e '.[examples]')")

    class Net(nnx.Module):
        def __init__(self, rngs):
            self.hidden = nnx.Linear(4, 16, rngs=rngs)
            self.norm = nnx.BatchNorm(16, rngs=rngs)
            self.dropout = nnx.Dropout(0.3, rngs=rngs)
            self.out = nnx.Linear(16, 3, rngs=rngs)

        def __call__(self, x):
            return self.out(self.dropout(jax.nn.relu(self.norm(self.hidden(x)))))

    graphdef, params, rest = nnx.split(Net(nnx.Rngs(0)), nnx.Param, ...)

    def loss_fn(params, rest, batch):
        model = nnx.merge(graphdef, params, rest)
        logits = model(batch["x"])
        loss = optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()
        return loss, nnx.split(model, nnx.Param, ...)[2]  # batch statistics and dropout's key count

    steps = 30
    x = jax.random.normal(jax.random.key(1), (steps, 16, 4))
    batches = {"x": x, "y": (x[..., 0] > 0).astype(jnp.int32) + (x[..., 1] > 0)}
    result = jaxlr.lr_find(loss_fn, params, optax.adam, batches, state=rest, min_lr=1e-4, max_lr=1e-1,
                           num_steps=steps)

    # The same training by hand: adam on the ramp, the state threaded from step to step.
    optimizer = optax.adam(jaxlr.exponential_warmup(1e-1, steps - 1, init_value=1e-4))
    # (State holds Variables that only the trace which made them may mutate: rebuild it under the gradient.)
    step = jax.jit(lambda p, s, b: jax.value_and_grad(
        lambda p: loss_fn(p, jax.tree.map(lambda a: a, s), b), has_aux=True)(p))
    p, s, opt_state, losses = params, rest, optimizer.init(params), []
    for t in range(steps):
        (loss, s), grads = step(p, s, jax.tree.map(lambda a, t=t: a[t], batches))
        updates, opt_state = optimizer.update(grads, opt_state, p)
        p = optax.apply_updates(p, updates)
        losses.append(float(loss))
    assert result.divergence_step is None
    # Equal only if the state is threaded: otherwise every step would reuse the first dropout mask.
    np.testing.assert_allclose(result.losses, losses, rtol=2e-5)

    # One initialisation per repeat: params and state as functions of a key.
    def init(key):
        return nnx.split(Net(nnx.Rngs(key)), nnx.Param, ...)

    repeated = jaxlr.lr_find(loss_fn, lambda k: init(k)[1], optax.adam, batches, state=lambda k: init(k)[2],
                             min_lr=1e-4, max_lr=1e-1, num_steps=steps, num_repeats=2, shuffle=False)
    # Repeat r starts from init(the second half of split(its key)), its key split from key(0).
    for r, run_key in enumerate(jax.random.split(jax.random.key(0), 2)):
        _, p0, s0 = init(jax.random.split(run_key)[1])
        first_loss = loss_fn(p0, s0, jax.tree.map(lambda a: a[0], batches))[0]
        np.testing.assert_allclose(repeated.repeat_losses[r, 0], first_loss, rtol=1e-5)
    assert not np.allclose(repeated.repeat_losses[0], repeated.repeat_losses[1], rtol=1e-2)


# ----------------------------------------------------------------------------- pytorch-lr-finder, live


@pytest.mark.slow  # imports torch
def test_the_curve_and_the_stop_match_pytorch_lr_finder():
    torch = pytest.importorskip("torch", reason="parity needs torch: pip install torch==2.13.0 (the CPU wheel)")
    torch_lr_finder = pytest.importorskip(
        "torch_lr_finder", reason="parity with pytorch-lr-finder needs it: pip install -e '.[parity]'")
    # Linear regression: the loss mean((x w - y)^2), plain SGD. Without smoothing (smooth_f=0,
    # smoothing=0) both stop where the loss passes 5 times its best (diverge_th=5).
    num_steps, batch = 60, 64
    rng = np.random.default_rng(3)
    x = rng.normal(size=(num_steps * batch, 3)).astype(np.float32)
    y = (x @ np.array([1.0, -2.0, 0.5], np.float32) + 0.1 * rng.normal(size=num_steps * batch)).astype(np.float32)

    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(y[:, None])), batch_size=batch)
    finder = torch_lr_finder.LRFinder(model, torch.optim.SGD(model.parameters(), lr=1e-4), torch.nn.MSELoss())
    finder.range_test(loader, start_lr=1e-4, end_lr=10.0, num_iter=num_steps, smooth_f=0.0, diverge_th=5)

    def loss_fn(w, b):
        return jnp.mean((b["x"] @ w - b["y"]) ** 2)

    batches = {"x": x.reshape(num_steps, batch, 3), "y": y.reshape(num_steps, batch)}
    result = jaxlr.lr_find(loss_fn, jnp.zeros(3), optax.sgd, batches, min_lr=1e-4, max_lr=10.0, num_steps=num_steps,
                           smoothing=0.0, diverge_factor=5.0)
    theirs = np.asarray(finder.history["loss"])
    assert result.divergence_step == len(theirs) - 1 < num_steps - 1
    np.testing.assert_allclose(result.learning_rates, finder.history["lr"], rtol=2e-6)
    np.testing.assert_allclose(result.losses, theirs, rtol=2e-4)
    best = np.minimum.accumulate(theirs)
    assert theirs[-1] / best[-1] > 5 * 1.05 and np.all(theirs[:-1] / best[:-1] < 5 / 1.05)


# ----------------------------------------------------------------------------- the rules


def curve(losses, lrs=None, **kwargs) -> LRFinderResult:
    losses = np.asarray(losses, np.float64)
    lrs = np.geomspace(1e-4, 1.0, len(losses)) if lrs is None else np.asarray(lrs)
    fields = {"divergence_step": None, "divergence_lr": None, "repeat_losses": losses[None],
              "repeat_smoothed_losses": losses[None], "repeat_divergence_steps": (None,), "num_steps": len(losses),
              "rule": "valley", "skip_start": 0, "skip_end": 0, **kwargs}
    return LRFinderResult(learning_rates=lrs, losses=losses, smoothed_losses=losses, **fields)


def test_the_rules_on_curves_worked_by_hand():
    lrs = 10.0 ** np.arange(10)
    #        0    1    2    3    4    5    6    7    8    9
    loss = [3.0, 2.5, 2.7, 2.0, 1.5, 1.2, 1.3, 0.8, 2.0, 5.0]
    result = curve(loss, lrs)
    # steepest: slopes per decade -0.5, 0.2, -0.7, -0.5, -0.3, 0.1, -0.5, 1.2, 3.0; the least at 2 -> 3.
    assert result.suggest("steepest") == 1e2
    # minimum: the least loss at 7, over 10.
    assert result.suggest("minimum") == 1e7 / 10
    # valley: the longest strictly decreasing subsequence, 3.0 2.7 2.0 1.5 1.2 0.8 (length 6), ends at 7,
    # so start = 7 - 6 = 1 and the point is 1 + int(6/3) + int(6/6) = 4.
    assert result.suggest("valley") == 1e4
    # The defaults leave out fastai's points: skip_start = 1 drops the 3.0, and the valley 2.7 ... 0.8
    # (length 5, from 2) gives 2 + int(5/3) + int(5/6) = 3.
    assert result.suggest("valley", skip_start=1) == 1e3
    # skip_end = 3 drops 0.8 2.0 5.0: the minimum is now 1.2 at 5.
    assert result.suggest("minimum", skip_end=3) == 1e5 / 10


def test_the_slide_rule_stops_where_the_gradient_settles():
    # Flat (gradient -0.001 per step) up to step 30, then a rise 0.01 (t - 30)^2 (gradient 0.02 (t - 30)).
    # The window of 15 slides left while its ends' gradients differ by more than 0.005: by 0.3 on the
    # rise; with its right end at 30, np.gradient still sees half the rise there (0.0045 against -0.001,
    # 0.0055 apart), so it moves on; at 29 both ends are flat and it stops. The suggestion is the left
    # end of the last window that moved, 30 - 15 = 15.
    t = np.arange(60)
    loss = np.where(t <= 30, 1.0 - 0.001 * t, 0.97 + 0.01 * (t - 30.0) ** 2)
    lrs = np.geomspace(1e-4, 1.0, 60)
    assert curve(loss, lrs).suggest("slide") == lrs[15]


def test_rules_that_lack_points_say_why():
    result = curve([3.0, 2.0, 1.0], divergence_step=2, divergence_lr=1.0)
    with pytest.raises(ValueError, match=r"'slide' needs at least 16 points, and 3 remain: the loss diverged at step"):
        result.suggest("slide")
    with pytest.raises(ValueError, match="'steepest' needs at least 2 points, and 0 remain"):
        result.suggest("steepest", skip_start=2, skip_end=1)
    assert set(result.suggestions) == {"valley", "steepest", "minimum"}
    with pytest.raises(ValueError, match="rule must be one of 'valley', 'steepest', 'minimum', 'slide', got 'best'"):
        result.suggest("best")


# ----------------------------------------------------------------------------- plot


def test_plot_writes_the_figure_and_without_matplotlib_says_how_to_get_it(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="the plot needs matplotlib: pip install -e '.[plot]'")
    result = jaxlr.lr_find(LOSS, init_params, optax.sgd, targets(STEPS), min_lr=1e-4, max_lr=10.0,
                           num_repeats=2)
    path = result.plot(tmp_path / "lr_find.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"plot needs matplotlib: pip install 'jaxlr\[plot\]'"):
        result.plot(tmp_path / "again.png")


# ----------------------------------------------------------------------------- bad arguments


def run(**changes):
    arguments = {"loss_fn": LOSS, "params": jnp.zeros(DIM), "optimizer": optax.sgd, "batches": targets(STEPS)}
    arguments.update(changes)
    return jaxlr.lr_find(**arguments)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"loss_fn": "mse"}, TypeError, "loss_fn must be a function"),
        ({"optimizer": optax.sgd(0.1)}, TypeError, "optimizer must be a function learning_rate -> optax"),
        ({"optimizer": lambda lr: lr}, TypeError, r"optimizer\(learning_rate\) must return an optax"),
        ({"min_lr": 0.0}, ValueError, "min_lr must be > 0, got 0.0"),
        ({"min_lr": float("nan")}, ValueError, "min_lr must be finite"),
        ({"max_lr": -1.0}, ValueError, "max_lr must be > 0"),
        ({"min_lr": 1.0, "max_lr": 0.1}, ValueError, "min_lr must be < max_lr, got min_lr=1.0 and max_lr=0.1"),
        ({"num_steps": 1}, ValueError, "num_steps must be >= 2, got 1"),
        ({"num_steps": 10.0}, TypeError, "num_steps must be an integer, got 10.0"),
        ({"num_steps": True}, TypeError, "num_steps must be an integer"),
        ({"num_steps": 101}, ValueError, "batches must hold at least num_steps=101 batches .* got 100"),
        ({"smoothing": 1.0}, ValueError, r"smoothing must be in \[0, 1\), got 1.0"),
        ({"smoothing": -0.1}, ValueError, r"smoothing must be in \[0, 1\)"),
        ({"diverge_factor": 1.0}, ValueError, r"diverge_factor must be > 1 \(or None\), got 1.0"),
        ({"num_repeats": 0}, ValueError, "num_repeats must be >= 1, got 0"),
        ({"key": 3}, TypeError, "key must be a jax.random.key"),
        ({"key": jax.random.split(jax.random.key(0), 3), "num_repeats": 2}, ValueError,
         "num_repeats=2 does not match the batch of 3 keys"),
        ({"shuffle": "yes"}, TypeError, "shuffle must be True or False"),
        ({"has_aux": 1}, TypeError, "has_aux must be True or False"),
        ({"batches": iter(targets(STEPS)), "shuffle": True}, ValueError, "shuffle needs batches held as arrays"),
        ({"batches": iter(targets(10))}, ValueError, r"batches ran out after 10 batches; .* = 100 are needed"),
        ({"batches": iter([np.ones(3, np.float32), np.ones(4, np.float32)] * 50)}, ValueError,
         "every batch must have the structure, shapes and dtypes of the first; batch 1 has"),
        ({"batches": {"x": np.zeros((100, 2)), "y": np.zeros(99)}}, ValueError, "the same leading axis"),
        ({"batches": {}}, ValueError, "batches must be a pytree of arrays"),
        ({"batches": [1.0, 2.0]}, ValueError, "batches must be a pytree of arrays"),
        ({"rule": "fastest"}, ValueError, "rule must be one of 'valley', 'steepest', 'minimum', 'slide'"),
        ({"skip_end": -1}, ValueError, "skip_end must be >= 0, got -1"),
        ({"chunk_steps": 0}, ValueError, "chunk_steps must be >= 1, got 0"),
        ({"loss_fn": lambda w, b: (w - b) ** 2}, TypeError, r"scalar floating loss, got an array of shape \(3,\)"),
        ({"loss_fn": lambda w, b: (jnp.sum(w), 1.0)}, TypeError, "pass has_aux=True if it returns"),
        ({"loss_fn": lambda w, b: jnp.sum(w), "has_aux": True}, TypeError, r"must return a pair \(loss, aux\)"),
        ({"loss_fn": lambda w, s, b: (jnp.sum(w), s + 0.5), "state": jnp.int32(0)}, TypeError,
         "new state of the structure, shapes and dtypes of state"),
    ],
)
def test_bad_arguments_fail_with_an_error_naming_them(changes, error, message):
    with pytest.raises(error, match=message):
        run(**changes)


def test_a_flax_module_instead_of_its_parameters_says_to_split_it():
    nnx = pytest.importorskip("flax.nnx", reason="needs flax")
    with pytest.raises(TypeError, match=r"got a Flax NNX module: split it"):
        run(params=nnx.Linear(3, 1, rngs=nnx.Rngs(0)))


def test_a_negative_loss_with_the_divergence_factor_is_an_error_and_without_it_runs():
    def shifted(w, b):
        return LOSS(w, b) - 10.0

    with pytest.raises(ValueError, match=r"diverge_factor: the divergence rule .* needs positive losses"):
        run(loss_fn=shifted)
    result = run(loss_fn=shifted, diverge_factor=None, max_lr=0.4)
    assert result.divergence_step is None and result.losses.min() < 0


# ----------------------------------------------------------------------------- the docs page


@pytest.mark.slow  # imports flax, compiles four programs
def test_the_python_blocks_of_docs_lr_finder_run_as_written(tmp_path, monkeypatch):
    pytest.importorskip("flax.nnx", reason="the page's NNX block needs flax (pip install -e '.[examples]')")
    pytest.importorskip("matplotlib", reason="the page plots (pip install -e '.[plot]')")
    import re
    from pathlib import Path

    page = (Path(__file__).resolve().parent.parent / "docs" / "lr_finder.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    assert len(blocks) == 4
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/lr_finder.md", "exec"), namespace)
    result, streamed = namespace["result"], namespace["streamed"]
    assert (tmp_path / "lr_find.png").stat().st_size > 10_000
    assert 1e-7 < result.suggestion < result.divergence_lr
    assert set(result.suggestions) == set(jaxlr.finder.RULES)
    np.testing.assert_array_equal(streamed.losses, result.losses)  # the same batches, drawn from an iterator
    assert namespace["steadier"].repeat_losses.shape[0] == 4
    assert np.all(np.isfinite(namespace["nnx_result"].losses)) and namespace["nnx_result"].suggestion > 0
