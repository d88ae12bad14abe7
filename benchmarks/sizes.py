"""How big each measurement is in a full run and in a quick (CI) run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Sizes:
    quick: bool
    n_steps: int  # steps per evaluation (vs_optax, composition)
    repetitions: int
    compile_repetitions: int  # compilations timed per program (their median)
    width: int  # the MLP of the train-step and compile measurements
    updates_per_call: int  # updates in one timed call of a train step
    pieces: tuple[int, ...]  # K of the composition measurement
    optax_max_pieces: int  # largest K to compile optax at
    sweep_ns: tuple[int, ...]
    sweep_steps: int
    sweep_width: int
    sweep_repetitions: int
    torch_calls: int
    eager_calls: int  # consecutive host calls timed per repetition (eager)
    eager_repetitions: int
    big_join: tuple[int, int]  # the small and the big K of the join measurement

    @classmethod
    def make(cls, quick: bool, optax_max_pieces: int = 10_000) -> Sizes:
        if quick:
            return cls(quick=True, n_steps=10_000, repetitions=5, compile_repetitions=1, width=16, updates_per_call=10,
                       pieces=(2, 16), optax_max_pieces=optax_max_pieces, sweep_ns=(1, 4), sweep_steps=20,
                       sweep_width=32, sweep_repetitions=3, torch_calls=200, eager_calls=20, eager_repetitions=3,
                       big_join=(16, 64))
        return cls(quick=False, n_steps=1_000_000, repetitions=30, compile_repetitions=3, width=256,
                   updates_per_call=100, pieces=(2, 10, 100, 1000, 3000, 10_000), optax_max_pieces=optax_max_pieces,
                   sweep_ns=(1, 4, 16, 64, 256), sweep_steps=200, sweep_width=32, sweep_repetitions=5,
                   torch_calls=20_000, eager_calls=2_000, eager_repetitions=9, big_join=(16, 10_000))
