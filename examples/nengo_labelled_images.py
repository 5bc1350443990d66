#!/usr/bin/env python3
"""Present labelled Fashion-MNIST images to a Nengo network with BCM-learning neuron-to-neuron weights.

    python examples/nengo_labelled_images.py [OUTPUT_DIR] [--images 40]

Reads the Fashion-MNIST test set installed by Debian's ``dataset-fashion-mnist`` (``/usr/share/datasets``), shows
each image for 100 ms through ``nengo.processes.PresentInput`` and records: the ``samples`` table (which image, its
label and when), spikes of both layers, and snapshots of the BCM-learned 100 x 196 weight matrix. Writes
OUTPUT_DIR/images.trace and OUTPUT_DIR/images.html.
"""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import nengo
import numpy as np
from snntrace.adapters.nengo import NengoRecorder

import snntrace

DATA = Path("/usr/share/datasets/fashion-mnist")
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
PRESENTATION_TIME = 0.1


def load(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the first ``count`` test images, 2x2 average-pooled to 14x14 in [0, 1], and their labels."""
    with gzip.open(DATA / "t10k-images-idx3-ubyte.gz") as f:
        images = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28)[:count]
    with gzip.open(DATA / "t10k-labels-idx1-ubyte.gz") as f:
        labels = np.frombuffer(f.read(), dtype=np.uint8, offset=8)[:count]
    pooled = images.reshape(count, 14, 2, 14, 2).mean(axis=(2, 4)) / 255.0
    return pooled.reshape(count, -1), labels.astype(np.int64)


def build(images: np.ndarray, seed: int = 0) -> nengo.Network:
    """Return an input layer driven pixel by pixel and a hidden layer fed through BCM-learned weights."""
    rng = np.random.default_rng(seed)
    n_pixels = images.shape[1]
    with nengo.Network(label="Fashion-MNIST with BCM", seed=seed) as net:
        stim = nengo.Node(nengo.processes.PresentInput(images, PRESENTATION_TIME), label="images")
        pixels = nengo.Ensemble(
            n_pixels,
            1,
            max_rates=nengo.dists.Uniform(50, 100),
            intercepts=nengo.dists.Uniform(0, 0.1),
            encoders=nengo.dists.Choice([[1]]),
            label="pixels",
        )
        hidden = nengo.Ensemble(100, 1, label="hidden")
        nengo.Connection(stim, pixels.neurons, transform=4.0)
        plastic = nengo.Connection(
            pixels.neurons,
            hidden.neurons,
            transform=rng.uniform(0, 2e-3, size=(100, n_pixels)),
            learning_rule_type=nengo.BCM(learning_rate=1e-9),
            label="pixels->hidden",
        )
        nengo.Probe(pixels.neurons, label="pixel spikes")
        nengo.Probe(hidden.neurons, label="hidden spikes")
        nengo.Probe(plastic, "weights", sample_every=PRESENTATION_TIME, label="weights")
    return net


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", nargs="?", type=Path, default=Path("nengo-output"))
    parser.add_argument("--images", type=int, default=40)
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    images, labels = load(args.images)
    trace = args.output / "images.trace"
    dataset = snntrace.Dataset("Fashion-MNIST (test, 14x14)", classes=CLASSES, license="MIT")
    with (
        nengo.Simulator(build(images), seed=1, progress_bar=False) as sim,
        NengoRecorder(sim, trace, labels=labels, split="test", dataset=dataset, overwrite=True) as recorder,
    ):
        recorder.run(args.images * PRESENTATION_TIME)
    snntrace.report(trace, args.output / "images.html", force=True)
    print(f"wrote {trace} and {args.output / 'images.html'}")


if __name__ == "__main__":
    main()
