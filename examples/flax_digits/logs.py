"""What a run shows and writes: the progress of each epoch, ``metrics.csv``, the TensorBoard
event files (written synchronously, and trimmed back to a checkpoint on resume) and
``curves.png``. Every file is replaced whole or appended record by record, so a kill never
leaves half of one."""

from __future__ import annotations

import csv
import io
import os
import sys
import time
from pathlib import Path
from typing import Any


class Progress:
    """A per-epoch progress bar: tqdm, rich, or one plain line per epoch.

    ``auto`` draws a bar (tqdm, else rich) on a terminal only: where stdout is a file, a pipe
    or a CI log, a bar's redrawn states would pile up in it, so it prints the plain lines."""

    def __init__(self, kind: str) -> None:
        if kind == "auto":
            bars = ("tqdm", "rich") if sys.stdout.isatty() else ()
            kind = next((k for k in bars if _importable(k)), "none")
        self.kind = kind

    def start(self, description: str, total: int) -> None:
        if self.kind == "tqdm":
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=description, unit="step", leave=True, file=sys.stdout)
        elif self.kind == "rich":
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.fields[postfix]}"), transient=True)
            self.description = description
            self.bar.start()
            self.task = self.bar.add_task(description, total=total, postfix="")

    def update(self, steps: int, postfix: str) -> None:
        if self.kind == "tqdm":
            self.bar.set_postfix_str(postfix, refresh=False)
            self.bar.update(steps)
        elif self.kind == "rich":
            self.bar.update(self.task, advance=steps, postfix=postfix)

    def finish(self, line: str) -> None:
        if self.kind == "tqdm":
            self.bar.set_postfix_str(line, refresh=True)
            self.bar.close()
        elif self.kind == "rich":
            self.bar.stop()
            self.bar.console.print(f"{self.description}: {line}", highlight=False)
        else:
            print(line, flush=True)


def _importable(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


CSV_FIELDS = ("step", "epoch", "lr", "train_loss", "train_accuracy", "val_loss", "val_accuracy")


def replace_file(path: Path, content: str | bytes) -> None:
    """Writes ``path`` whole or not at all: a kill leaves the old file or the new one, never a
    part of one (the new content goes to a hidden sibling, then ``os.replace``)."""
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("wb") as file:
        file.write(content.encode() if isinstance(content, str) else content)
        file.flush()
        os.fsync(file.fileno())
    os.replace(partial, path)


def write_csv(path: Path, history: dict[str, list]) -> None:
    """One row per step; the validation columns are filled on each epoch's last step."""
    validation = {row["step"]: row for row in history["epochs"]}
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(CSV_FIELDS)
    for row in history["steps"]:
        val = validation.get(row["step"], {})
        writer.writerow([row["step"], row["epoch"], repr(row["lr"]), repr(row["loss"]), repr(row["accuracy"]),
                         repr(val["val_loss"]) if val else "", repr(val["val_accuracy"]) if val else ""])
    replace_file(path, text.getvalue())


class EventLog:
    """This invocation's TensorBoard event file, written synchronously.

    tensorboardX's ``SummaryWriter`` hands events to a background thread, and its ``flush()``
    does not wait for that queue: a kill just after it can lose events. Here an epoch's events
    are on disk (flushed and fsynced) when ``write`` returns, before its checkpoint is saved."""

    def __init__(self, directory: Path, purge_step: int | None) -> None:
        from tensorboardX.event_file_writer import EventsWriter
        from tensorboardX.proto.event_pb2 import Event, SessionLog

        directory.mkdir(parents=True, exist_ok=True)
        # Event files are named by the second they are opened, then the host; readers load them
        # in name order, and the count keeps two files opened within one second apart and in order.
        count = len(list(directory.glob("events.out.tfevents.*")))
        self.writer = EventsWriter(str(directory / "events"), f".{count:04d}")
        if purge_step is not None:
            # A TensorBoard already running drops what it has loaded at and past this step, as it
            # does after any restart; the files themselves no longer hold it (drop_events_after).
            self.writer.write_event(Event(wall_time=time.time(), step=purge_step,
                                          session_log=SessionLog(status=SessionLog.START)))
        self.writer.flush()

    def write(self, steps: list[dict], epoch: dict) -> None:
        """One epoch's scalars: per step the lr, train loss and accuracy; the validation ones."""
        from tensorboardX.proto.event_pb2 import Event
        from tensorboardX.summary import scalar

        now = time.time()
        scalars = [(row["step"], tag, row[key]) for row in steps
                   for tag, key in (("lr", "lr"), ("train/loss", "loss"), ("train/accuracy", "accuracy"))]
        scalars += [(epoch["step"], "val/loss", epoch["val_loss"]),
                    (epoch["step"], "val/accuracy", epoch["val_accuracy"])]
        for step, tag, value in scalars:
            self.writer.write_event(Event(wall_time=now, step=step, summary=scalar(tag, value)))
        self.writer.flush()  # flushes and fsyncs

    def close(self) -> None:
        self.writer.close()


def event_log(directory: Path, purge_step: int | None) -> EventLog | None:
    """The TensorBoard event log of this invocation, or None without tensorboardX."""
    return EventLog(directory, purge_step) if _importable("tensorboardX") else None


def read_event_file(path: Path) -> tuple[list[Any], bool]:
    """The events of a TensorBoard event file (TFRecords: length, its CRC, an ``Event`` proto,
    its CRC), and whether the file ends cleanly: a kill while writing cuts the last record short."""
    from google.protobuf.message import DecodeError
    from tensorboardX.proto.event_pb2 import Event

    raw, offset, events = path.read_bytes(), 0, []
    while offset + 12 <= len(raw):
        end = offset + 12 + int.from_bytes(raw[offset:offset + 8], "little") + 4
        if end > len(raw):
            break
        try:
            events.append(Event.FromString(raw[offset + 12:end - 4]))
        except DecodeError:
            break
        offset = end
    return events, offset == len(raw)


def drop_events_after(directory: Path, step: int) -> None:
    """Rewrites the event files without their events past ``step``, the checkpoint's: a kill
    between an epoch's logs and its checkpoint leaves events that the resumed run writes again."""
    if not _importable("tensorboardX"):
        return
    from tensorboardX.record_writer import RecordWriter

    for path in sorted(directory.glob("events.out.tfevents.*")):
        events, complete = read_event_file(path)
        kept = [event for event in events if event.step <= step]
        if complete and len(kept) == len(events):
            continue
        # The partial file's name lacks "tfevents", so no reader takes it for an event file.
        partial = directory / ".rewrite.partial"
        writer = RecordWriter(str(partial))
        for event in kept:
            writer.write(event.SerializeToString())
        writer.flush()  # flushes and fsyncs
        writer.close()
        os.replace(partial, path)


def plot_curves(path: Path, history: dict[str, list], title: str) -> bool:
    """The learning-rate curve and the loss curves, side by side (matplotlib, if installed)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    steps = [row["step"] for row in history["steps"]]
    fig, (ax_lr, ax_loss) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    ax_lr.plot(steps, [row["lr"] for row in history["steps"]], color="tab:blue")
    ax_lr.set(xlabel="step", ylabel="learning rate", title="learning rate (read from the optimizer state)")
    ax_loss.plot(steps, [row["loss"] for row in history["steps"]], color="tab:gray", alpha=0.6, lw=0.8,
                 label="train (per step)")
    ax_loss.plot([row["step"] for row in history["epochs"]], [row["val_loss"] for row in history["epochs"]],
                 "o-", color="tab:orange", label="validation (per epoch)")
    ax_loss.set(xlabel="step", ylabel="cross-entropy", yscale="log", title="loss")
    ax_loss.legend()
    fig.suptitle(title, fontsize=9)
    image = io.BytesIO()
    fig.savefig(image, format="png", dpi=110)
    plt.close(fig)
    replace_file(path, image.getvalue())
    return True
