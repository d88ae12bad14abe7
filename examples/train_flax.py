"""Train a small CNN with Flax NNX, optax and a jaxlr schedule, on any device: the main job.

    python examples/train_flax.py                  # the digits, adamw, warmup then cosine
    python examples/train_flax.py --help           # every flag, resume, devices

The code is the package ``flax_digits/`` beside this file, one job per file:

    data.py      the digits, MNIST IDX or npz files, and each epoch's batch order
    model.py     the CNN, its training loss and its evaluation
    optim.py     the schedule (default, config string or family name) and the optimizers
    train.py     the train step, the data-parallel Trainer over a device mesh, one epoch
    logs.py      progress lines or bars, metrics.csv, TensorBoard events, curves.png
    distributed.py  several processes: jax.distributed, global arrays, process 0 first
    cli.py       the flags and their checks, and a resumed run's settings
    run_dir.py   the run directory, checkpoints, and what --resume restores
    find_lr.py   --lr find: the range test before training, its plot and curve
    main.py      the run: set up, the epoch loop (log, then checkpoint), the final test
"""

from flax_digits.main import main

if __name__ == "__main__":
    main()
