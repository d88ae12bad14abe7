"""The Flax example trains to a real accuracy, resumes exactly, and gives one device's
results on four; the sweep example's batched program equals its sequential runs."""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import sys
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

sys.path.remove(str(EXAMPLES))

STEPS_PER_EPOCH = 19  # 1,258 training digits // 64


def read_csv(run_dir: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((run_dir / "metrics.csv").open()))


def column(rows: list[dict[str, str]], name: str) -> np.ndarray:
    return np.array([float(row[name]) for row in rows if row[name] != ""])


def run(tmp_path: Path, name: str, *args: str) -> tuple[dict, Path]:
    metrics = train_flax.main(["--out-dir", str(tmp_path), "--run-name", name, "--progress", "none", *args])
    return metrics, tmp_path / name


def test_shortened_default_run_reaches_its_accuracy_and_writes_every_output(tmp_path, capsys):
    metrics, run_dir = run(tmp_path, "default", "--epochs", "5")
    # Chance is 0.10 on ten classes; five epochs of the default recipe reach 0.98 here
    # (the full 30-epoch default reaches 0.99).
    assert metrics["test_accuracy"] >= 0.96
    assert 0 < metrics["test_loss"] < 0.2
    assert metrics["epochs_run"] == 5 and not metrics["stopped_early"]
    assert json.loads((run_dir / "metrics.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    assert {"test_accuracy", "test_loss", "epochs_run", "wall_seconds"} <= set(metrics)

    rows = read_csv(run_dir)
    assert len(rows) == 5 * STEPS_PER_EPOCH
    assert [int(r["step"]) for r in rows] == list(range(1, 5 * STEPS_PER_EPOCH + 1))
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
    assert column(rows, "val_accuracy")[-1] >= 0.95

    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert (run_dir / "curves.png").stat().st_size > 10_000
    assert json.loads((run_dir / "config.json").read_text())["epochs"] == 5
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit()) == ["4", "5"]
    out = capsys.readouterr().out
    assert f"run directory: {run_dir}" in out
    assert "epoch 5/5: train loss" in out and out.splitlines()[-2].startswith("test accuracy 0.9")


def read_events(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """Scalars from TensorBoard event files: TFRecords (length, crc, payload, crc) of Event protos."""
    from tensorboardX.proto.event_pb2 import Event

    scalars: dict[str, list[tuple[int, float]]] = {}
    for path in sorted(directory.glob("events.out.tfevents.*")):
        raw, offset = path.read_bytes(), 0
        while offset < len(raw):
            length = int.from_bytes(raw[offset:offset + 8], "little")
            event = Event.FromString(raw[offset + 12:offset + 12 + length])
            offset += 12 + length + 4
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append((event.step, value.simple_value))
    return scalars


def test_tensorboard_events_hold_the_csv_values(tmp_path):
    pytest.importorskip("tensorboardX")
    # Interrupted after epoch 1 and resumed (within the same second, on a fast machine): each
    # invocation writes its own event file, and together they hold every step exactly once.
    _, run_dir = run(tmp_path, "tb", "--epochs", "2", "--stop-after", "1")
    train_flax.main(["--resume", str(run_dir), "--progress", "none"])
    assert len(list((run_dir / "tensorboard").glob("events.out.tfevents.*"))) == 2
    scalars = read_events(run_dir / "tensorboard")
    rows = read_csv(run_dir)
    assert [step for step, _ in scalars["lr"]] == list(range(1, 2 * STEPS_PER_EPOCH + 1))
    np.testing.assert_allclose([v for _, v in scalars["lr"]], column(rows, "lr"), rtol=1e-7)
    np.testing.assert_allclose([v for _, v in scalars["train/loss"]], column(rows, "train_loss"), rtol=1e-7)
    np.testing.assert_allclose([v for _, v in scalars["train/accuracy"]], column(rows, "train_accuracy"), rtol=1e-7)
    assert [step for step, _ in scalars["val/loss"]] == [STEPS_PER_EPOCH, 2 * STEPS_PER_EPOCH]
    np.testing.assert_allclose([v for _, v in scalars["val/loss"]], column(rows, "val_loss"), rtol=1e-7)
    np.testing.assert_allclose([v for _, v in scalars["val/accuracy"]], column(rows, "val_accuracy"), rtol=1e-7)


def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path, capsys):
    # constant(0.1) with patience 0: the validation loss of epoch 4 is worse than epoch 3's,
    # so the plateau rule cuts at epoch 5's first update. Stopping after epoch 4 puts that
    # pending observation, the plateau state and the early-stopping state through a checkpoint.
    flags = ["--epochs", "5", "--plateau", "--plateau-patience", "0", "--early-stopping", "10",
             "--schedule", "constant(0.1)"]
    straight, straight_dir = run(tmp_path, "straight", *flags)
    first, resumed_dir = run(tmp_path, "resumed", *flags, "--stop-after", "2")
    assert first["interrupted"] and first["epochs_run"] == 2
    assert f"continue with: --resume {resumed_dir}" in capsys.readouterr().out
    assert len(read_csv(resumed_dir)) == 2 * STEPS_PER_EPOCH
    second = train_flax.main(["--resume", str(resumed_dir), "--progress", "none", "--stop-after", "4"])
    assert second["interrupted"] and second["epochs_run"] == 4
    resumed = train_flax.main(["--resume", str(resumed_dir), "--progress", "none"])

    a, b = read_csv(straight_dir), read_csv(resumed_dir)
    assert len(a) == len(b) == 5 * STEPS_PER_EPOCH
    for name in ("lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(column(b, name), column(a, name), rtol=1e-6, err_msg=name)
    # The plateau rule did cut in this run, so its state really went through the checkpoint.
    assert column(a, "lr")[-1] == pytest.approx(0.05) and column(a, "lr")[-STEPS_PER_EPOCH - 1] == pytest.approx(0.1)
    assert resumed["test_accuracy"] == pytest.approx(straight["test_accuracy"])
    assert resumed["test_loss"] == pytest.approx(straight["test_loss"], rel=1e-6)
    assert resumed["best_epoch"] == straight["best_epoch"]


def test_plateau_cuts_where_torch_reduce_lr_on_plateau_does(tmp_path):
    torch = pytest.importorskip("torch")
    _, run_dir = run(tmp_path, "plateau", "--epochs", "6", "--schedule", "constant(0.1)", "--plateau",
                     "--plateau-patience", "0", "--plateau-factor", "0.5")
    rows = read_csv(run_dir)
    val_losses = column(rows, "val_loss")
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    torch_rule = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=0)
    scales = [1.0]  # epoch 1 trains at the full rate
    for loss in val_losses[:-1]:  # each epoch's validation loss is observed at the next epoch's first update
        torch_rule.step(float(np.float32(loss)))
        scales.append(optimizer.param_groups[0]["lr"])
    expected = np.repeat(np.float32(0.1) * np.array(scales), STEPS_PER_EPOCH)
    np.testing.assert_allclose(column(rows, "lr"), expected, rtol=1e-6)
    assert min(scales) < 1.0, "the run must include a cut for this test to mean anything"


def test_early_stopping_stops_and_tests_the_best_parameters(tmp_path):
    metrics, run_dir = run(tmp_path, "stop", "--epochs", "12", "--schedule", "constant(0.05)", "--early-stopping", "1")
    val = column(read_csv(run_dir), "val_loss")
    # Keras' rule with patience 1: stop on the first epoch that does not improve.
    first_bad = next(i for i in range(1, len(val)) if not val[i] < val[:i].min())
    assert metrics["stopped_early"] and metrics["epochs_run"] == first_bad + 1 < 12
    assert metrics["best_epoch"] == int(np.argmin(val)) + 1


def test_four_devices_give_the_one_device_results(tmp_path):
    # SGD with momentum: its updates are linear in the gradients, so the results of four
    # devices stay within float rounding of one device's (measured: 2.4e-7 relative over
    # three epochs). Adam divides by the root of tiny second moments and magnifies those
    # rounding differences (1e-3 in the validation loss after two epochs, on one device
    # as much as on four): that is the optimizer, not the data parallelism.
    def launch(devices: int) -> tuple[dict, list[dict[str, str]], str]:
        env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={devices}", "JAX_PLATFORMS": "cpu"}
        out = subprocess.run(
            [sys.executable, str(EXAMPLES / "train_flax.py"), "--epochs", "2", "--out-dir", str(tmp_path),
             "--run-name", f"d{devices}", "--progress", "none", "--optimizer", "momentum", "--plateau",
             "--early-stopping", "3"],
            capture_output=True, text=True, env=env, timeout=600, check=True,
        ).stdout
        run_dir = tmp_path / f"d{devices}"
        return json.loads((run_dir / "metrics.json").read_text()), read_csv(run_dir), out

    one, one_rows, one_out = launch(1)
    four, four_rows, four_out = launch(4)
    assert "devices: 1 x cpu (mesh {'data': 1})" in one_out
    assert "devices: 4 x cpu (mesh {'data': 4})" in four_out
    assert four["devices"] == 4
    np.testing.assert_allclose(column(four_rows, "lr"), column(one_rows, "lr"), rtol=1e-6)
    # Sums over a sharded batch are reduced in another order: float rounding, nothing more.
    for name in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        np.testing.assert_allclose(column(four_rows, name), column(one_rows, name), rtol=1e-5, err_msg=name)
    assert four["test_loss"] == pytest.approx(one["test_loss"], rel=1e-5)
    assert four["test_accuracy"] == one["test_accuracy"] >= 0.9


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


def test_mnist_idx_files_load_and_train(tmp_path):
    rng = np.random.default_rng(0)
    (x_train, y_train), (x_test, y_test) = tiny_mnist(rng, 200), tiny_mnist(rng, 40)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", x_train)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", y_train)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", x_test)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", y_test)

    data = train_flax.load_mnist(tmp_path, seed=0)
    assert data.x_train.shape == (180, 28, 28, 1) and data.x_val.shape == (20, 28, 28, 1)
    assert data.x_test.shape == (40, 28, 28, 1) and data.x_test.dtype == np.float32
    np.testing.assert_array_equal(data.x_test[..., 0], x_test / np.float32(255))
    np.testing.assert_array_equal(data.y_test, y_test)
    np.testing.assert_array_equal(np.sort(np.concatenate([data.y_train, data.y_val])), np.sort(y_train))

    metrics, _ = run(tmp_path / "runs", "mnist", "--data-dir", str(tmp_path), "--epochs", "6", "--batch-size", "30",
                     "--warmup-epochs", "1")
    assert metrics["data"].startswith("MNIST from") and metrics["epochs_run"] == 6
    assert metrics["test_accuracy"] >= 0.9  # the bars are easy; chance is 0.1


def test_mnist_npz_and_bad_files(tmp_path):
    rng = np.random.default_rng(1)
    (x_train, y_train), (x_test, y_test) = tiny_mnist(rng, 50), tiny_mnist(rng, 10)
    np.savez(tmp_path / "mnist.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    data = train_flax.load_mnist(tmp_path, seed=0, val_fraction=0.2)
    assert (len(data.y_train), len(data.y_val), len(data.y_test)) == (40, 10, 10)
    np.testing.assert_array_equal(data.x_test[..., 0], x_test / np.float32(255))

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no MNIST in"):
        train_flax.load_mnist(empty)
    (empty / "broken-idx").write_bytes(b"\x08\x03\x00\x00")
    with pytest.raises(ValueError, match="not an IDX file"):
        train_flax.read_idx(empty / "broken-idx")
    write_idx(empty / "short-idx", np.zeros((2, 3), np.uint8))
    (empty / "short-idx").write_bytes((empty / "short-idx").read_bytes()[:-1])
    with pytest.raises(ValueError, match=r"header says \(2, 3\) \(6 values\), file holds 5"):
        train_flax.read_idx(empty / "short-idx")


def test_schedule_option_takes_config_strings_and_bare_names():
    total, warmup, per_epoch = 190, 38, 19
    wsd = train_flax.make_schedule("wsd", 3e-3, warmup, total, per_epoch)
    assert wsd == jaxlr.wsd(peak_value=3e-3, total_steps=190, warmup_steps=38, decay_steps=38)
    one_cycle = train_flax.make_schedule("one_cycle(max_value=0.01, total_steps='100%', pct_start=0.25)", 3e-3,
                                         warmup, total, per_epoch)
    assert one_cycle == jaxlr.one_cycle(max_value=0.01, total_steps=190, pct_start=0.25)
    assert train_flax.make_schedule('{"name": "step_decay", "init_value": 0.1, "step_size": "2ep"}', 3e-3,
                                    warmup, total, per_epoch) == jaxlr.step_decay(0.1, 38)
    assert train_flax.make_schedule("cosine_decay", 0.1, warmup, total, per_epoch) == jaxlr.cosine_decay(0.1, 190)
    with pytest.raises(ValueError, match="did you mean 'cosine_decay'"):
        train_flax.make_schedule("cosine_decya", 0.1, warmup, total, per_epoch)
    with pytest.raises(ValueError, match="'d_model' has no default here"):
        train_flax.make_schedule("noam", 0.1, warmup, total, per_epoch)


def test_command_line_rejects_bad_combinations(capsys):
    with pytest.raises(SystemExit):
        train_flax.parse_args(["--optimizer", "ranger", "--plateau"])
    assert "lookahead" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_flax.parse_args(["--epochs", "0"])
    assert "--epochs must be > 0, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--schedule: unknown schedule 'cosine'"):
        train_flax.main(["--schedule", "cosine", "--progress", "none"])
    with pytest.raises(SystemExit):
        train_flax.parse_args(["--resume", "/nonexistent/run"])
    assert "--resume: /nonexistent/run is not a run directory" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--data-dir: no MNIST in /nonexistent"):
        train_flax.main(["--data-dir", "/nonexistent", "--progress", "none"])


@pytest.mark.parametrize("optimizer", sorted(train_flax.OPTIMIZERS))
def test_every_optimizer_trains_and_reports_its_schedule(tmp_path, optimizer):
    metrics, run_dir = run(tmp_path, optimizer, "--optimizer", optimizer, "--epochs", "2", "--schedule",
                           "warmup_cosine(peak_value=0.003, warmup_steps='1ep', total_steps='100%')")
    rows = read_csv(run_dir)
    expected = jaxlr.warmup_cosine(peak_value=0.003, warmup_steps=19, total_steps=38)(np.arange(38))
    np.testing.assert_allclose(column(rows, "lr"), np.asarray(expected), rtol=1e-6)
    losses = column(rows, "train_loss")
    assert np.all(np.isfinite(losses)) and losses[-5:].mean() < losses[:5].mean()
    assert metrics["epochs_run"] == 2 and np.isfinite(metrics["test_loss"])


@pytest.mark.parametrize("kind", ["tqdm", "rich"])
def test_progress_bars_show_the_learning_rate(tmp_path, capsys, kind):
    pytest.importorskip(kind)
    train_flax.main(["--out-dir", str(tmp_path), "--run-name", kind, "--epochs", "1", "--progress", kind])
    out = capsys.readouterr().out
    assert "epoch 1/1" in out and "| lr 0.00" in out and "val loss" in out


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


def test_sweep_schedules_are_one_batched_warmup_cosine():
    schedules, labels = sweep_schedules.make_schedules([1e-3, 1e-2], [0, 10], [1.0, 2.0], total_steps=100)
    assert len(labels) == 8 and labels[5] == "peak 0.01, warmup 0, exponent 2"
    import jax

    values = jax.vmap(lambda s: s(np.arange(100)))(schedules)
    expected = jaxlr.warmup_cosine(peak_value=0.01, warmup_steps=0, total_steps=100, end_value=1e-4, exponent=2.0)
    np.testing.assert_allclose(values[5], expected(np.arange(100)), rtol=1e-6)
