"""Train a small CNN with Flax NNX, optax and a jaxlr schedule, on any device.

The default data are the handwritten digits that ship inside scikit-learn (1,797 real 8x8
images, no download), split 70/10/20 into train, validation and test with a fixed seed.
``--data-dir DIR`` trains on MNIST instead, from its standard IDX files
(``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte[.gz]``, ``t10k-...``) or a
Keras-style ``mnist.npz`` (``x_train, y_train, x_test, y_test``) found in DIR; the last
10% of its training set (after a fixed shuffle) is the validation set.

The model is a CNN with batch normalization and dropout. The optimizer is any of sgd,
momentum, adam, adamw, rmsprop, adagrad or ranger (RAdam + lookahead) from optax, wrapped
in ``optax.inject_hyperparams`` so that the learning rate of every update can be read back
from the optimizer state (``jaxlr.current_lr``). The default schedule is a linear warmup
then a cosine decay, joined with ``optax.join_schedules``; ``--schedule`` takes any jaxlr
config string (``"wsd(peak_value=3e-3, total_steps='100%', warmup_steps=0.05,
decay_steps=0.2)"``: durations may be ``'N%'`` of the run or ``'Nep'`` epochs) or a bare
family name, whose learning rate and lengths are filled from ``--lr``, ``--warmup-epochs``
and the run's length.

``--lr find`` chooses the peak learning rate first with a range test (``jaxlr.lr_find``:
100 steps from 1e-7 to 10 on the run's own starting model, data order, loss and optimizer,
in one compiled program), prints every rule's suggestion, trains at the default rule's, and
saves the curve in the run directory (``lr_find.png``, ``lr_find.json``); ``config.json``
records the learning rate found, so ``--resume`` trains on with it. Not with ranger.

``--plateau`` chains ``jaxlr.reduce_on_plateau`` on the validation loss after the
optimizer; ``--early-stopping PATIENCE`` stops on the validation loss with Keras' rules and
restores the best parameters before the test. Both take their decisions on the loss of
the whole validation set, reduced over every device, so all devices decide alike.

Output: per epoch, on a terminal, a progress bar (loss, accuracy and the current learning
rate), and where stdout is a file, a pipe or a CI log, one plain line (``--progress
auto``; ``tqdm``, ``rich`` or ``none`` choose), each ending with the epoch's steps per
second (the first epoch's marked as including compilation); a summary; and a run
directory, printed: ``--out-dir/--run-name``, or by default ``--out-dir/flax-DATE-TIME``
(``-2``, ``-3``... appended when another run took that second). A run directory is never
reused: a ``--run-name`` that already holds files is refused (continue its run with
``--resume``). It holds ``config.json``, ``metrics.csv`` (per step: lr, train loss and
accuracy; per epoch: validation loss and accuracy), TensorBoard event files (``tensorboard
--logdir RUN_DIR``), ``curves.png`` and ``metrics.json`` (final test accuracy and loss,
validation loss and accuracy of the tested parameters, epochs run, wall time), plus an
orbax checkpoint after every epoch, saved once that epoch's logs are on disk.

Resume: ``--resume RUN_DIR`` continues a stopped or killed run from its last checkpoint
(from the start if it had none), with its saved configuration, and gives exactly the
learning rates and metrics of a run that was never stopped: data order and dropout keys
are functions of the seed, the epoch and the step, and everything else is in the
checkpoint. Log rows past the checkpoint (left by a kill between an epoch's logs and its
checkpoint) are dropped from ``metrics.csv`` and the event files, so each step is logged
once. A flag given with ``--resume`` must match the saved configuration, except:

- ``--epochs N``: the run continues to N epochs when the schedule at N epochs gives every
  step already trained the learning rate it had (a constant, a step decay, the default
  schedule still in its warmup), so that it is the run ``--epochs N`` would have been from
  the start. It is refused when those rates depend on the run's length (the default
  cosine past its warmup, ``'100%'`` lengths): stretching the schedule would change rates
  already used. Refused too after an early stop.
- ``--data-dir DIR``: where the run's data are now; refused for other data (config.json
  keeps the SHA-256 of the data).
- ``--stop-after``, ``--progress``, ``--distributed`` and its three flags, which belong to one
  invocation.

Every flag is checked before anything is written: a bad value (NaN or infinite, out of
range), a flag that would be ignored, damaged data, or a damaged config.json or checkpoint
on ``--resume`` is a one-line error (exit status 2) naming the flag or the file.

Devices: whatever ``jax.devices()`` gives (CPU, GPU, TPU), with no code change. The
training is data-parallel over all of them: a ``jax.sharding.Mesh`` with one ``data``
axis, each batch sharded along it, parameters and optimizer state replicated; XLA inserts
the gradient all-reduce, and batch-norm statistics and losses are over the global batch,
so the numbers equal a one-device run's to float rounding: ~1e-7 relative with SGD. (Adam
divides by the root of tiny second moments and so magnifies rounding differences, to ~1e-3
in the validation loss after two epochs: the same drift as between two machines.) Try it
on one CPU with

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/train_flax.py

Several processes (GPU nodes, a TPU pod slice, or processes on one machine): every process
runs the same command with ``--distributed``, which calls ``jax.distributed.initialize()``
before anything else: with ``--coordinator-address HOST:PORT --num-processes N --process-id
I`` where the cluster does not provide them (SLURM, Open MPI and Cloud TPU are detected). On
CPU the processes exchange through gloo. ``jax.devices()`` then lists every device of every
process, the mesh spans them, and each process puts on its own devices the rows of the
global batch that they hold: the global batch and the results are those of one process with
as many devices. A run needs ``--run-name`` and a directory that every process sees: process
0 alone claims it and writes config.json, the CSV, TensorBoard, curves.png and metrics.json
(if it refuses the directory, every process stops), and orbax writes the checkpoints from
all processes. ``--resume RUN_DIR`` continues with the same processes. See docs/distributed.md.

    pip install -e ".[examples]"
    python examples/train_flax.py                                    # ~97-99% on the digits
    python examples/train_flax.py --optimizer ranger --schedule "one_cycle(max_value=0.01, total_steps='100%')"
    python examples/train_flax.py --plateau --early-stopping 5 --epochs 60
    python examples/train_flax.py --data-dir ~/data/mnist --epochs 5 --batch-size 256
    python examples/train_flax.py --run-name long --schedule "constant(3e-3)" --epochs 10
    python examples/train_flax.py --resume runs/long --epochs 20     # a constant schedule extends
"""
