"""The learning-rate range test (Smith 2017; fastai's ``lr_find``) as one compiled program.

A short training run whose learning rate grows exponentially from ``min_lr`` to ``max_lr``,
recording the loss of every step: the loss falls once the rate is large enough to learn and
blows up once it is too large, and a good peak rate lies in between. The ramp is a jaxlr
schedule given to the user's optax optimizer, the loop a ``lax.scan``, the stop at divergence
a mask inside the program, and several data orders or initialisations run in the same program
under ``jax.vmap``, their curves averaged.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxlr._base import check, check_flag, check_positive, float_dtype
from jaxlr.warmup import exponential_warmup

RULES = ("valley", "steepest", "minimum", "slide")
"""The suggestion rules, by name (see :meth:`LRFinderResult.suggest`)."""

SLIDE_LR_DIFF = 15
SLIDE_THRESHOLD = 0.005

Optimizer = Callable[[Any], optax.GradientTransformation]


# ----------------------------------------------------------------------------- suggestions


def _valley_index(losses: np.ndarray) -> int:
    """fastai's valley: the longest strictly decreasing subsequence, a point half way along it.

    ``length[i]`` is the length of the longest decreasing subsequence ending at ``i``; ``end``
    the first index of the longest; ``start = end - length[end]``; the point is
    ``start + int(length / 3) + int(length / 6)`` (fastai's ``sections``).
    """
    n = len(losses)
    length = np.ones(n, dtype=np.int64)
    for i in range(1, n):
        higher = losses[:i] > losses[i]
        if np.any(higher):
            length[i] = 1 + int(np.max(length[:i][higher]))
    end = int(np.argmax(length))
    start = end - int(length[end])
    sections = (end - start) / 3
    # fastai's start is one before the subsequence's first point; for a two-point valley at
    # the very start that is -1, which fastai reads as the last point. Here it is the first.
    return max(start + int(sections) + int(sections / 2), 0)


def _slide_lr(lrs: np.ndarray, losses: np.ndarray) -> float:
    """fastai's slide: from the end, slide a window of ``SLIDE_LR_DIFF`` points to the left
    while the loss gradients at its two ends differ by more than ``SLIDE_THRESHOLD``."""
    gradient = np.gradient(losses)
    right, left = -1, -1 - SLIDE_LR_DIFF
    found = lrs[left]
    while left >= -len(losses) and abs(gradient[right] - gradient[left]) > SLIDE_THRESHOLD:
        found = lrs[left]
        right, left = right - 1, left - 1
    return float(found)


def _suggest(rule: str, lrs: np.ndarray, losses: np.ndarray) -> float:
    if rule == "valley":
        return float(lrs[_valley_index(losses)])
    if rule == "steepest":
        slopes = np.diff(losses) / np.diff(np.log(lrs))
        return float(lrs[int(np.argmin(slopes))])
    if rule == "minimum":
        return float(lrs[int(np.argmin(losses))]) / 10
    return _slide_lr(lrs, losses)


MIN_POINTS = {"valley": 1, "steepest": 2, "minimum": 1, "slide": SLIDE_LR_DIFF + 1}


# ----------------------------------------------------------------------------- result


@dataclasses.dataclass(frozen=True, eq=False)
class LRFinderResult:
    """What :func:`lr_find` measured, and the learning rates its rules suggest.

    The curves hold the steps run up to and including the step where the loss diverged
    (without that step when its loss is not finite), so they are finite. With repeats they
    are the mean over the repeats, up to the step where the first repeat stopped.

    Attributes:
        learning_rates: the rate of every step recorded, ``(n,)``.
        losses: the training loss of each step (of the parameters before its update).
        smoothed_losses: the bias-corrected exponential moving average of the losses.
        divergence_step: the first step where the loss diverged (the smoothed loss rose above
            ``diverge_factor`` times its best, or the loss was not finite); ``None`` if none did.
        divergence_lr: the learning rate of that step, or ``None``.
        repeat_losses, repeat_smoothed_losses: each repeat's curves, ``(num_repeats, n)``.
        repeat_divergence_steps: each repeat's divergence step (or ``None``).
        num_steps: the steps asked for; rule, skip_start, skip_end: the suggestion defaults.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    divergence_step: int | None
    divergence_lr: float | None
    repeat_losses: np.ndarray
    repeat_smoothed_losses: np.ndarray
    repeat_divergence_steps: tuple[int | None, ...]
    num_steps: int
    rule: str
    skip_start: int
    skip_end: int

    def suggest(self, rule: str | None = None, *, skip_start: int | None = None, skip_end: int | None = None) -> float:
        """The learning rate a rule suggests, from the smoothed curve less ``skip_start``
        points at the start and ``skip_end`` at the end (fastai's ``num_steps // 10`` and 5).

        Rules (``lrs`` and ``L`` the trimmed rates and smoothed losses):

        - ``"steepest"`` (the default; fastai's ``steep``): ``lrs[argmin((L[i+1] - L[i]) /
          (log lrs[i+1] - log lrs[i]))]``, the left end of the steepest descent per decade.
          (Lightning differentiates with respect to the rate itself, which favours small
          rates; pytorch-lr-finder takes central differences per step.) On the digits CNN
          it was the one rule whose run came within 10% of the best grid peak, with adamw
          and with SGD + momentum, and 4 repeats steady it most (docs/lr_finder.md).
        - ``"valley"`` (fastai's default): the longest strictly decreasing subsequence of
          ``L``, of length ``m`` ending at ``e``; ``lrs[s + int(m/3) + int(m/6)]`` with
          ``s = e - m``: about half way down the longest descent.
        - ``"minimum"``: ``lrs[argmin L] / 10`` (fastai's ``minimum``).
        - ``"slide"`` (fastai's): a window of 15 points slides left from the end while the
          loss gradients per step at its two ends differ by more than 0.005; its left end.
          The threshold is absolute, so this rule depends on the loss's scale.

        Raises ``ValueError`` when too few points remain (the loss diverged early: lower
        ``min_lr``, or raise ``num_steps``).
        """
        rule = self.rule if rule is None else rule
        _check_rule(rule)
        skip_start = self.skip_start if skip_start is None else _count("skip_start", skip_start)
        skip_end = self.skip_end if skip_end is None else _count("skip_end", skip_end)
        n = len(self.learning_rates)
        lrs = self.learning_rates[skip_start:max(n - skip_end, 0)]
        losses = self.smoothed_losses[skip_start:max(n - skip_end, 0)]
        if len(lrs) < MIN_POINTS[rule]:
            where = (f"the loss diverged at step {self.divergence_step} (lr={self.divergence_lr:.3g})"
                     if self.divergence_step is not None else f"{n} steps were recorded")
            raise ValueError(
                f"rule {rule!r} needs at least {MIN_POINTS[rule]} points, and {len(lrs)} remain: {where}, and "
                f"skip_start={skip_start} and skip_end={skip_end} are left out. Lower min_lr, raise num_steps, "
                "or pass a smaller skip_start or skip_end"
            )
        return _suggest(rule, lrs, losses)

    @property
    def suggestion(self) -> float:
        """The learning rate suggested by the default rule (``rule``)."""
        return self.suggest()

    @property
    def suggestions(self) -> dict[str, float]:
        """Every rule's suggestion, by rule name (rules without enough points left out)."""
        found = {}
        for rule in RULES:
            try:
                found[rule] = self.suggest(rule)
            except ValueError:
                continue
        return found

    def plot(self, path: str | Path, *, title: str | None = None) -> Path:
        """Draws the loss against the learning rate (log scale) to ``path`` (PNG, SVG or PDF
        by its extension): the losses, the smoothed curve (and each repeat's), every rule's
        suggestion and the divergence. Needs matplotlib (``pip install 'jaxlr[plot]'``)."""
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("LRFinderResult.plot needs matplotlib: pip install 'jaxlr[plot]' "
                              "(or pip install matplotlib)") from None
        path = Path(path)
        figure, axes = plt.subplots(figsize=(7, 4.2))
        lrs = self.learning_rates
        axes.plot(lrs, self.losses, color="0.75", linewidth=0.8, label="loss")
        if len(self.repeat_losses) > 1:
            for curve in self.repeat_smoothed_losses:
                axes.plot(lrs, curve, color="tab:blue", alpha=0.25, linewidth=0.8)
        axes.plot(lrs, self.smoothed_losses, color="tab:blue", linewidth=2,
                  label="smoothed" + (f" (mean of {len(self.repeat_losses)})" if len(self.repeat_losses) > 1 else ""))
        markers = {"valley": "o", "steepest": "v", "minimum": "s", "slide": "D"}
        for (rule, lr), color in zip(self.suggestions.items(), ("tab:red", "tab:green", "tab:purple", "tab:orange"),
                                     strict=False):
            loss = float(np.interp(np.log(lr), np.log(lrs), self.smoothed_losses))
            default = " (default)" if rule == self.rule else ""
            axes.plot([lr], [loss], markers[rule], color=color, markersize=8, label=f"{rule}{default}: {lr:.3g}")
        if self.divergence_lr is not None:
            axes.axvline(self.divergence_lr, color="0.3", linestyle=":", label=f"diverged: {self.divergence_lr:.3g}")
        shown = slice(0, max(len(lrs) - self.skip_end, 1))
        if len(lrs):
            low = float(min(self.losses[shown].min(), self.smoothed_losses.min()))
            high = float(self.smoothed_losses[shown].max())
            margin = 0.08 * max(high - low, abs(high) * 1e-3, 1e-12)
            axes.set_ylim(low - margin, high + 3 * margin)
        axes.set_xscale("log")
        axes.set_xlabel("learning rate")
        axes.set_ylabel("training loss")
        axes.set_title(title or f"learning-rate range test, {len(lrs)} of {self.num_steps} steps")
        axes.grid(True, which="both", alpha=0.25)
        axes.legend(fontsize=8)
        figure.tight_layout()
        figure.savefig(path, dpi=120)
        plt.close(figure)
        return path


# ----------------------------------------------------------------------------- validation


def _check_rule(rule: Any) -> None:
    if not isinstance(rule, str):
        raise TypeError(f"rule must be a string, one of {', '.join(map(repr, RULES))}, got {rule!r}")
    if rule not in RULES:
        raise ValueError(f"rule must be one of {', '.join(map(repr, RULES))}, got {rule!r}")


def _count(name: str, value: Any, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _is_nnx_module(value: Any) -> bool:
    nnx = sys.modules.get("flax.nnx")
    return nnx is not None and isinstance(value, nnx.Module)


def _check_variables(name: str, value: Any) -> None:
    if _is_nnx_module(value):
        raise TypeError(f"{name} must be a pytree of arrays, or a function of a PRNG key that returns one; got a "
                        f"Flax NNX module: split it, graphdef, params, rest = nnx.split(model, nnx.Param, ...), pass "
                        "params (and state=rest), and nnx.merge(graphdef, params, state) in loss_fn")


def _keys(key: Any, num_repeats: int) -> tuple[jax.Array, bool]:
    """The run keys (typed) and whether there are several (a batch, run under vmap)."""
    if key is None:
        key = jax.random.key(0)
    try:
        array = jnp.asarray(key)
    except TypeError:
        raise TypeError(f"key must be a jax.random.key (or a batch of them), got {key!r}") from None
    if not jnp.issubdtype(array.dtype, jax.dtypes.prng_key):
        if array.dtype != jnp.uint32 or array.ndim == 0 or array.shape[-1] != 2:
            raise TypeError(f"key must be a jax.random.key (or a batch of them), got an array of dtype {array.dtype} "
                            f"and shape {array.shape}")
        array = jax.random.wrap_key_data(array)
    if array.ndim > 1:
        raise ValueError(f"key must be one key or a one-dimensional batch of keys, got shape {array.shape}")
    if array.ndim == 1:
        if len(array) == 0:
            raise ValueError("key must hold at least one key, got an empty batch")
        if num_repeats not in (1, len(array)):
            raise ValueError(f"num_repeats={num_repeats} does not match the batch of {len(array)} keys: give one")
        return (array, True) if len(array) > 1 else (array[0], False)
    if num_repeats > 1:
        return jax.random.split(array, num_repeats), True
    return array, False


def _leading(batches: Any, num_steps: int) -> int:
    """The number of batches in a pytree of arrays that all lead with it."""
    leaves = jax.tree_util.tree_leaves_with_path(batches)
    if not leaves:
        raise ValueError("batches must be a pytree of arrays with a leading batch axis, or an iterator of batches; "
                         f"got {batches!r}, which holds no array")
    sizes = set()
    for path, leaf in leaves:
        shape = np.shape(leaf)
        where = jax.tree_util.keystr(path) or "batches"
        if not hasattr(leaf, "shape") or len(shape) == 0:
            raise ValueError(f"batches must be a pytree of arrays with a leading batch axis, or an iterator of "
                             f"batches; batches{where if where != 'batches' else ''} is {leaf!r}")
        sizes.add(shape[0])
    if len(sizes) > 1:
        raise ValueError(f"every array in batches must have the same leading axis (one entry per batch), got "
                         f"{sorted(sizes)}")
    size = sizes.pop()
    if size < num_steps:
        raise ValueError(f"batches must hold at least num_steps={num_steps} batches along their leading axis, got "
                         f"{size}")
    return size


def _optimizer(optimizer: Any, ramp: exponential_warmup) -> optax.GradientTransformation:
    if isinstance(optimizer, optax.GradientTransformation) or not callable(optimizer):
        raise TypeError("optimizer must be a function learning_rate -> optax.GradientTransformation, such as "
                        f"optax.adamw or lambda lr: optax.sgd(lr, momentum=0.9); got {optimizer!r}")
    transform = optimizer(ramp)
    if not (hasattr(transform, "init") and hasattr(transform, "update")):
        raise TypeError(f"optimizer(learning_rate) must return an optax.GradientTransformation, got {transform!r}")
    return transform


# ----------------------------------------------------------------------------- the program


@dataclasses.dataclass(frozen=True)
class _Program:
    """Everything static about a range test: one compiled program per distinct value."""

    loss_fn: Callable[..., Any]
    optimizer: Optimizer
    has_aux: bool
    has_state: bool
    init_params: Callable[[jax.Array], Any] | None
    init_state: Callable[[jax.Array], Any] | None
    num_steps: int
    diverge: bool
    shuffle: bool
    repeats: bool

    def loss_and_grad(self, params: Any, state: Any, batch: Any) -> tuple[jax.Array, Any, Any]:
        def loss_of(p: Any) -> tuple[jax.Array, Any]:
            # The state rebuilt here, under the gradient's trace: a Flax NNX State holds Variable
            # objects, which may only be mutated (batch statistics) in the trace that made them.
            current = jax.tree.map(lambda leaf: leaf, state)
            out = self.loss_fn(p, current, batch) if self.has_state else self.loss_fn(p, batch)
            if self.has_state or self.has_aux:
                if not (isinstance(out, tuple | list) and len(out) == 2):
                    raise TypeError(f"loss_fn must return a pair {self.returns()}, got {_describe(out)}")
                loss, rest = out
                if self.has_state and self.has_aux:
                    if not (isinstance(rest, tuple | list) and len(rest) == 2):
                        raise TypeError(f"loss_fn must return {self.returns()}, got (loss, {_describe(rest)})")
                    rest = rest[0]
                new_state = rest if self.has_state else state
            else:
                loss, new_state = out, state
            if isinstance(loss, tuple | list):
                hint = "; pass has_aux=True if it returns (loss, aux)" if not self.has_aux else ""
                raise TypeError(f"loss_fn must return {self.returns()}, got {_describe(out)}{hint}")
            if jnp.shape(loss) != () or not jnp.issubdtype(jnp.result_type(loss), jnp.floating):
                raise TypeError(f"loss_fn must return a scalar floating loss, got {_describe(loss)}")
            if self.has_state and _signature(new_state) != _signature(state):
                raise TypeError("loss_fn must return a new state of the structure, shapes and dtypes of state; got "
                                f"{_signature(new_state)} for {_signature(state)}")
            return loss, new_state

        (loss, new_state), grads = jax.value_and_grad(loss_of, has_aux=True)(params)
        return loss, new_state, grads

    def returns(self) -> str:
        if self.has_state:
            return "(loss, (new_state, aux))" if self.has_aux else "(loss, new_state)"
        return "(loss, aux)" if self.has_aux else "a scalar loss"

    def start(self, hyper: dict[str, Any], key: jax.Array, params: Any, state: Any) -> tuple[dict[str, Any], Any]:
        """The carry of one run, and its data key."""
        data_key, init_key = jax.random.split(key)
        if self.init_params is not None:
            params = self.init_params(init_key)
        if self.init_state is not None:
            state = self.init_state(init_key)
        transform = self.optimizer(hyper["ramp"])
        carry = {
            "params": params, "state": state, "opt_state": transform.init(params),
            "average": jnp.zeros((), float_dtype()), "best": jnp.full((), jnp.inf, float_dtype()),
            "stopped": jnp.zeros((), bool),
        }
        return carry, data_key

    def step(self, hyper: dict[str, Any], carry: dict[str, Any], t: jax.Array, batch: Any) -> tuple[dict, dict]:
        """One step of the range test; after a stop (or past num_steps) the carry is held."""
        transform = self.optimizer(hyper["ramp"])
        active = ~carry["stopped"] & (t < self.num_steps)

        def train(c: dict[str, Any]) -> tuple[dict[str, Any], jax.Array]:
            loss, new_state, grads = self.loss_and_grad(c["params"], c["state"], batch)
            extra = {"value": loss} if isinstance(transform, optax.GradientTransformationExtraArgs) else {}
            updates, opt_state = transform.update(grads, c["opt_state"], c["params"], **extra)
            params = optax.apply_updates(c["params"], updates)
            return {**c, "params": params, "state": new_state, "opt_state": opt_state}, loss.astype(float_dtype())

        def hold(c: dict[str, Any]) -> tuple[dict[str, Any], jax.Array]:
            return c, jnp.zeros((), float_dtype())

        new, loss = jax.lax.cond(active, train, hold, carry)
        beta = hyper["smoothing"]
        average = jnp.where(active, beta * carry["average"] + (1 - beta) * loss, carry["average"])
        smoothed = average / (1 - beta ** (t + 1).astype(float_dtype()))
        best = jnp.where(active, jnp.minimum(carry["best"], smoothed), carry["best"])
        bad = ~jnp.isfinite(loss) | ~jnp.isfinite(smoothed)
        if self.diverge:
            bad = bad | (smoothed > hyper["diverge_factor"] * best)
        diverged = active & bad
        new = {**new, "average": average, "best": best, "stopped": carry["stopped"] | diverged}
        return new, {"loss": loss, "smoothed": smoothed, "ran": active, "diverged": diverged}

    def run_arrays(self, hyper: dict[str, Any], keys: jax.Array, params: Any, state: Any, batches: Any) -> dict:
        """The whole test over batches held as arrays: one scan per repeat, repeats vmapped."""
        size = jax.tree_util.tree_leaves(batches)[0].shape[0]

        def one(key: jax.Array) -> dict[str, jax.Array]:
            carry, data_key = self.start(hyper, key, params, state)
            steps = jnp.arange(self.num_steps)
            order = jax.random.permutation(data_key, size)[: self.num_steps] if self.shuffle else steps

            def body(c: dict[str, Any], xs: tuple[jax.Array, jax.Array]) -> tuple[dict, dict]:
                t, index = xs
                return self.step(hyper, c, t, jax.tree.map(lambda a: a[index], batches))

            return jax.lax.scan(body, carry, (steps, order))[1]

        return jax.vmap(one)(keys) if self.repeats else one(keys)

    def begin(self, hyper: dict[str, Any], keys: jax.Array, params: Any, state: Any) -> dict[str, Any]:
        def one(key: jax.Array) -> dict[str, Any]:
            return self.start(hyper, key, params, state)[0]

        return jax.vmap(one)(keys) if self.repeats else one(keys)

    def run_chunk(self, hyper: dict[str, Any], carry: dict[str, Any], first: jax.Array, chunk: Any) -> tuple:
        """Steps ``first, first + 1, ...`` over a chunk of stacked batches (one chunk per repeat)."""

        def one(c: dict[str, Any], batches: Any) -> tuple[dict, dict]:
            size = jax.tree_util.tree_leaves(batches)[0].shape[0]

            def body(c: dict[str, Any], xs: tuple[jax.Array, Any]) -> tuple[dict, dict]:
                return self.step(hyper, c, *xs)

            return jax.lax.scan(body, c, (first + jnp.arange(size), batches))

        return jax.vmap(one)(carry, chunk) if self.repeats else one(carry, chunk)


def _describe(value: Any) -> str:
    if isinstance(value, tuple | list):
        return f"a {type(value).__name__} of {len(value)}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"an array of shape {tuple(value.shape)} and dtype {value.dtype}"
    return repr(value)


def _signature(tree: Any) -> Any:
    leaves, structure = jax.tree_util.tree_flatten(tree)
    return structure, [(tuple(np.shape(leaf)), leaf.dtype if hasattr(leaf, "dtype") else jnp.result_type(leaf))
                       for leaf in leaves]


@functools.lru_cache(maxsize=16)
def _compiled(program: _Program, name: str) -> Callable[..., Any]:
    return jax.jit(getattr(program, name))


def _stack(batches: list[Any], repeats: int) -> Any:
    """``steps x repeats`` batches, drawn step by step, stacked as ``(repeats, steps, ...)``
    (``(steps, ...)`` for one repeat)."""
    stacked = jax.tree.map(lambda *leaves: np.stack([np.asarray(leaf) for leaf in leaves]), *batches)
    if repeats == 1:
        return stacked
    return jax.tree.map(lambda a: np.swapaxes(a.reshape(-1, repeats, *a.shape[1:]), 0, 1), stacked)


def _run_iterator(program: _Program, hyper: dict[str, Any], keys: jax.Array, params: Any, state: Any,
                  batches: Iterator[Any], chunk_steps: int, repeats: int) -> dict[str, np.ndarray]:
    carry = _compiled(program, "begin")(hyper, keys, params, state)
    run_chunk = _compiled(program, "run_chunk")
    outputs, drawn, structure, last = [], 0, None, None
    for first in range(0, program.num_steps, chunk_steps):
        wanted = min(chunk_steps, program.num_steps - first) * repeats
        pulled = []
        for _ in range(wanted):
            try:
                batch = next(batches)
            except StopIteration:
                needed = program.num_steps * repeats
                raise ValueError(f"batches ran out after {drawn} batches; num_steps x num_repeats = "
                                 f"{program.num_steps} x {repeats} = {needed} are needed") from None
            shapes = _signature(batch)
            if structure is None:
                structure = shapes
            elif shapes != structure:
                raise ValueError(f"every batch must have the structure, shapes and dtypes of the first; batch {drawn} "
                                 f"has {shapes}, the first {structure}")
            pulled.append(batch)
            drawn += 1
        last = pulled[-repeats:]
        # The last chunk is padded to full length with copies of the last batches, and those
        # steps (past num_steps) are masked: one compiled program for every chunk.
        pulled += last * (chunk_steps - len(pulled) // repeats)
        carry, out = run_chunk(hyper, carry, jnp.asarray(first), _stack(pulled, repeats))
        outputs.append(jax.device_get(out))
        if bool(np.all(jax.device_get(carry["stopped"]))):
            break
    axis = 1 if program.repeats else 0
    merged = {name: np.concatenate([o[name] for o in outputs], axis=axis) for name in outputs[0]}
    total = merged["ran"].shape[axis]
    if total < program.num_steps:  # stopped early: the chunks not run are steps not run
        pad = [(0, 0)] * merged["ran"].ndim
        pad[axis] = (0, program.num_steps - total)
        merged = {name: np.pad(value, pad) for name, value in merged.items()}
    return {name: np.take(value, np.arange(program.num_steps), axis=axis) for name, value in merged.items()}


# ----------------------------------------------------------------------------- the entry point


def lr_find(
    loss_fn: Callable[..., Any],
    params: Any,
    optimizer: Optimizer,
    batches: Any,
    *,
    min_lr: float = 1e-7,
    max_lr: float = 10.0,
    num_steps: int = 100,
    has_aux: bool = False,
    state: Any = None,
    smoothing: float = 0.98,
    diverge_factor: float | None = 4.0,
    num_repeats: int = 1,
    key: jax.Array | None = None,
    shuffle: bool | None = None,
    chunk_steps: int = 10,
    rule: str = "steepest",
    skip_start: int | None = None,
    skip_end: int = 5,
) -> LRFinderResult:
    """Runs a learning-rate range test and suggests a peak learning rate.

    Trains from ``params`` for ``num_steps`` steps with ``optimizer`` at an exponentially
    growing learning rate, recording the loss of every step, and stops once the loss
    diverges. The training is thrown away: ``params`` are not changed.

    Formulas, for step ``t = 0 .. N - 1`` (``N = num_steps``):

    - ramp: ``lr(t) = min_lr * (max_lr / min_lr) ** (t / (N - 1))``, the jaxlr schedule
      ``exponential_warmup(max_lr, N - 1, init_value=min_lr)`` (pytorch-lr-finder's ramp,
      which ends at ``max_lr``; fastai's ``t / N`` stops one step short of it);
    - smoothing (fastai and Lightning, ``beta = smoothing``): ``a(t) = beta * a(t-1) +
      (1 - beta) * loss(t)`` from ``a(-1) = 0``, and ``smoothed(t) = a(t) / (1 - beta **
      (t + 1))``, the bias correction (``smoothing=0`` is the raw loss);
    - divergence (fastai and Lightning use a factor of 4, pytorch-lr-finder 5): the first step
      where ``smoothed(t) > diverge_factor * min(smoothed(0..t))``, or the loss is not
      finite. Later steps are masked in the program (their updates not applied, their losses
      not recorded); the rule needs positive losses (``diverge_factor=None`` turns it off).

    The ramp, the loop (a ``lax.scan``), the stop and the repeats (``jax.vmap``) are one
    compiled program, cached: a second call with the same ``loss_fn`` and ``optimizer``
    objects and shapes does not recompile, whatever ``min_lr`` and ``max_lr``.

    Args:
        loss_fn: ``loss_fn(params, batch) -> loss``, a scalar; with ``has_aux``,
            ``-> (loss, aux)`` (aux is ignored). With ``state``: ``loss_fn(params, state,
            batch) -> (loss, new_state)``, or ``(loss, (new_state, aux))`` with ``has_aux``,
            for batch statistics, dropout keys, or the non-parameter half of a Flax NNX model
            (``graphdef, params, state = nnx.split(model, nnx.Param, ...)``; ``nnx.merge``
            in ``loss_fn``).
        params: the parameters to start from, a pytree of arrays; or a function of a PRNG key
            that returns them, called with a different key for each repeat.
        optimizer: ``learning_rate -> optax.GradientTransformation``: ``optax.adamw``,
            ``lambda lr: optax.sgd(lr, momentum=0.9)``, any chain. It is given the ramp, and
            must evaluate it at its update count, as every optax optimizer does.
        batches: a pytree of arrays with a leading axis of at least ``num_steps`` batches
            (``{"x": (S, B, ...), "y": (S, B)}``), one per step in order (in a random order
            per repeat with ``shuffle``); or an iterator of batches, for data that does not
            fit in memory: then ``chunk_steps`` steps (times ``num_repeats`` batches, drawn
            step by step, the repeats in turn) are stacked and run at a time by one compiled
            program, and no more are drawn once every repeat has stopped.
        min_lr, max_lr: the ramp's first and last learning rates, ``0 < min_lr < max_lr``.
        num_steps: the steps of the ramp, at least 2.
        has_aux: whether ``loss_fn`` returns auxiliary output (see ``loss_fn``).
        state: the initial state threaded through ``loss_fn``, or a function of a PRNG key
            that returns it (called with the key ``params`` gets); ``None`` for none.
        smoothing: the moving average's ``beta``, in ``[0, 1)``.
        diverge_factor: the divergence factor, ``> 1``, or ``None`` to stop only at a loss
            that is not finite.
        num_repeats: runs in the same program under ``vmap``, with keys split from ``key``;
            their curves are averaged. Each differs by its data order (``shuffle``), its
            initial ``params`` or ``state`` (when functions of a key) or, from an iterator,
            its batches.
        key: a ``jax.random.key`` (default ``key(0)``), or a batch of keys, one per repeat.
        shuffle: draw each run's batches in a random order from its key (a permutation of
            all the batches, the first ``num_steps`` of it). Default: on with repeats, off
            otherwise. Only for batches held as arrays.
        chunk_steps: steps per compiled call when ``batches`` is an iterator.
        rule: the default suggestion rule, one of ``RULES`` (see
            :meth:`LRFinderResult.suggest`).
        skip_start, skip_end: points of the curve the rules leave out at the start and at
            the end (fastai: ``num_steps // 10`` and 5).

    Returns:
        an :class:`LRFinderResult`: the curves, the divergence, ``suggestion``,
        ``suggestions`` by rule and ``plot(path)``.

    Example, on a quadratic with curvature ``h = 4``, where SGD diverges above ``2 / h``:

        >>> import jax, jax.numpy as jnp, optax, jaxlr
        >>> targets = 1.0 + 0.1 * jax.random.normal(jax.random.key(0), (100, 3))
        >>> def loss_fn(w, target):
        ...     return 2.0 * jnp.sum((w - target) ** 2) + 0.1
        >>> result = jaxlr.lr_find(loss_fn, jnp.zeros(3), optax.sgd, targets, min_lr=1e-4, max_lr=10.0)
        >>> 0.5 < result.divergence_lr < 1.5, result.suggestion < 0.5
        (True, True)
    """
    if not callable(loss_fn) or _is_nnx_module(loss_fn):
        raise TypeError(f"loss_fn must be a function loss_fn(params, batch) -> loss, got {loss_fn!r}")
    _check_variables("params", params)
    _check_variables("state", state)
    check_positive("min_lr", min_lr)
    check_positive("max_lr", max_lr)
    if not float(min_lr) < float(max_lr):
        raise ValueError(f"min_lr must be < max_lr, got min_lr={min_lr} and max_lr={max_lr}")
    num_steps = _count("num_steps", num_steps, minimum=2)
    check_flag("has_aux", has_aux)
    check("smoothing", smoothing, "in [0, 1)", lambda v: (v >= 0) & (v < 1))
    if diverge_factor is not None:
        check("diverge_factor", diverge_factor, "> 1 (or None)", lambda v: v > 1)
    num_repeats = _count("num_repeats", num_repeats, minimum=1)
    keys, repeated = _keys(key, num_repeats)
    repeats = len(keys) if repeated else 1
    chunk_steps = _count("chunk_steps", chunk_steps, minimum=1)
    _check_rule(rule)
    skip_start = num_steps // 10 if skip_start is None else _count("skip_start", skip_start)
    skip_end = _count("skip_end", skip_end)
    from_iterator = isinstance(batches, Iterator)
    if shuffle is None:
        shuffle = repeated and not from_iterator
    check_flag("shuffle", shuffle)
    if shuffle and from_iterator:
        raise ValueError("shuffle needs batches held as arrays; an iterator gives its batches in its own order "
                         "(shuffle it there)")
    if not from_iterator:
        _leading(batches, num_steps)

    ramp = exponential_warmup(max_lr, num_steps - 1, init_value=min_lr)
    _optimizer(optimizer, ramp)
    program = _Program(
        loss_fn=loss_fn, optimizer=optimizer, has_aux=has_aux, has_state=state is not None,
        init_params=params if callable(params) else None, init_state=state if callable(state) else None,
        num_steps=num_steps, diverge=diverge_factor is not None, shuffle=bool(shuffle), repeats=repeated,
    )
    hyper = {
        "ramp": ramp, "smoothing": jnp.asarray(smoothing, float_dtype()),
        "diverge_factor": jnp.asarray(1.0 if diverge_factor is None else diverge_factor, float_dtype()),
    }
    fixed_params = None if callable(params) else params
    fixed_state = None if callable(state) else state
    if from_iterator:
        out = _run_iterator(program, hyper, keys, fixed_params, fixed_state, batches, chunk_steps, repeats)
    else:
        out = jax.device_get(_compiled(program, "run_arrays")(hyper, keys, fixed_params, fixed_state, batches))
    if not repeated:
        out = {name: np.asarray(value)[None] for name, value in out.items()}
    return _result(out, ramp, num_steps, diverge_factor, rule, skip_start, skip_end)


def _result(out: dict[str, np.ndarray], ramp: exponential_warmup, num_steps: int, diverge_factor: float | None,
            rule: str, skip_start: int, skip_end: int) -> LRFinderResult:
    losses = np.asarray(out["loss"], np.float64)
    smoothed = np.asarray(out["smoothed"], np.float64)
    lengths, divergences = [], []
    for r in range(len(losses)):
        ran = int(np.sum(out["ran"][r]))
        hits = np.flatnonzero(out["diverged"][r])
        step = int(hits[0]) if len(hits) else None
        finite = ran > 0 and np.isfinite(losses[r, ran - 1]) and np.isfinite(smoothed[r, ran - 1])
        lengths.append(ran if finite else ran - 1)
        divergences.append(step)
        if diverge_factor is not None and lengths[-1] > 0 and np.min(smoothed[r, : lengths[-1]]) <= 0:
            worst = int(np.argmin(smoothed[r, : lengths[-1]]))
            raise ValueError(
                f"diverge_factor: the divergence rule (smoothed loss > diverge_factor x best smoothed loss) needs "
                f"positive losses, and the smoothed loss was {smoothed[r, worst]:.6g} at step {worst}: shift the "
                "loss above 0, or pass diverge_factor=None (a loss that is not finite still stops the test)"
            )
    n = min(lengths)
    stopped = [d for d in divergences if d is not None]
    divergence = min(stopped) if stopped else None
    lrs = np.asarray(ramp(jnp.arange(num_steps)), np.float64)
    return LRFinderResult(
        learning_rates=lrs[:n],
        losses=losses[:, :n].mean(axis=0),
        smoothed_losses=smoothed[:, :n].mean(axis=0),
        divergence_step=divergence,
        divergence_lr=None if divergence is None else float(lrs[divergence]),
        repeat_losses=losses[:, :n],
        repeat_smoothed_losses=smoothed[:, :n],
        repeat_divergence_steps=tuple(divergences),
        num_steps=num_steps,
        rule=rule,
        skip_start=skip_start,
        skip_end=skip_end,
    )


__all__ = ["RULES", "LRFinderResult", "lr_find"]

