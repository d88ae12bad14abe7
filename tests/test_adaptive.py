"""Reduce on plateau and early stopping against torch and Keras; current_lr; checkpoints."""

from __future__ import annotations

import io

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxlr
from tests.peers import require


def sequences():
    rng = np.random.default_rng(0)
    noisy = 1.0 + np.cumsum(rng.normal(0, 0.02, 300))
    plateaus = np.repeat([5.0, 4.0, 4.0, 3.9999, 3.5, 3.5], 25)
    decreasing_then_flat = np.concatenate([np.linspace(2, 1, 50), np.full(100, 1.0)])
    # below the 1e-4 relative threshold for two steps, above it for three; margins of 2e-5,
    # well above float32's resolution (the rule compares float32 values, torch float64 ones)
    tiny_steps = 1.0 - np.arange(200) * 4e-5
    spikes = np.where(np.arange(200) % 7 == 0, 10.0, 1.0 / (1 + np.arange(200)))
    return {"noisy": noisy, "plateaus": plateaus, "flat": decreasing_then_flat, "tiny": tiny_steps,
            "spikes": spikes, "negative_abs": -noisy}


def torch_scales(values, base_lr=1.0, **kwargs):
    """torch's learning rates after each value, divided by its base rate."""
    torch = require("torch")
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, **kwargs)
    out = []
    for v in np.asarray(values, np.float32):  # the float32 values jaxlr sees
        scheduler.step(float(v))
        out.append(optimizer.param_groups[0]["lr"] / base_lr)
    return np.array(out)


def jaxlr_scales(values, **kwargs):
    rule = jaxlr.reduce_on_plateau(**kwargs)

    def step(state, v):
        _, state = rule.update(jnp.ones(()), state, value=v)
        return state, state.scale

    _, scales = jax.jit(lambda vs: jax.lax.scan(step, rule.init(None), vs))(jnp.asarray(values, jnp.float32))
    return np.asarray(scales, np.float64)


CONFIGS = [
    dict(),
    dict(factor=0.5, patience=3),
    dict(factor=0.5, patience=2, cooldown=3),
    dict(factor=0.3, patience=0, min_lr=0.01),
    dict(patience=4, threshold=0.01, threshold_mode="abs"),
    dict(patience=2, threshold=0.05),
    dict(patience=3, mode="max"),
    dict(patience=1, factor=0.5, eps=0.2),
]


@pytest.mark.parametrize("name", sorted(sequences()))
@pytest.mark.parametrize("config", CONFIGS, ids=[str(c) for c in CONFIGS])
def test_plateau_matches_torch(name, config):
    values = sequences()[name]
    if name == "negative_abs":
        config = {**config, "threshold_mode": "abs"}  # torch's relative test fails for negatives (below)
    torch_kwargs = dict(config)
    ours_kwargs = {("min_scale" if k == "min_lr" else k): v for k, v in config.items()}
    theirs = torch_scales(values, **torch_kwargs)
    np.testing.assert_allclose(jaxlr_scales(values, **ours_kwargs), theirs, rtol=1e-6)


def test_the_sequences_exercise_cuts_and_cooldowns():
    # Parity on sequences where nothing happens would prove nothing: count torch's cuts.
    cuts = {name: int(np.sum(np.diff(torch_scales(v, factor=0.5, patience=1, cooldown=3)) < 0))
            for name, v in sequences().items()}
    # isolated spikes in a falling loss must not cut; every other sequence cuts repeatedly
    assert cuts.pop("spikes") == 0
    assert all(count >= 2 for count in cuts.values()), cuts


def test_negative_values_reduce_where_torch_and_optax_never_do():
    flat = np.full(30, -1.0)
    assert torch_scales(flat, patience=2)[-1] == 1.0  # torch: -1 < -1 * (1 - 1e-4) counts as better
    ours = jaxlr_scales(flat, patience=2)
    # best = -1 after the first value; the 4th value is the 3rd bad one: cut, then every 3
    np.testing.assert_allclose(ours[:10], [1, 1, 1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 1e-3], rtol=1e-6)


def test_nan_and_inf_are_ignored_without_touching_the_state():
    rule = jaxlr.reduce_on_plateau(patience=1)
    state = rule.init(None)
    _, state = rule.update(jnp.ones(()), state, value=1.0)
    for bad in (jnp.nan, jnp.inf, -jnp.inf):
        _, after = rule.update(jnp.ones(()), state, value=bad)
        assert jax.tree.map(lambda a, b: bool(a == b), state, after) == jax.tree.map(lambda a: True, state)
    values = [1.0, np.nan, 1.0, np.nan, np.nan, 1.0, 1.0]
    np.testing.assert_allclose(jaxlr_scales(values, patience=1), [1, 1, 1, 1, 1, 0.1, 0.1])


def test_chained_after_an_optimizer_scales_its_updates():
    opt = optax.chain(optax.sgd(1.0), jaxlr.reduce_on_plateau(factor=0.5, patience=0))
    params = jnp.zeros(2)
    state = opt.init(params)
    updates, state = opt.update(jnp.ones(2), state, params, value=1.0)
    np.testing.assert_allclose(updates, [-1.0, -1.0])
    updates, state = opt.update(jnp.ones(2), state, params, value=1.0)
    np.testing.assert_allclose(updates, [-0.5, -0.5])


def through_a_checkpoint(state):
    """The state written to a file of arrays and read back, as a checkpoint does."""
    leaves, tree = jax.tree_util.tree_flatten(state)
    buffer = io.BytesIO()
    np.savez(buffer, *[np.asarray(x) for x in leaves])
    buffer.seek(0)
    loaded = np.load(buffer)
    return jax.tree_util.tree_unflatten(tree, [jnp.asarray(loaded[f"arr_{i}"]) for i in range(len(leaves))])


def test_state_survives_a_checkpoint_with_identical_later_decisions():
    rule = jaxlr.reduce_on_plateau(factor=0.5, patience=2, cooldown=1)
    values = sequences()["plateaus"]
    straight = jaxlr_scales(values, factor=0.5, patience=2, cooldown=1)
    state = rule.init(None)
    for v in values[:70]:
        _, state = rule.update(jnp.ones(()), state, value=float(v))
    restored = through_a_checkpoint(state)
    resumed = []
    for v in values[70:]:
        _, restored = rule.update(jnp.ones(()), restored, value=float(v))
        resumed.append(float(restored.scale))
    np.testing.assert_allclose(resumed, straight[70:], rtol=1e-6)


def keras_model():
    keras = require("keras")
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=1.0), loss="mse")
    return keras, model


@pytest.mark.parametrize("name", ["plateaus", "flat", "spikes", "noisy"])
@pytest.mark.parametrize("config", [dict(patience=2), dict(patience=3, cooldown=2, factor=0.5),
                                    dict(patience=1, min_delta=0.01, min_lr=0.05)], ids=str)
def test_keras_rule_matches_keras_callback(name, config):
    keras, model = keras_model()
    callback = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", **config)
    callback.set_model(model)
    callback.on_train_begin()
    theirs = []
    for epoch, v in enumerate(sequences()[name]):
        callback.on_epoch_end(epoch, {"val_loss": float(v)})
        theirs.append(float(np.asarray(model.optimizer.learning_rate)))
    ours = jaxlr_scales(sequences()[name], rule="keras", threshold=config.get("min_delta", 1e-4),  # Keras default
                        **{("min_scale" if k == "min_lr" else k): v for k, v in config.items() if k != "min_delta"})
    # After 37 cuts Keras reaches float32 subnormals (1e-39), which XLA on CPU flushes to
    # zero, so cuts below ~1e-37 land differently: a scale under 1e-30 is zero in effect.
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("name", sorted(sequences()))
@pytest.mark.parametrize(
    "config",
    [dict(patience=3), dict(patience=5, min_delta=0.01), dict(patience=2, baseline=0.5), dict(patience=0),
     dict(patience=4, start_from_epoch=10), dict(patience=3, mode="max")],
    ids=str,
)
def test_early_stopping_matches_keras(name, config):
    keras, model = keras_model()
    callback = keras.callbacks.EarlyStopping(monitor="val_loss", restore_best_weights=True, **config)
    callback.set_model(model)
    callback.on_train_begin()
    rule = jaxlr.early_stopping(**config)
    state = rule.init()
    step = jax.jit(rule.update)
    for epoch, v in enumerate(sequences()[name]):
        best_before = callback.best_epoch
        model.stop_training = False
        callback.on_epoch_end(epoch, {"val_loss": float(v)})
        state, decision = step(state, float(v))
        assert bool(decision.stop) == model.stop_training, (epoch, v)
        keras_improved = callback.best_epoch == epoch and (epoch != best_before or epoch == 0) and callback.best == v
        assert bool(decision.improved) == keras_improved, (epoch, v)


def test_current_lr_through_chain_multi_transform_and_multisteps():
    schedule = jaxlr.warmup_cosine(1.0, 10, 100)
    sgd = optax.inject_hyperparams(optax.sgd)(learning_rate=schedule)
    opt = optax.chain(sgd, jaxlr.reduce_on_plateau(factor=0.5, patience=0))
    params = {"head": jnp.zeros(2), "backbone": jnp.zeros(2)}
    state = opt.init(params)
    for loss in [1.0, 2.0, 3.0]:
        _, state = opt.update(jax.tree.map(jnp.ones_like, params), state, params, value=loss)
    # the update at count 2 used schedule(2); two plateau cuts after the first value
    assert float(jaxlr.current_lr(state)) == pytest.approx(float(schedule(2)) * 0.25)

    groups = optax.multi_transform(
        {"head": optax.inject_hyperparams(optax.adam)(learning_rate=jaxlr.constant(1e-3)),
         "backbone": optax.inject_hyperparams(optax.adam)(learning_rate=jaxlr.linear_warmup(1e-4, 10))},
        {"head": "head", "backbone": "backbone"},
    )
    state = groups.init(params)
    _, state = groups.update(jax.tree.map(jnp.ones_like, params), state, params)
    np.testing.assert_allclose(np.sort(np.asarray(jaxlr.current_lr(state))), [0.0, 1e-3], rtol=1e-6)

    accumulate = optax.MultiSteps(optax.inject_hyperparams(optax.sgd)(learning_rate=jaxlr.constant(0.3)), 4)
    state = accumulate.init(params)
    assert float(jaxlr.current_lr(state)) == pytest.approx(0.3)
    with pytest.raises(ValueError, match="inject_hyperparams"):
        jaxlr.current_lr(optax.sgd(0.1).init(params))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(factor=1.0), "factor must be in (0, 1)"), (dict(patience=-1), "patience must be >= 0"),
     (dict(mode="minimum"), "mode must be one of 'min', 'max'"), (dict(threshold_mode="pct"), "threshold_mode"),
     (dict(rule="fastai"), "rule must be one of 'torch', 'keras'")],
)
def test_plateau_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        jaxlr.reduce_on_plateau(**kwargs)


def test_early_stopping_state_survives_a_checkpoint_with_identical_later_decisions():
    rule = jaxlr.early_stopping(patience=4, min_delta=1e-3, baseline=2.0, start_from_epoch=3)
    values = sequences()["noisy"]
    state, straight = rule.init(), []
    for v in values:
        state, decision = rule.update(state, float(v))
        straight.append((bool(decision.improved), bool(decision.stop)))
    state = rule.init()
    for v in values[:40]:
        state, _ = rule.update(state, float(v))
    state = through_a_checkpoint(state)
    resumed = []
    for v in values[40:]:
        state, decision = rule.update(state, float(v))
        resumed.append((bool(decision.improved), bool(decision.stop)))
    assert resumed == straight[40:]
    assert any(stop for _, stop in straight) and any(improved for improved, _ in straight[40:])


# --- eps is in learning-rate units in torch: parity at any base rate ------------------------


@pytest.mark.parametrize("base_lr", [1e-3, 1.0])
@pytest.mark.parametrize("factor", [0.1, 0.5])
def test_eps_matches_torch_at_any_base_rate(base_lr, factor):
    # A flat sequence with patience 0 cuts at every value until eps stops it: 40 values are
    # more than the 26 cuts it takes to reach torch's floor (factor 0.5 at base 1.0).
    flat = np.ones(40)
    theirs = torch_scales(flat, base_lr=base_lr, factor=factor, patience=0)
    ours = jaxlr_scales(flat, factor=factor, patience=0, base_lr=base_lr)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    # eps decided the end: torch's last rate is the last one whose cut exceeds 1e-8
    final = theirs[-1] * base_lr
    assert (1 - factor) * final <= 1e-8 < (1 - factor) * final / factor
    assert np.all(theirs[-10:] == theirs[-1])


def test_eps_without_base_lr_compares_the_scale():
    # base_lr defaults to 1.0: at a true rate of 1e-3 that goes on to a rate of 1e-11, three
    # cuts past torch's 1e-8 (the figure that base_lr fixes).
    flat = np.ones(40)
    assert jaxlr_scales(flat, factor=0.1, patience=0)[-1] == pytest.approx(1e-8, rel=1e-6)
    assert torch_scales(flat, base_lr=1e-3, factor=0.1, patience=0)[-1] == pytest.approx(1e-5, rel=1e-9)
    assert jaxlr_scales(flat, factor=0.1, patience=0, base_lr=1e-3)[-1] == pytest.approx(1e-5, rel=1e-6)


# --- optax.contrib's convention: a cut when the count reaches patience ----------------------


def optax_scales(values, **kwargs):
    rule = optax.contrib.reduce_on_plateau(**kwargs)

    def step(state, v):
        _, state = rule.update(jnp.ones(()), state, value=v)
        return state, state.scale

    _, scales = jax.jit(lambda vs: jax.lax.scan(step, rule.init(jnp.zeros(())), vs))(jnp.asarray(values, jnp.float32))
    return np.asarray(scales, np.float64)


OPTAX_CONFIGS = [
    dict(patience=1), dict(patience=3, factor=0.5), dict(patience=2, cooldown=3, factor=0.5),
    dict(patience=1, min_scale=0.01, factor=0.3), dict(patience=2, rtol=0.05),
]


@pytest.mark.parametrize("name", sorted(sequences()))
@pytest.mark.parametrize("config", OPTAX_CONFIGS, ids=str)
def test_optax_contrib_is_patience_minus_one(name, config):
    """optax.contrib.reduce_on_plateau(patience=p) is this rule with patience=p - 1 and eps=0:
    exactly, on positive values (relative threshold) and on any values (absolute one)."""
    kwargs = dict(config)
    ours = dict(factor=kwargs.get("factor", 0.1), patience=kwargs["patience"] - 1, cooldown=kwargs.get("cooldown", 0),
                min_scale=kwargs.get("min_scale", 0.0), eps=0.0, threshold=kwargs.get("rtol", 1e-4))
    if name == "negative_abs":  # optax's relative test fails for negatives, as torch's does
        kwargs.update(rtol=0.0, atol=0.01)
        ours.update(threshold=0.01, threshold_mode="abs")
    theirs = optax_scales(sequences()[name], **kwargs)
    np.testing.assert_array_equal(jaxlr_scales(sequences()[name], **ours), theirs)


def test_optax_comparison_exercises_cuts():
    counts = {name: int(np.sum(np.diff(optax_scales(v, patience=2, factor=0.5, cooldown=1)) < 0))
              for name, v in sequences().items()}
    assert all(count >= 2 for name, count in counts.items() if name != "spikes"), counts


# --- shapes: the monitored value is one number -----------------------------------------------


PARAMS = {"w": jnp.zeros((3, 2)), "b": jnp.zeros(())}


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_plateau_accepts_one_number_in_any_shape(shape, jit):
    opt = optax.chain(optax.sgd(1.0), jaxlr.reduce_on_plateau(factor=0.5, patience=0))
    update = jax.jit(opt.update) if jit else opt.update
    state = opt.init(PARAMS)
    grads = jax.tree.map(jnp.ones_like, PARAMS)
    for loss in (1.0, 2.0, 3.0):  # the first sets best, each later one is a cut
        updates, state = update(grads, state, PARAMS, value=jnp.full(shape, loss))
    assert jax.tree.map(jnp.shape, updates) == jax.tree.map(jnp.shape, PARAMS)
    np.testing.assert_array_equal(updates["w"], np.full((3, 2), -0.25, np.float32))
    assert float(updates["b"]) == -0.25
    assert all(jnp.shape(leaf) == () for leaf in jax.tree.leaves(state[1]))


@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_early_stopping_decisions_are_scalars_for_any_one_number(shape, jit):
    rule = jaxlr.early_stopping(patience=1)
    update = jax.jit(rule.update) if jit else rule.update
    state, seen = rule.init(), []
    for loss in (1.0, 2.0, 0.5):
        state, decision = update(state, jnp.full(shape, loss))
        assert decision.improved.shape == () and decision.stop.shape == ()
        seen.append((bool(decision.improved), bool(decision.stop)))
    assert seen == [(True, False), (False, True), (True, False)]
    assert all(jnp.shape(leaf) == () for leaf in state)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_a_batch_of_values_is_refused_naming_value_and_its_shape(jit):
    opt = optax.chain(optax.sgd(1.0), jaxlr.reduce_on_plateau())
    update = jax.jit(opt.update) if jit else opt.update
    with pytest.raises(ValueError, match=r"value must be a scalar or hold one number, got shape \(2,\)"):
        update(PARAMS, opt.init(PARAMS), PARAMS, value=jnp.ones(2))
    rule = jaxlr.early_stopping()
    update = jax.jit(rule.update) if jit else rule.update
    with pytest.raises(ValueError, match=r"value must be a scalar or hold one number, got shape \(2, 3\)"):
        update(rule.init(), jnp.ones((2, 3)))


@pytest.mark.parametrize("value", ["0.5", True, None, 1j])
def test_a_value_that_is_not_a_real_number_is_a_type_error(value):
    rule = jaxlr.reduce_on_plateau()
    with pytest.raises(TypeError, match="value must be a real number"):
        rule.update(jnp.ones(()), rule.init(None), value=value)
    with pytest.raises(TypeError, match="value must be a real number"):
        jaxlr.early_stopping().update(jaxlr.early_stopping().init(), value)


# --- static options are type-checked -----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [(dict(mode=True), "mode must be a string"), (dict(threshold_mode=1), "threshold_mode must be a string"),
     (dict(rule=None), "rule must be a string"), (dict(mode=b"min"), "mode must be a string")],
)
def test_plateau_string_options_must_be_strings(kwargs, message):
    with pytest.raises(TypeError, match=message):
        jaxlr.reduce_on_plateau(**kwargs)


def test_early_stopping_mode_must_be_a_string():
    with pytest.raises(TypeError, match="mode must be a string"):
        jaxlr.early_stopping(mode=0)
    with pytest.raises(ValueError, match="mode must be one of 'min', 'max'"):
        jaxlr.early_stopping(mode="minimum")


@pytest.mark.parametrize("base_lr", [0.0, -1e-3, "1e-3"])
def test_base_lr_must_be_a_positive_number(base_lr):
    with pytest.raises(ValueError, match="base_lr must be"):
        jaxlr.reduce_on_plateau(base_lr=base_lr)


# --- current_lr: each rate times the plateau scales that apply to it ------------------------


def sgd(rate):
    return optax.inject_hyperparams(optax.sgd)(learning_rate=rate)


def plateau():
    return jaxlr.reduce_on_plateau(factor=0.5, patience=0)


GROUP_PARAMS = {"head": jnp.zeros(2), "body": jnp.zeros(2)}
LABELS = {"head": "head", "body": "body"}


def run(opt, losses=(1.0, 2.0, 3.0)):
    """Two forced cuts: the first value sets best, each higher one is a bad one (patience 0)."""
    state = opt.init(GROUP_PARAMS)
    for loss in losses:
        updates, state = jax.jit(opt.update)(jax.tree.map(jnp.ones_like, GROUP_PARAMS), state, GROUP_PARAMS,
                                             value=loss)
    return updates, state


def test_plateau_inside_one_group_scales_that_group_only():
    opt = optax.multi_transform({"head": optax.chain(sgd(0.1), plateau()), "body": sgd(0.2)}, LABELS)
    updates, state = run(opt)
    # the state's groups come back from jit sorted by label: body, head
    np.testing.assert_allclose(np.asarray(jaxlr.current_lr(state)), [0.2, 0.1 * 0.25], rtol=1e-6)
    # and those are the rates the updates were made with
    np.testing.assert_allclose(updates["head"], [-0.025, -0.025], rtol=1e-6)
    np.testing.assert_allclose(updates["body"], [-0.2, -0.2], rtol=1e-6)


def test_plateau_after_the_whole_multi_transform_scales_every_group():
    opt = optax.chain(optax.multi_transform({"head": sgd(0.1), "body": sgd(0.2)}, LABELS), plateau())
    updates, state = run(opt)
    np.testing.assert_allclose(np.asarray(jaxlr.current_lr(state)), [0.2 * 0.25, 0.1 * 0.25], rtol=1e-6)
    np.testing.assert_allclose(updates["body"], [-0.05, -0.05], rtol=1e-6)


def test_plateaus_inside_and_around_compose():
    # head: its own plateau (factor 0.5, two cuts) and the outer one (factor 0.1, two cuts)
    inner = optax.multi_transform({"head": optax.chain(sgd(0.1), plateau()), "body": sgd(0.2)}, LABELS)
    opt = optax.chain(inner, jaxlr.reduce_on_plateau(factor=0.1, patience=0))
    updates, state = run(opt)
    np.testing.assert_allclose(np.asarray(jaxlr.current_lr(state)), [0.2 * 0.01, 0.1 * 0.25 * 0.01], rtol=1e-6)
    np.testing.assert_allclose(updates["head"], [-0.1 * 0.25 * 0.01] * 2, rtol=1e-6)
    np.testing.assert_allclose(updates["body"], [-0.2 * 0.01] * 2, rtol=1e-6)


def test_plateau_nested_in_a_sub_chain_of_a_group_applies_to_that_group():
    opt = optax.multi_transform({"head": optax.chain(optax.chain(sgd(0.1)), optax.chain(plateau())),
                                 "body": optax.chain(sgd(0.2), optax.identity())}, LABELS)
    _, state = run(opt)
    np.testing.assert_allclose(np.asarray(jaxlr.current_lr(state)), [0.2, 0.025], rtol=1e-6)


def test_switch_optimizers_decision_plateau_scales_nothing():
    opt = jaxlr.switch_optimizers(sgd(1.0), sgd(0.1), on_plateau=jaxlr.reduce_on_plateau(patience=0))
    state = opt.init(jnp.zeros(1))
    for loss in (1.0, 2.0):
        updates, state = opt.update(jnp.ones(1), state, value=loss)
    assert float(state.plateau.scale) == pytest.approx(0.1)  # the rule cut: that is the switch
    assert float(updates[0]) == pytest.approx(-0.1)  # sgd(0.1), unscaled
    np.testing.assert_allclose(np.asarray(jaxlr.current_lr(state)), [1.0, 0.1], rtol=1e-6)


# --- current_lr(opt_state, schedule): optimizers built with the schedule itself ---------------


def test_current_lr_with_the_schedule_reads_what_inject_hyperparams_records():
    schedule = jaxlr.warmup_cosine(1e-2, 3, 10)
    params = jnp.zeros(3)
    injected = optax.chain(optax.inject_hyperparams(optax.adamw)(learning_rate=schedule), plateau())
    plain = optax.chain(optax.adamw(schedule), plateau())
    a, b = injected.init(params), plain.init(params)
    assert float(jaxlr.current_lr(b, schedule)) == float(jaxlr.current_lr(a)) == float(schedule(0))
    read = jax.jit(jaxlr.current_lr)  # the schedule is a pytree argument
    for loss in (1.0, 2.0, 0.5, 3.0, 0.1, 0.2, 0.05, 0.3, 0.4, 0.01, 0.02, 0.03):
        _, a = injected.update(jnp.ones(3), a, params, value=loss)
        _, b = plain.update(jnp.ones(3), b, params, value=loss)
        assert float(jaxlr.current_lr(b, schedule)) == float(jaxlr.current_lr(a))
        # under jit the schedule's float32 arithmetic may round one ulp apart from eager
        assert float(read(b, schedule)) == pytest.approx(float(jaxlr.current_lr(a)), rel=1e-6)
    assert float(jaxlr.current_lr(b, schedule)) == pytest.approx(float(schedule(11)) * 0.5**5, rel=1e-6)


def test_current_lr_with_the_schedule_counts_the_updates_multisteps_made():
    schedule = jaxlr.linear_warmup(1.0, 4, init_value=0.2)
    accumulate = optax.MultiSteps(optax.sgd(schedule), every_k_schedule=2)
    params = jnp.zeros(1)
    state, applied = accumulate.init(params), []
    for _ in range(4):  # two real updates, on the second and fourth calls
        updates, state = accumulate.update(jnp.ones(1), state, params)
        applied.append(-float(updates[0]))
    assert applied == [0.0, pytest.approx(0.2), 0.0, pytest.approx(0.4)]
    assert float(jaxlr.current_lr(state, schedule)) == pytest.approx(0.4)  # schedule(1), not schedule(3)


def test_current_lr_of_an_nnx_optimizer_is_the_rate_its_last_update_applied():
    nnx = pytest.importorskip("flax.nnx")
    schedule = jaxlr.linear_warmup(1.0, 4, init_value=0.2)  # 0.2, 0.4, 0.6, 0.8, 1.0
    model = nnx.Linear(2, 1, use_bias=False, rngs=nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.chain(optax.sgd(schedule), plateau()), wrt=nnx.Param)
    x = jnp.ones((1, 2))

    @nnx.jit
    def train_step(model, optimizer, value):
        grads = nnx.grad(lambda model: model(x).sum())(model)  # 1 for each weight
        optimizer.update(model, grads, value=value)
        return jaxlr.current_lr(optimizer.opt_state, schedule)

    applied, read = [], []
    for value in (1.0, 2.0, 3.0, 0.5, 0.6):  # plateau (patience 0): cuts at 2.0, 3.0 and 0.6
        before = float(model.kernel[...][0, 0])
        read.append(float(train_step(model, optimizer, value)))
        applied.append(before - float(model.kernel[...][0, 0]))  # sgd: rate x gradient 1
        if len(read) == 1:  # the count is 1 now: schedule(optimizer.step) is the next update's rate
            assert float(schedule(optimizer.step[...])) == pytest.approx(0.4)
    np.testing.assert_allclose(read, applied, rtol=1e-5)
    np.testing.assert_allclose(read, [0.2, 0.4 * 0.5, 0.6 * 0.25, 0.8 * 0.25, 1.0 * 0.125], rtol=1e-6)


def test_current_lr_with_a_schedule_refuses_what_it_cannot_read():
    params = jnp.zeros(2)
    with pytest.raises(TypeError, match="schedule must be a callable"):
        jaxlr.current_lr(optax.sgd(jaxlr.constant(0.1)).init(params), 0.1)
    with pytest.raises(ValueError, match=r"with schedule=, the optimizer must take that schedule"):
        jaxlr.current_lr(optax.sgd(0.1).init(params), jaxlr.constant(0.1))
    with pytest.raises(ValueError, match=r"current_lr\(opt_state, schedule\)"):
        jaxlr.current_lr(optax.sgd(jaxlr.constant(0.1)).init(params))
