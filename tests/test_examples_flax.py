"""The Flax example trains to a real accuracy, resumes exactly after a kill at any point,
never reuses or mixes a run, refuses bad flags and data in one line, and gives one device's
results on four; the sweep example's batched program equals its sequential runs.

Nothing here depends on the floating-point path of a training run (which epoch improved,
when a rule fired): the events under test are forced (a plateau threshold or an early-stopping
min_delta that no epoch can meet after the first), or the decisions a run recorded are
checked against torch's and Keras' rules fed the validation losses the run recorded."""

from __future__ import annotations

import contextlib
import csv
import gc
import gzip
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import optax
import pytest

pytest.importorskip("flax")
pytest.importorskip("sklearn")
pytest.importorskip("orbax.checkpoint")

import jaxlr

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
import sweep_schedules  # noqa: E402
import train_flax  # noqa: E402
from flax_digits import main as flax_main  # noqa: E402
from flax_digits.data import load_mnist, read_idx  # noqa: E402
from flax_digits.logs import Progress  # noqa: E402
from flax_digits.optim import OPTIMIZERS, make_schedule  # noqa: E402
from flax_digits.run_dir import claim_run_dir  # noqa: E402

sys.path.remove(str(EXAMPLES))

STEPS_PER_EPOCH = 19  # 1,258 training digits // 64


@pytest.fixture(scope="module", autouse=True)
def compilation_cache(tmp_path_factory):
    """Every run of the example jits its steps anew; with JAX's persistent compilation cache,
    the runs here that share a configuration compile it once (the same executable, read back)."""
    import jax
    from jax.experimental.compilation_cache import compilation_cache as cache

    names = ("jax_compilation_cache_dir", "jax_persistent_cache_min_compile_time_secs")
    before = {name: getattr(jax.config, name) for name in names}
    jax.config.update("jax_compilation_cache_dir", str(tmp_path_factory.mktemp("jax-cache")))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.1)
    cache.reset_cache()
    yield
    for name, value in before.items():
        jax.config.update(name, value)
    cache.reset_cache()


def read_csv(run_dir: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((run_dir / "metrics.csv").open()))


def column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(row[name]) for row in rows if row[name] != ""])


def run(tmp_path: Path, name: str, *args: str) -> tuple[dict, Path]:
    metrics = train_flax.main(["--out-dir", str(tmp_path), "--run-name", name, "--progress", "none", *args])
    return metrics, tmp_path / name


def refused(capsys, argv: list[str], *fragments: str) -> str:
    """The example exits with status 2 and one line on stderr that holds every fragment."""
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        train_flax.main([str(arg) for arg in argv])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("train_flax.py: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(path.relative_to(directory)): path.read_bytes() for path in directory.rglob("*") if path.is_file()}


def read_events(directory: Path) -> tuple[dict[str, list[tuple[int, float]]], list[int]]:
    """Every scalar of the TensorBoard event files, read as they lie on disk, in name order (the
    order TensorBoard loads them in), and the steps of their session starts (purges). Strict:
    each record is whole and its CRCs check (TFRecords: length, CRC, Event proto, CRC)."""
    from tensorboardX.proto.event_pb2 import Event, SessionLog
    from tensorboardX.record_writer import masked_crc32c

    scalars: dict[str, list[tuple[int, float]]] = {}
    starts = []
    for path in sorted(directory.glob("events.out.tfevents.*")):
        raw, offset = path.read_bytes(), 0
        while offset < len(raw):
            header, length = raw[offset:offset + 8], int.from_bytes(raw[offset:offset + 8], "little")
            end = offset + 12 + length + 4
            assert end <= len(raw), f"{path.name} ends inside a record"
            payload = raw[offset + 12:end - 4]
            assert raw[offset + 8:offset + 12] == masked_crc32c(header).to_bytes(4, "little")
            assert raw[end - 4:end] == masked_crc32c(payload).to_bytes(4, "little")
            event = Event.FromString(payload)
            offset = end
            if event.session_log.status == SessionLog.START:
                starts.append(event.step)
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars, starts


def assert_logs_hold_every_step_once(run_dir: Path, epochs: int) -> list[dict[str, str]]:
    """metrics.csv and the TensorBoard events hold steps 1..N once each, with the same values."""
    rows = read_csv(run_dir)
    steps = list(range(1, epochs * STEPS_PER_EPOCH + 1))
    assert [int(row["step"]) for row in rows] == steps
    scalars, _ = read_events(run_dir / "tensorboard")
    for tag, name in (("lr", "lr"), ("train/loss", "train_loss"), ("train/accuracy", "train_accuracy")):
        assert [step for step, _ in scalars[tag]] == steps, tag
        np.testing.assert_allclose([v for _, v in scalars[tag]], column(rows, name), rtol=1e-7, err_msg=tag)
    for tag, name in (("val/loss", "val_loss"), ("val/accuracy", "val_accuracy")):
        assert [step for step, _ in scalars[tag]] == steps[STEPS_PER_EPOCH - 1::STEPS_PER_EPOCH], tag
        np.testing.assert_allclose([v for _, v in scalars[tag]], column(rows, name), rtol=1e-7, err_msg=tag)
    return rows


def test_shortened_default_run_reaches_its_accuracy_and_writes_every_output(tmp_path, capsys):
    metrics, run_dir = run(tmp_path, "default", "--epochs", "5")
    # Chance is 0.10 on ten classes. Five epochs of the default recipe reach 0.98 here (the
    # full 30-epoch default 0.99); over seeds 0-7 (other splits, initialisations and data
    # orders, so other trajectories) they reached 0.967-0.992 test accuracy, 0.956-0.978
    # validation accuracy and a test loss of 0.057-0.115. The bounds sit below that spread.
    assert metrics["test_accuracy"] >= 0.95
    assert 0 < metrics["test_loss"] < 0.2
    assert metrics["epochs_run"] == 5 and not metrics["stopped_early"]
    assert json.loads((run_dir / "metrics.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    assert {"test_accuracy", "test_loss", "val_loss", "epochs_run", "wall_seconds"} <= set(metrics)

    rows = assert_logs_hold_every_step_once(run_dir, 5)
    # The lr of each row is read back from the optimizer state: it is the default
    # schedule (warmup 2 epochs, cosine to 1% over the rest) at the update's count.
    total, warmup = 5 * STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH
    schedule = optax.join_schedules(
        [jaxlr.linear_warmup(3e-3, warmup), jaxlr.cosine_decay(3e-3, total - warmup, end_value=3e-5)], [warmup])
    expected = np.array([float(schedule(step - 1)) for step in range(1, total + 1)], np.float32)
    # rtol 1e-6: XLA fuses the cosine into the jitted train step and rounds its last ulp
    # differently from the eager evaluation here (measured: at most 1 ulp, 1.05e-7).
    np.testing.assert_allclose(column(rows, "lr"), expected, rtol=1e-6)
    assert column(rows, "val_loss").shape == (5,)  # filled on each epoch's last step
    assert column(rows, "val_accuracy")[-1] >= 0.93
    # Without early stopping, the tested parameters are the last epoch's.
    assert metrics["val_loss"] == column(rows, "val_loss")[-1]

    assert (run_dir / "curves.png").stat().st_size > 10_000
    config = json.loads((run_dir / "config.json").read_text())
    assert config["epochs"] == 5 and len(config["data_sha256"]) == 64
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit()) == ["4", "5"]
    assert not list(run_dir.glob(".*partial"))
    out = capsys.readouterr().out
    assert f"run directory: {run_dir}" in out
    assert "epoch 5/5: train loss" in out and out.splitlines()[-2].startswith("test accuracy 0.9")


# constant(0.1) with a plateau rule whose threshold no epoch can meet after the first: an
# improvement must bring the validation loss below a thousandth of the best so far (from
# ~1 to ~1e-3 in one epoch). So whatever the CPU, the first observation (epoch 1's loss, at
# epoch 2's first update) improves, and with patience 1 the rule cuts at epoch 4's first
# update (the loss of epoch 3, the second bad one): the lr of the five epochs is
# 0.1, 0.1, 0.1, 0.05, 0.05. Early stopping with patience 10 never stops in five epochs; its
# best epoch is whatever the run's losses make it, checked against Keras' rule.
FORCED_PLATEAU = ["--width", "8", "--schedule", "constant(0.1)", "--plateau", "--plateau-patience", "1",
                  "--plateau-threshold", "0.999", "--early-stopping", "10"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    return run(tmp_path_factory.mktemp("uninterrupted"), "straight", *FORCED_PLATEAU, "--epochs", "5")


def keras_best_epoch(values: np.ndarray, min_delta: float = 0.0) -> int:
    """Keras' EarlyStopping's best epoch, from the recorded losses (compared in float32, as the rule does)."""
    best, best_epoch = np.float32(np.inf), 0
    for epoch, value in enumerate(values.astype(np.float32), 1):
        if value + np.float32(min_delta) < best:
            best, best_epoch = value, epoch
    return best_epoch


def test_plateau_cuts_where_torch_reduce_lr_on_plateau_does(uninterrupted):
    torch = pytest.importorskip("torch")
    _, run_dir = uninterrupted
    rows = read_csv(run_dir)
    val_losses = column(rows, "val_loss")
    assert np.all(val_losses[1:] > 1e-3 * val_losses.min()), "the forcing threshold assumes this"
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    torch_rule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1, threshold=0.999)
    scales = [1.0]  # epoch 1 trains at the full rate
    for loss in val_losses[:-1]:  # each epoch's validation loss is observed at the next epoch's first update
        torch_rule.step(float(np.float32(loss)))
        scales.append(optimizer.param_groups[0]["lr"])
    assert scales == [1.0, 1.0, 1.0, 0.5, 0.5]
    np.testing.assert_allclose(column(rows, "lr"), np.repeat(np.float32(0.1) * np.array(scales), STEPS_PER_EPOCH),
                               rtol=1e-6)


class Killed(Exception):
    """A kill of the process, simulated at one of the example's kill points."""


def kill_at(monkeypatch, point: str, epoch: int) -> None:
    def kill_point(at: str, at_epoch: int) -> None:
        if (at, at_epoch) == (point, epoch):
            raise Killed(f"{point} {epoch}")

    monkeypatch.setattr(flax_main, "_kill_point", kill_point)


def test_resume_after_a_kill_at_any_point_reproduces_the_uninterrupted_run(uninterrupted, tmp_path, monkeypatch,
                                                                              capsys):
    straight, straight_dir = uninterrupted
    resume = ["--resume", str(tmp_path / "resumed"), "--progress", "none"]
    # Killed after epoch 1's logs, before its checkpoint: no checkpoint, so the run starts over.
    kill_at(monkeypatch, "after-logs", 1)
    with pytest.raises(Killed):
        run(tmp_path, "resumed", *FORCED_PLATEAU, "--epochs", "3")
    run_dir = tmp_path / "resumed"
    assert len(read_csv(run_dir)) == STEPS_PER_EPOCH and not list((run_dir / "checkpoints").glob("[0-9]*"))
    # Killed between epoch 2's TensorBoard events and its CSV rows, in the middle of writing
    # the events' last record (cut short here by hand).
    kill_at(monkeypatch, "after-tensorboard", 2)
    with pytest.raises(Killed):
        train_flax.main(resume)
    newest = max((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    newest.write_bytes(newest.read_bytes()[:-7])
    # Stopped cleanly after epoch 2, as a preemption would.
    monkeypatch.setattr(flax_main, "_kill_point", lambda point, epoch: None)
    first = train_flax.main([*resume, "--stop-after", "2"])
    assert first["interrupted"] and first["epochs_run"] == 2
    assert f"continue with: --resume {run_dir}" in capsys.readouterr().out
    assert_logs_hold_every_step_once(run_dir, 2)
    # Lengthened to 5 epochs, honoured (the constant schedule gives the steps already trained
    # the rates they had), and killed just after epoch 3's checkpoint committed.
    kill_at(monkeypatch, "after-checkpoint", 3)
    with pytest.raises(Killed):
        train_flax.main([*resume, "--epochs", "5"])
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 5
    # Killed after training epoch 4, before writing anything of it; then run to the end.
    # The plateau cut of epoch 4 observes epoch 3's loss, which crosses checkpoint 3 twice.
    kill_at(monkeypatch, "before-logs", 4)
    with pytest.raises(Killed):
        train_flax.main(resume)
    monkeypatch.setattr(flax_main, "_kill_point", lambda point, epoch: None)
    resumed = train_flax.main(resume)

    a, b = read_csv(straight_dir), assert_logs_hold_every_step_once(run_dir, 5)
    for name in ("lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(column(b, name), column(a, name), rtol=1e-6, err_msg=name)
    np.testing.assert_allclose(column(b, "lr"), np.repeat([0.1, 0.1, 0.1, 0.05, 0.05], STEPS_PER_EPOCH), rtol=1e-6)
    # Each resumed invocation's event file starts with a purge at the first step after its
    # checkpoint, for a TensorBoard that had loaded the dropped events while running; the
    # invocation killed before writing epoch 4 lost its purge (step 58) with the other events
    # past checkpoint 3.
    assert read_events(run_dir / "tensorboard")[1] == [1, 1 + STEPS_PER_EPOCH, 1 + 2 * STEPS_PER_EPOCH,
                                                       1 + 3 * STEPS_PER_EPOCH]
    assert resumed["test_accuracy"] == pytest.approx(straight["test_accuracy"])
    assert resumed["test_loss"] == pytest.approx(straight["test_loss"], rel=1e-6)
    assert resumed["best_epoch"] == straight["best_epoch"] == keras_best_epoch(column(a, "val_loss"))
    assert not resumed["stopped_early"] and resumed["epochs_run"] == 5


def test_early_stopping_stops_and_tests_the_best_parameters(tmp_path, capsys):
    # min_delta 100: a validation loss (a cross-entropy, < 100) can improve only on the first
    # epoch's infinite best. So epoch 1 is the best and, with patience 2, the run stops after
    # epoch 3 whatever the CPU.
    metrics, run_dir = run(tmp_path, "stop", "--epochs", "12", "--width", "8", "--schedule", "constant(0.05)",
                           "--early-stopping", "2", "--early-stopping-min-delta", "100")
    val = column(read_csv(run_dir), "val_loss")
    assert metrics["stopped_early"] and metrics["epochs_run"] == len(val) == 3
    assert metrics["best_epoch"] == keras_best_epoch(val, min_delta=100) == 1
    # The test ran on epoch 1's parameters (restored), whose validation loss the CSV recorded.
    assert metrics["val_loss"] == val[0]
    refused(capsys, ["--resume", run_dir, "--epochs", "20"], "--epochs 20: this run stopped early after epoch 3")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(script: str, processes: int, devices: int, *args: str, expect: int = 0,
           timeout: float = 300) -> list[subprocess.CompletedProcess]:
    """Runs an example in ``processes`` processes of ``devices`` CPU devices each on localhost
    (jax.distributed with a coordinator on a free port when there are several), and waits for
    all of them, at most ``timeout`` seconds. Each process leads its own process group, killed
    whole in any case (a failure, a timeout, a process left waiting for a dead peer)."""
    # PYTHONPATH: the script imports this checkout's jaxlr, not the one pip installed.
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    port, started = free_port(), []
    try:
        for index in range(processes):
            flags = ["--distributed", "--coordinator-address", f"localhost:{port}", "--num-processes",
                     str(processes), "--process-id", str(index)] if processes > 1 else []
            started.append(subprocess.Popen([sys.executable, str(EXAMPLES / script), *args, *flags], env=env,
                                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                            start_new_session=True))
        deadline = time.monotonic() + timeout
        outputs = [process.communicate(timeout=max(deadline - time.monotonic(), 1)) for process in started]
    finally:
        for process in started:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    done = [subprocess.CompletedProcess(process.args, process.returncode, out, err)
            for process, (out, err) in zip(started, outputs, strict=True)]
    for index, result in enumerate(done):
        assert result.returncode == expect, f"process {index} exited {result.returncode}: {result.stderr[-3000:]}"
    return done


# SGD with momentum: its updates are linear in the gradients, so the results of four devices
# stay within float rounding of one device's (measured: 2.4e-7 relative over three epochs).
# Adam divides by the root of tiny second moments and magnifies those rounding differences
# (1e-3 in the validation loss after two epochs, on one device as much as on four): that is
# the optimizer, not the data parallelism. --plateau and --early-stopping put their states
# in the checkpoint.
DATA_PARALLEL = ["--epochs", "2", "--progress", "none", "--optimizer", "momentum", "--plateau", "--early-stopping", "3"]


def assert_same_run(rows: list[dict[str, str]], metrics: dict, reference_rows: list[dict[str, str]],
                    reference: dict) -> None:
    """The same training, to float rounding: sums over a sharded batch reduce in another order."""
    np.testing.assert_allclose(column(rows, "lr"), column(reference_rows, "lr"), rtol=1e-6)
    for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        np.testing.assert_allclose(column(rows, name), column(reference_rows, name), rtol=1e-5, err_msg=name)
    assert metrics["test_loss"] == pytest.approx(reference["test_loss"], rel=1e-5)
    assert metrics["test_accuracy"] == reference["test_accuracy"] >= 0.9


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory) -> tuple[dict, list[dict[str, str]], str]:
    """One process with four CPU devices: the run that more processes must reproduce."""
    out_dir = tmp_path_factory.mktemp("four-devices")
    (result,) = launch("train_flax.py", 1, 4, *DATA_PARALLEL, "--out-dir", str(out_dir), "--run-name", "d4")
    return json.loads((out_dir / "d4" / "metrics.json").read_text()), read_csv(out_dir / "d4"), result.stdout


@pytest.mark.slow
def test_four_devices_give_the_one_device_results(tmp_path, four_devices):
    (result,) = launch("train_flax.py", 1, 1, *DATA_PARALLEL, "--out-dir", str(tmp_path), "--run-name", "d1")
    one, one_rows = json.loads((tmp_path / "d1" / "metrics.json").read_text()), read_csv(tmp_path / "d1")
    four, four_rows, four_out = four_devices
    assert "devices: 1 x cpu (mesh {'data': 1})" in result.stdout
    assert "devices: 4 x cpu (mesh {'data': 4})" in four_out
    assert four["devices"] == 4 and four["processes"] == 1
    assert_same_run(four_rows, four, one_rows, one)


@pytest.mark.slow
def test_two_processes_give_the_one_process_results_write_the_run_once_and_resume(tmp_path, four_devices):
    # 2 processes x 2 CPU devices (jax.distributed, gloo collectives, a coordinator on
    # localhost) make the same 4-device mesh as 1 process x 4 devices: same global batch,
    # same results to float rounding. The run is stopped after epoch 1 (--stop-after, as a
    # preemption would) and resumed by two processes again.
    run_dir, common = tmp_path / "d2x2", [*DATA_PARALLEL, "--out-dir", str(tmp_path)]
    first = launch("train_flax.py", 2, 2, *common, "--run-name", "d2x2", "--stop-after", "1")
    assert "devices: 4 x cpu (mesh {'data': 4}, 2 processes)" in first[0].stdout
    assert f"stopped after epoch 1; continue with: --resume {run_dir}" in first[0].stdout
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["1"]
    assert len(read_csv(run_dir)) == STEPS_PER_EPOCH and not (run_dir / "metrics.json").exists()
    before = snapshot(run_dir)
    # A second claim of the name is refused by process 0; process 1 stops with it, not waiting.
    refused = launch("train_flax.py", 2, 2, *common, "--run-name", "d2x2", expect=2)
    assert "--run-name: " in refused[0].stderr and "already exists" in refused[0].stderr
    assert "process 1: process 0 stopped (see its error)" in refused[1].stderr
    assert snapshot(run_dir) == before

    second = launch("train_flax.py", 2, 2, "--resume", str(run_dir), "--progress", "none")
    metrics = json.loads((run_dir / "metrics.json").read_text())
    four, four_rows, _ = four_devices
    assert metrics["devices"] == 4 and metrics["processes"] == 2 and metrics["epochs_run"] == 2
    # Epoch 1 trained by the first pair of processes, epoch 2 by the second from the checkpoint
    # that both wrote: a lost momentum or plateau state, or another batch order, would be far
    # beyond float rounding.
    assert_same_run(assert_logs_hold_every_step_once(run_dir, 2), metrics, four_rows, four)
    # Written once: one event file per invocation (process 0's), one config, both checkpoints,
    # nothing half-written, and nothing printed by process 1 but gloo's connection lines.
    assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 2
    assert sorted(p.name for p in run_dir.iterdir() if not p.name.startswith(".")) == [
        "checkpoints", "config.json", "curves.png", "metrics.csv", "metrics.json", "tensorboard"]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["1", "2"]
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 2
    assert not list(run_dir.rglob("*partial*"))
    assert "test accuracy" in second[0].stdout
    for result in (first[1], second[1]):
        assert [line for line in result.stdout.splitlines() if not line.startswith("[Gloo]")] == []


def write_idx(path: Path, array: np.ndarray) -> None:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + np.array(array.shape, ">u4").tobytes()
    raw = header + array.tobytes()
    (gzip.open if path.suffix == ".gz" else open)(path, "wb").write(raw)


def tiny_mnist(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 50, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):  # a bright bar whose position is the label: learnable
        images[i, 2 * label + 4:2 * label + 7, 4:24] = 255
    return images, labels


def write_tiny_mnist(directory: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    (x_train, y_train), (x_test, y_test) = tiny_mnist(rng, 200), tiny_mnist(rng, 40)
    directory.mkdir(exist_ok=True)
    write_idx(directory / "train-images-idx3-ubyte.gz", x_train)
    write_idx(directory / "train-labels-idx1-ubyte.gz", y_train)
    write_idx(directory / "t10k-images-idx3-ubyte", x_test)
    write_idx(directory / "t10k-labels-idx1-ubyte", y_test)


def test_mnist_idx_files_load_and_train_and_resume_only_on_the_same_data(tmp_path, capsys):
    write_tiny_mnist(tmp_path / "mnist", seed=0)
    data = load_mnist(tmp_path / "mnist", seed=0)
    x_test = read_idx(tmp_path / "mnist" / "t10k-images-idx3-ubyte")
    assert data.x_train.shape == (180, 28, 28, 1) and data.x_val.shape == (20, 28, 28, 1)
    assert data.x_test.shape == (40, 28, 28, 1) and data.x_test.dtype == np.float32
    np.testing.assert_array_equal(data.x_test[..., 0], x_test / np.float32(255))
    np.testing.assert_array_equal(data.y_test, read_idx(tmp_path / "mnist" / "t10k-labels-idx1-ubyte"))
    y_train = read_idx(tmp_path / "mnist" / "train-labels-idx1-ubyte.gz")
    np.testing.assert_array_equal(np.sort(np.concatenate([data.y_train, data.y_val])), np.sort(y_train))

    metrics, run_dir = run(tmp_path / "runs", "mnist", "--data-dir", str(tmp_path / "mnist"), "--epochs", "6",
                           "--batch-size", "30", "--warmup-epochs", "1", "--width", "8")
    assert metrics["data"].startswith("MNIST from") and metrics["epochs_run"] == 6
    assert metrics["test_accuracy"] >= 0.9  # the bars are easy; chance is 0.1

    # The data moved: --resume takes the new --data-dir when the data are the same ones...
    (tmp_path / "mnist").rename(tmp_path / "moved")
    refused(capsys, ["--resume", run_dir], "--data-dir: no MNIST in", "give --data-dir where its data are now")
    again = train_flax.main(["--resume", str(run_dir), "--data-dir", str(tmp_path / "moved"), "--progress", "none"])
    assert again["test_accuracy"] == metrics["test_accuracy"]
    assert json.loads((run_dir / "config.json").read_text())["data_dir"] == str(tmp_path / "moved")
    # ...and refuses other data.
    write_tiny_mnist(tmp_path / "other", seed=1)
    before = snapshot(run_dir)
    refused(capsys, ["--resume", run_dir, "--data-dir", tmp_path / "other"],
            "are not the data that run", "was trained on")
    assert snapshot(run_dir) == before


def test_mnist_npz_and_bad_files(tmp_path, capsys):
    rng = np.random.default_rng(1)
    (x_train, y_train), (x_test, y_test) = tiny_mnist(rng, 50), tiny_mnist(rng, 10)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = load_mnist(tmp_path, seed=0, val_fraction=0.2)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (40, 10, 10)
    np.testing.assert_array_equal(data.x_test[..., 0], x_test / np.float32(255))

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no MNIST in"):
        load_mnist(empty)
    (empty / "broken-idx").write_bytes(b"\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        read_idx(empty / "broken-idx")
    write_idx(empty / "short-idx", np.zeros((2, 3), np.uint8))
    (empty / "short-idx").write_bytes((empty / "short-idx").read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"header says \(2, 3\) \(6 values\), file holds 5"):
        read_idx(empty / "short-idx")

    # Damaged data: one line naming the file, exit status 2, and no run directory.
    out = tmp_path / "runs"
    gz = tmp_path / "gz"
    write_tiny_mnist(gz, seed=0)
    images = gz / "train-images-idx3-ubyte.gz"
    images.write_bytes(images.read_bytes()[:-100])
    refused(capsys, ["--data-dir", gz, "--out-dir", out], f"--data-dir: {images}: cannot read it")
    npz = tmp_path / "npz"
    npz.mkdir()
    (npz / "mnist.npz").write_bytes(b"not a zip file" * 10)
    refused(capsys, ["--data-dir", npz, "--out-dir", out], f"--data-dir: {npz / 'mnist.npz'}: cannot read it")
    raw = bytearray((tmp_path / "mnist.npz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # inside an array: its CRC no longer checks
    (npz / "mnist.npz").write_bytes(bytes(raw))
    refused(capsys, ["--data-dir", npz, "--out-dir", out], f"--data-dir: {npz / 'mnist.npz'}: cannot read it")
    np.savez(npz / "mnist.npz", x_train=x_train, y_train=y_train + 5, x_test=x_test, y_test=y_test)
    refused(capsys, ["--data-dir", npz, "--out-dir", out], "train labels must be integers in 0..9")
    assert not out.exists()


def test_schedule_option_takes_config_strings_and_bare_names():
    total, warmup, per_epoch = 190, 38, 19
    wsd = make_schedule("wsd", 3e-3, warmup, total, per_epoch)
    assert wsd == jaxlr.wsd(peak_value=3e-3, total_steps=190, warmup_steps=38, decay_steps=38)
    one_cycle = make_schedule("one_cycle(max_value=0.01, total_steps='100%', pct_start=0.25)", 3e-3,
                                         warmup, total, per_epoch)
    assert one_cycle == jaxlr.one_cycle(max_value=0.01, total_steps=190, pct_start=0.25)
    assert make_schedule('{"name": "step_decay", "init_value": 0.1, "step_size": "2ep"}', 3e-3,
                                    warmup, total, per_epoch) == jaxlr.step_decay(0.1, 38)
    assert make_schedule("cosine_decay", 0.1, warmup, total, per_epoch) == jaxlr.cosine_decay(0.1, 190)
    with pytest.raises(ValueError, match="did you mean 'cosine_decay'"):
        make_schedule("cosine_decya", 0.1, warmup, total, per_epoch)
    with pytest.raises(ValueError, match="'d_model' has no default here"):
        make_schedule("noam", 0.1, warmup, total, per_epoch)


BAD_FLAGS = [
    (["--epochs", "0"], "argument --epochs: must be > 0, got 0"),
    (["--epochs", "2.5"], "argument --epochs: expected an integer, got '2.5'"),
    (["--batch-size", "-64"], "argument --batch-size: must be > 0, got -64"),
    (["--batch-size", "5000"], "--batch-size 5000 is larger than the 1258 training images"),
    (["--lr", "0"], "argument --lr: must be > 0, got 0"),
    (["--lr", "inf"], "argument --lr: must be a finite number, got inf"),
    (["--lr", "nan"], "argument --lr: must be a finite number, got nan"),
    (["--lr", "fnd"], "argument --lr: expected a number, got 'fnd' (or 'find')"),
    (["--lr", "find", "--optimizer", "ranger"], "--lr find: the range test trains one set of weights"),
    (["--schedule", "constant(0.1)", "--lr", "find"], "--lr fill the default schedule and bare family names"),
    (["--warmup-epochs", "-1"], "argument --warmup-epochs: must be >= 0, got -1"),
    (["--warmup-epochs", "NaN"], "argument --warmup-epochs: must be a finite number"),
    (["--warmup-epochs", "40"], "--warmup-epochs 40 is longer than the run (--epochs 30)"),
    (["--weight-decay", "nan"], "argument --weight-decay: must be a finite number, got nan"),
    (["--weight-decay=-1e-4"], "argument --weight-decay: must be >= 0, got -1e-4"),
    (["--plateau", "--plateau-factor", "1"], "argument --plateau-factor: must be in (0, 1), got 1"),
    (["--plateau", "--plateau-factor", "1.5"], "argument --plateau-factor: must be in (0, 1), got 1.5"),
    (["--plateau", "--plateau-factor", "0"], "argument --plateau-factor: must be in (0, 1), got 0"),
    (["--plateau", "--plateau-factor=-inf"], "argument --plateau-factor: must be a finite number, got -inf"),
    (["--plateau", "--plateau-patience", "-1"], "argument --plateau-patience: must be >= 0, got -1"),
    (["--plateau", "--plateau-threshold", "nan"], "argument --plateau-threshold: must be a finite number"),
    (["--early-stopping", "-2"], "argument --early-stopping: must be >= 0, got -2"),
    (["--early-stopping", "2", "--early-stopping-min-delta", "inf"], "argument --early-stopping-min-delta: must be"),
    (["--width", "0"], "argument --width: must be > 0, got 0"),
    (["--width", "-8"], "argument --width: must be > 0, got -8"),
    (["--dropout", "1"], "argument --dropout: must be in [0, 1), got 1"),
    (["--dropout", "-0.1"], "argument --dropout: must be in [0, 1), got -0.1"),
    (["--seed", "-1"], "argument --seed: must be in [0, 2**32 - 2], got -1"),
    (["--seed", str(2**32)], "argument --seed: must be in [0, 2**32 - 2]"),
    (["--stop-after", "0"], "argument --stop-after: must be > 0, got 0"),
    (["--run-name", "a/b"], "argument --run-name: must be a directory name, not a path"),
    (["--run-name", ".."], "argument --run-name: must be a directory name, not a path"),
    (["--plateau-factor", "0.5"], "--plateau-factor has no effect without --plateau"),
    (["--early-stopping-min-delta", "0.1"], "--early-stopping-min-delta has no effect without --early-stopping"),
    (["--optimizer", "sgd", "--weight-decay", "0.1"], "--weight-decay applies to --optimizer adamw only, not sgd"),
    (["--schedule", "constant(0.1)", "--lr", "0.2"], "--lr fill the default schedule and bare family names"),
    (["--optimizer", "ranger", "--plateau"], "--plateau scales the updates after the optimizer"),
    (["--schedule", "cosine"], "--schedule: unknown schedule 'cosine'"),
    (["--schedule", "constant(0.1"], "--schedule:"),
    (["--data-dir", "/nonexistent"], "--data-dir: no MNIST in /nonexistent"),
    (["--distributed"], "--distributed needs --run-name"),
    (["--process-id", "1"], "--process-id has no effect without --distributed"),
    (["--num-processes", "2", "--coordinator-address", "h:1"],
     "--coordinator-address and --num-processes have no effect without --distributed"),
    (["--distributed", "--run-name", "r", "--coordinator-address", "localhost"],
     "argument --coordinator-address: must be HOST:PORT with a port in 1..65535, got 'localhost'"),
    (["--distributed", "--run-name", "r", "--coordinator-address", "h:70000"], "must be HOST:PORT"),
    (["--distributed", "--run-name", "r", "--num-processes", "0"], "argument --num-processes: must be > 0, got 0"),
    (["--distributed", "--run-name", "r", "--num-processes", "2", "--process-id", "2"],
     "--process-id 2 must be below --num-processes 2"),
    (["--resume", "/nonexistent/run"], "--resume: /nonexistent/run is not a run directory"),
]


@pytest.mark.parametrize(("argv", "message"), BAD_FLAGS, ids=[" ".join(argv) for argv, _ in BAD_FLAGS])
def test_bad_flags_are_refused_in_one_line_before_anything_is_written(tmp_path, capsys, argv, message):
    refused(capsys, [*argv, "--out-dir", tmp_path / "runs"], message)
    assert not (tmp_path / "runs").exists()


def test_run_directories_are_never_reused(tmp_path, capsys):
    # Runs started in the same second: the second and third get suffixes.
    stamp = "flax-20250101-000000"
    made = [claim_run_dir(tmp_path, None, "{}\n", stamp=stamp) for _ in range(3)]
    assert [path.name for path in made] == [stamp, f"{stamp}-2", f"{stamp}-3"]
    # A --run-name that holds a run is refused, and the run keeps every byte.
    _, run_dir = run(tmp_path, "first", "--epochs", "1", "--width", "8")
    before = snapshot(run_dir)
    refused(capsys, ["--out-dir", tmp_path, "--run-name", "first", "--epochs", "2"],
            f"--run-name: {run_dir} already exists and is not empty: continue its run with --resume {run_dir}")
    assert snapshot(run_dir) == before
    # An empty directory holds no run: it is used.
    (tmp_path / "empty").mkdir()
    assert claim_run_dir(tmp_path, "empty", "{}\n") == tmp_path / "empty"
    assert (tmp_path / "empty" / "config.json").read_text() == "{}\n"


# The reads of the damaged checkpoint that tensorstore still has in flight when orbax raises
# call back into orbax's closed event loop when collected: "Exception ignored" noise from
# those libraries (a command-line run exits first), collected here so it is not reported
# against a later test.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_resume_refuses_what_it_cannot_honour_and_writes_nothing(tmp_path, capsys):
    _, run_dir = run(tmp_path, "short", "--epochs", "1", "--width", "8", "--warmup-epochs", "0")
    before = snapshot(run_dir)
    refused(capsys, ["--resume", run_dir, "--lr", "0.01", "--width", "16", "--plateau"],
            "--resume: --lr 0.01, --width 16, --plateau conflict with the run's saved configuration "
            "(--lr 0.003, --width 8, no --plateau)")
    # Warmup 0, cosine over the run: at 2 epochs the second step would have had another rate.
    refused(capsys, ["--resume", run_dir, "--epochs", "2"],
            "--epochs 2: the run's schedule depends on its length: step 2 trained at lr")
    refused(capsys, ["--resume", run_dir, "--stop-after", "1"],
            "--stop-after 1: this run has already trained 1 epochs")
    refused(capsys, ["--resume", run_dir, "--run-name", "other"], "--run-name other conflicts")
    assert snapshot(run_dir) == before

    config = run_dir / "config.json"
    text = config.read_text()
    for damaged, message in ((text[:-20], "cannot read"),
                             (text.replace('"epochs": 1', '"epochs": 0'), "--epochs: must be > 0, got 0"),
                             (text.replace('"width": 8', '"width": "wide"'), "--width: expected an integer"),
                             (text.replace('"seed": 0', '"seed": 0, "colour": "red"'), "does not know: colour"),
                             ("[1, 2]", "not a run's configuration")):
        config.write_text(damaged)
        refused(capsys, ["--resume", run_dir], f"--resume: {config}", message)
    config.write_text(text)

    for path in (run_dir / "checkpoints" / "1").rglob("*"):
        if path.is_file() and path.parent.name == "d":
            path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    refused(capsys, ["--resume", run_dir], "--resume: cannot restore the checkpoint in")
    gc.collect()
    assert {name for name in snapshot(run_dir) if not name.startswith("checkpoints")} == \
        {name for name in before if not name.startswith("checkpoints")}


EVERY_OPTIMIZER_SCHEDULE = "warmup_cosine(peak_value=0.003, warmup_steps='1ep', total_steps='100%')"


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_every_optimizer_trains_and_reports_its_schedule(tmp_path, optimizer):
    metrics, run_dir = run(tmp_path, optimizer, "--optimizer", optimizer, "--epochs", "2", "--width", "16",
                           "--schedule", EVERY_OPTIMIZER_SCHEDULE)
    rows = read_csv(run_dir)
    expected = jaxlr.warmup_cosine(peak_value=0.003, warmup_steps=19, total_steps=38)(np.arange(38))
    np.testing.assert_allclose(column(rows, "lr"), np.asarray(expected), rtol=1e-6)
    losses = column(rows, "train_loss")
    assert np.all(np.isfinite(losses)) and losses[-5:].mean() < losses[:5].mean()
    assert metrics["epochs_run"] == 2 and np.isfinite(metrics["test_loss"])


@pytest.mark.slow  # a range test of 100 steps, then two epochs
def test_lr_find_runs_the_range_test_saves_its_curve_and_trains_at_its_suggestion(tmp_path, capsys):
    metrics, run_dir = run(tmp_path, "find", "--lr", "find", "--epochs", "2", "--warmup-epochs", "1")
    found = json.loads((run_dir / "lr_find.json").read_text())
    config = json.loads((run_dir / "config.json").read_text())
    assert (run_dir / "lr_find.png").stat().st_size > 10_000
    assert config["lr"] == found["suggestion"] == found["suggestions"][found["rule"]]
    assert f"training at the {found['rule']} suggestion, lr {found['suggestion']:.3g}" in capsys.readouterr().out
    # The suggestion is the rule applied to the saved curve, and the run's schedule peaks at it.
    curve = jaxlr.LRFinderResult(
        learning_rates=np.array(found["learning_rates"]), losses=np.array(found["losses"]),
        smoothed_losses=np.array(found["smoothed_losses"]), divergence_step=found["divergence_step"],
        divergence_lr=found["divergence_lr"], repeat_losses=np.array([found["losses"]]),
        repeat_smoothed_losses=np.array([found["smoothed_losses"]]), repeat_divergence_steps=(None,),
        num_steps=100, rule=found["rule"], skip_start=10, skip_end=5)
    assert curve.suggestions == found["suggestions"]
    expected = make_schedule(None, found["suggestion"], STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH, STEPS_PER_EPOCH)
    np.testing.assert_allclose(column(read_csv(run_dir), "lr"), np.asarray(expected(np.arange(38))), rtol=1e-6)
    assert np.isfinite(metrics["test_loss"])


@pytest.mark.parametrize("kind", ["tqdm", "rich"])
def test_progress_bars_show_the_learning_rate(tmp_path, capsys, kind):
    pytest.importorskip(kind)
    train_flax.main(["--out-dir", str(tmp_path), "--run-name", kind, "--epochs", "1", "--width", "8",
                     "--progress", kind])
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "| lr 0.00" in out and "val loss" in out


def test_progress_auto_prints_one_plain_line_per_epoch_when_stdout_is_not_a_terminal(tmp_path, capsys):
    pytest.importorskip("tqdm")  # what auto would draw on a terminal
    capsys.readouterr()
    # The configuration of test_every_optimizer_trains_and_reports_its_schedule[adamw]: compiled once.
    train_flax.main(["--out-dir", str(tmp_path), "--run-name", "log", "--optimizer", "adamw", "--epochs", "2",
                     "--width", "16", "--schedule", EVERY_OPTIMIZER_SCHEDULE])
    out = capsys.readouterr().out  # captured: not a terminal, as a file or a CI log
    assert "\r" not in out
    lines = out.splitlines()
    assert len(lines) == 8, lines
    assert [line.split(":")[0] for line in lines[:6]] == ["data", "devices", "optimizer", "run directory",
                                                         "epoch 1/2", "epoch 2/2"]
    assert lines[6].startswith("test accuracy ") and lines[7].startswith(f"wrote {tmp_path / 'log'}/: ")
    schedule = jaxlr.warmup_cosine(peak_value=0.003, warmup_steps=19, total_steps=38)
    rate = r"\| [0-9.e+]+ steps/s"
    # Each line's lr is the rate of the epoch's last update, schedule(18) and schedule(37).
    assert re.fullmatch(rf"epoch 1/2: train loss .* \| lr {float(schedule(18)):.3g} {rate}, including compilation",
                        lines[4])
    assert re.fullmatch(rf"epoch 2/2: train loss .* \| lr {float(schedule(37)):.3g} {rate}", lines[5])


@pytest.mark.parametrize(("terminal", "kind"), [(True, "tqdm"), (False, "none")])
def test_progress_auto_draws_a_bar_on_a_terminal_only(monkeypatch, terminal, kind):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    assert Progress("auto").kind == kind


def test_sweep_runs_all_schedules_in_one_program_with_the_sequential_results(tmp_path, capsys):
    report = sweep_schedules.main(["--epochs", "2", "--peaks", "0.01", "0.1", "--warmups", "0", "19",
                                   "--exponents", "1", "--optimizer", "momentum", "--out-dir", str(tmp_path)])
    assert report["schedules"] == 4 and report["steps"] == 2 * STEPS_PER_EPOCH
    # The vmapped program and the one-after-another runs compute the same trainings (to
    # float rounding with SGD; see the example's docstring for Adam).
    assert report["max_val_loss_difference"] < 1e-5
    assert report["speedup_run"] > 0 and report["speedup_total"] > 0
    losses = [row["final_val_loss"] for row in report["results"]]
    assert losses == sorted(losses)
    assert {row["schedule"] for row in report["results"]} == {
        f"peak {p}, warmup {w}, exponent 1" for p in ("0.01", "0.1") for w in (0, 19)}
    assert max(row["test_accuracy"] for row in report["results"]) >= 0.9
    assert (tmp_path / "sweep.png").stat().st_size > 10_000
    assert json.loads((tmp_path / "sweep.json").read_text())["schedules"] == 4
    out = capsys.readouterr().out
    assert "speed-up of the batched program" in out


@pytest.mark.slow
def test_sweep_shards_the_schedules_over_devices_with_the_batched_results(tmp_path):
    # 4 schedules on 3 devices: padded to 6, two per device, the padding's results dropped.
    # The same trainings as the one-device batch, whose convolutions group other copies
    # together: float rounding with SGD (measured: 1.2e-7), over every step's loss and lr.
    (result,) = launch("sweep_schedules.py", 1, 3, "--epochs", "2", "--peaks", "0.01", "0.1", "--warmups", "0", "19",
                       "--exponents", "1", "--optimizer", "momentum", "--shard", "--no-sequential",
                       "--out-dir", str(tmp_path))
    report = json.loads((tmp_path / "sweep.json").read_text())
    assert report["schedules"] == 4 and len(report["results"]) == 4
    assert {key: report["sharded"][key] for key in ("devices", "processes", "padded_to")} == {
        "devices": 3, "processes": 1, "padded_to": 6}
    assert report["max_sharded_difference"] < 1e-5
    assert max(row["test_accuracy"] for row in report["results"]) >= 0.9
    assert "split over 3 devices (1 processes, batch padded to 6)" in result.stdout


def test_sweep_schedules_are_one_batched_warmup_cosine():
    schedules, labels = sweep_schedules.make_schedules([1e-3, 1e-2], [0, 10], [1.0, 2.0], total_steps=100)
    assert len(labels) == 8 and labels[5] == "peak 0.01, warmup 0, exponent 2"
    import jax

    values = jax.vmap(lambda s: s(np.arange(100)))(schedules)
    expected = jaxlr.warmup_cosine(peak_value=0.01, warmup_steps=0, total_steps=100, end_value=1e-4, exponent=2.0)
    np.testing.assert_allclose(values[5], expected(np.arange(100)), rtol=1e-6)
