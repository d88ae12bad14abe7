"""Several processes (hosts of a GPU cluster or a TPU pod slice, or processes on one machine):
starting ``jax.distributed``, global arrays that every process fills with its own rows, and
the one place where process 0 acts alone (claiming or trimming the run directory) while the
others wait for it.

Every process runs the same command on the same data, so every check that reads the flags or
the data fails alike in all of them; what only process 0 does is done in :func:`lead_first`,
whose outcome it hands on, so a refusal there stops every process, not process 0 alone."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import jax
import numpy as np
from jax.sharding import Sharding

T = TypeVar("T")


def initialize(args: argparse.Namespace) -> None:
    """``jax.distributed.initialize`` with the flags given (none: the cluster's auto-detection:
    SLURM, Open MPI, Cloud TPU, Kubernetes...), before anything else touches a device.

    On CPU, cross-process collectives need an implementation: gloo, which jaxlib ships (a
    setting the user made, such as ``mpi``, is kept). GPUs and TPUs use their own (NCCL, ICI).
    Raises ``ValueError`` naming the flags when JAX refuses them or cannot reach the coordinator."""
    if jax.config.jax_cpu_collectives_implementation in (None, "none"):
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    try:
        jax.distributed.initialize(coordinator_address=args.coordinator_address, num_processes=args.num_processes,
                                   process_id=args.process_id)
    except (RuntimeError, ValueError) as error:
        given = [f"--{key.replace('_', '-')} {value}" for key, value in
                 (("coordinator_address", args.coordinator_address), ("num_processes", args.num_processes),
                  ("process_id", args.process_id)) if value is not None]
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise ValueError(f"--distributed{' with ' + ', '.join(given) if given else ''}: jax.distributed.initialize "
                         f"failed: {detail[:300]}") from None


def global_array(sharding: Sharding, array: np.ndarray) -> jax.Array:
    """``array`` (the same global value in every process) as one array laid out by ``sharding``
    over the devices of every process; each process puts on its own devices only the rows they
    hold, wherever the mesh places them. One process: a plain ``device_put``."""
    if jax.process_count() == 1:
        return jax.device_put(array, sharding)
    array = np.asarray(array)
    return jax.make_array_from_callback(array.shape, sharding, lambda index: array[index])


def gather(tree: Any) -> Any:
    """Every process's copy of ``tree``, its arrays whole (NumPy), however they are sharded."""
    if jax.process_count() == 1:
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def lead_first(action: Callable[[], T], others: Callable[[], T]) -> T:
    """``action()`` in process 0, ``others()`` in the rest, once every process has come this far
    (all have read what they need); if process 0 exits (a refused run directory) or raises, the
    others exit with status 2 too instead of waiting for it in a collective."""
    if jax.process_count() == 1:
        return action()
    from jax.experimental import multihost_utils

    multihost_utils.sync_global_devices("flax_digits: every process checked its settings")
    failure: BaseException | None = None
    result: Any = None
    if jax.process_index() == 0:
        try:
            result = action()
        except BaseException as error:  # SystemExit from fail() included: hand it on, then re-raise
            failure = error
    succeeded = int(multihost_utils.broadcast_one_to_all(np.int32(failure is None)))
    if failure is not None:
        raise failure
    if not succeeded:
        print(f"train_flax.py: error: process {jax.process_index()}: process 0 stopped (see its error)",
              file=sys.stderr)
        raise SystemExit(2)
    return result if jax.process_index() == 0 else others()
