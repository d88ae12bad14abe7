"""The data: scikit-learn's 8x8 digits (no download), or MNIST-format IDX files or a Keras-style
``mnist.npz`` from a directory, as float32 images in [0, 1] split into train, validation and test."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import math
import zipfile
import zlib
from pathlib import Path

import numpy as np

NUM_CLASSES = 10


@dataclasses.dataclass
class Data:
    """Images (N, H, W, 1) float32 in [0, 1] and integer labels, split three ways."""

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    def describe(self) -> str:
        return (f"{self.name}: {len(self.y_train)} train, {len(self.y_val)} validation, {len(self.y_test)} test "
                f"images of {self.x_train.shape[1]}x{self.x_train.shape[2]}")

    def fingerprint(self) -> str:
        """SHA-256 of the six arrays (shapes, types and values): a resumed run checks that it
        trains on the data it started on."""
        digest = hashlib.sha256()
        for array in (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test):
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(np.ascontiguousarray(array).data)
        return digest.hexdigest()


def load_digits(seed: int = 0) -> Data:
    """scikit-learn's 8x8 digits, split 70/10/20 (train/validation/test) with a fixed seed."""
    from sklearn.datasets import load_digits as sklearn_digits

    digits = sklearn_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(y))
    n_train, n_val = round(0.7 * len(y)), round(0.1 * len(y))
    train, val, test = np.split(order, [n_train, n_train + n_val])
    return Data("sklearn digits", x[train], y[train], x[val], y[val], x[test], y[test])


# What a truncated or damaged file raises while it is read: gzip (OSError, EOFError, zlib.error)
# and np.load (zipfile.BadZipFile, ValueError for a file that is not an .npz or .npy).
READ_ERRORS = (OSError, EOFError, ValueError, zlib.error, zipfile.BadZipFile)


def read_idx(path: Path) -> np.ndarray:
    """An array from an IDX file (the MNIST format), plain or gzipped."""
    try:
        with (gzip.open if path.suffix == ".gz" else open)(path, "rb") as file:
            raw = file.read()
    except READ_ERRORS as error:
        raise ValueError(f"{path}: cannot read it ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if raw[2] not in dtypes:
        raise ValueError(f"{path}: unknown IDX element type 0x{raw[2]:02x}")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise ValueError(f"{path}: the file ends inside its header")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    data = np.frombuffer(raw, dtypes[raw[2]], offset=4 + 4 * ndim)
    if data.size != math.prod(shape):
        raise ValueError(f"{path}: header says {shape} ({math.prod(shape)} values), file holds {data.size}")
    return data.reshape(shape)


def read_npz(path: Path) -> tuple[np.ndarray, ...]:
    """``x_train, y_train, x_test, y_test`` from a Keras-style ``mnist.npz``."""
    keys = ("x_train", "y_train", "x_test", "y_test")
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if not hasattr(arrays, "files"):
                raise ValueError("it holds one array, not an .npz archive")
            missing = set(keys) - set(arrays.files)
            if missing:
                raise ValueError(f"it lacks {', '.join(sorted(missing))}")
            return tuple(arrays[key] for key in keys)
    except READ_ERRORS as error:
        raise ValueError(f"{path}: cannot read it ({error})") from None


def _find(directory: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).exists():
            return directory / name
    return None


def load_mnist(directory: str | Path, seed: int = 0, val_fraction: float = 0.1) -> Data:
    """MNIST (or Fashion-MNIST, KMNIST...) from IDX files or ``mnist.npz`` in ``directory``."""
    directory = Path(directory).expanduser()
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    found = [_find(directory, stem) for stem in stems]
    npz = [p for p in (directory / "mnist.npz", *sorted(directory.glob("*.npz"))) if p.exists()]
    if all(found):
        x_train, y_train, x_test, y_test = (read_idx(path) for path in found)  # type: ignore[arg-type]
    elif npz:
        x_train, y_train, x_test, y_test = read_npz(npz[0])
    else:
        raise FileNotFoundError(f"no MNIST in {directory}: expected the four IDX files ({', '.join(stems)}, "
                                "optionally .gz) or mnist.npz")
    for name, images, labels in (("train", x_train, y_train), ("test", x_test, y_test)):
        if images.ndim != 3 or labels.shape != (len(images),):
            raise ValueError(f"{directory}: {name} images {images.shape} and labels {labels.shape} do not match")
        if len(images) == 0 or min(images.shape[1:]) < 4:
            raise ValueError(f"{directory}: {name} images {images.shape}: expected at least one image of 4x4 or more")
        if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise ValueError(f"{directory}: {name} labels must be integers in 0..{NUM_CLASSES - 1}, found "
                             f"{labels.dtype} in {labels.min()}..{labels.max()}")
        if not np.issubdtype(images.dtype, np.integer) and not np.all(np.isfinite(images)):
            raise ValueError(f"{directory}: {name} images hold NaN or infinite values")
    if x_train.shape[1:] != x_test.shape[1:]:
        raise ValueError(f"{directory}: train images are {x_train.shape[1:]}, test images {x_test.shape[1:]}")
    scale = 255.0 if np.issubdtype(x_train.dtype, np.integer) else 1.0
    prepare = lambda images: (images.astype(np.float32) / scale)[..., None]  # noqa: E731
    order = np.random.default_rng(seed).permutation(len(y_train))
    n_val = round(val_fraction * len(order))
    if not 0 < n_val < len(order):
        raise ValueError(f"{directory}: {len(order)} training images are too few to keep {val_fraction:.0%} "
                         "of them for validation")
    train, val = order[n_val:], order[:n_val]
    x_train, x_test = prepare(x_train), prepare(x_test)
    y_train, y_test = y_train.astype(np.int32), y_test.astype(np.int32)
    return Data(f"MNIST from {directory}", x_train[train], y_train[train], x_train[val], y_train[val], x_test, y_test)



def epoch_batches(n: int, batch_size: int, seed: int, epoch: int) -> np.ndarray:
    """The example indices of each batch of one epoch, shape (n // batch_size, batch_size): a
    permutation that is a function of the seed and the epoch alone; the last partial batch is
    dropped."""
    order = np.random.default_rng([seed, epoch]).permutation(n)
    steps = n // batch_size
    return order[:steps * batch_size].reshape(steps, batch_size)
