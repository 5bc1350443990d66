"""Extract the bundled Fashion-MNIST subset from Debian's full IDX files (run once; the result is committed).

    python snntrace/sim/data/extract.py [--source /usr/share/datasets/fashion-mnist] [--train 300] [--test 100]

Takes the first ``--train`` images of each class from the training set and the first ``--test`` of each class from
the test set (balanced, in the original order), and stores them as uint8 arrays in ``fashion-mnist-subset.npz``.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DEBIAN = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path) -> np.ndarray:
    """Return the array stored in a (possibly gzipped) IDX file."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def balanced(labels: np.ndarray, per_class: int) -> np.ndarray:
    """Return sorted indices of the first ``per_class`` samples of every class."""
    picked = [np.flatnonzero(labels == c)[:per_class] for c in range(10)]
    return np.sort(np.concatenate(picked))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEBIAN)
    parser.add_argument("--train", type=int, default=300, help="training images per class")
    parser.add_argument("--test", type=int, default=100, help="test images per class")
    args = parser.parse_args()
    arrays = {}
    for split, prefix, per_class in (("train", "train", args.train), ("test", "t10k", args.test)):
        images = read_idx(args.source / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx(args.source / f"{prefix}-labels-idx1-ubyte.gz")
        keep = balanced(labels, per_class)
        arrays[f"{split}_images"] = images[keep]
        arrays[f"{split}_labels"] = labels[keep]
        arrays[f"{split}_source_index"] = keep.astype(np.int32)
    np.savez_compressed(HERE / "fashion-mnist-subset.npz", **arrays)


if __name__ == "__main__":
    main()
