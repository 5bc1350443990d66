"""Helpers shared by the simulator tests: small IDX data sets written on the fly."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, *, gz: bool) -> None:
    """Write an unsigned-byte IDX file, gzipped or not."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    data = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(data) if gz else data)


def idx_folder(folder: Path, *, gz: bool) -> tuple[np.ndarray, np.ndarray]:
    """Write a 30 + 10 image IDX data set (random pixels, labels 0-9) into folder; return the training arrays."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(30, 28, 28))
    labels = np.arange(30) % 10
    suffix = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{suffix}", images, gz=gz)
    write_idx(folder / f"train-labels-idx1-ubyte{suffix}", labels, gz=gz)
    write_idx(folder / f"t10k-images-idx3-ubyte{suffix}", images[:10], gz=gz)
    write_idx(folder / f"t10k-labels-idx1-ubyte{suffix}", labels[:10], gz=gz)
    return images, labels
