"""Write synthetic but realistic traces (for tests, benchmarks and examples), streaming in bounded chunks."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from snntrace.model import Dataset, Population, Projection, Software
from snntrace.writer import TraceWriter

FASHION_CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def write_synthetic_trace(
    path: str | os.PathLike,
    *,
    neurons: int = 100,
    spikes: int = 100_000,
    samples: int = 200,
    resolution: float = 1e-4,
    sample_ticks: int = 5000,
    snapshots: int = 5,
    recorded_neurons: int = 4,
    seed: int = 0,
    chunk: int = 1_000_000,
    overwrite: bool = False,
    name: str = "synthetic",
) -> Path:
    """Write a labelled learning-run-like trace: 784 inputs -> ``neurons`` outputs, spikes, states, weights,
    samples, metrics and prune events. Spikes stream in chunks of ``chunk`` rows, so memory stays bounded."""
    rng = np.random.default_rng(seed)
    duration = samples * sample_ticks
    populations = [
        Population("input", 784, shape=(28, 28), role="input"),
        Population("excitatory", neurons, role="output", model={"name": "LIF"}),
    ]
    projections = [Projection("input->excitatory", "input", "excitatory", synapses=784 * neurons, plastic=True, learning_rule="stdp")]
    labels = rng.integers(0, 10, samples)
    preferred = rng.integers(0, 10, neurons)  # each neuron prefers one class, so class views show structure
    with TraceWriter(
        path,
        name=name,
        time_resolution=resolution,
        populations=populations,
        projections=projections,
        dataset=Dataset("synthetic-fashion", classes=FASHION_CLASSES),
        simulator=Software("synthetic", "1"),
        producer=Software("snntrace.synthetic", "1"),
        overwrite=overwrite,
        duration=duration,
    ) as writer:
        writer.record_spikes(["excitatory"])
        writer.record_states("excitatory", "v", unit="V", neurons=range(recorded_neurons), interval=sample_ticks // 10)
        writer.record_weights("input->excitatory", snapshot="full")
        remaining = spikes
        start = 0
        per_tick = spikes / max(duration, 1)
        while remaining > 0:
            n = min(chunk, remaining)
            span = max(1, int(round(n / per_tick)))
            t = np.sort(rng.integers(start, min(start + span, duration), n))
            sample_of_t = np.minimum(t // sample_ticks, samples - 1)
            label = labels[sample_of_t]
            # Half the spikes come from neurons preferring the shown label.
            neuron = rng.integers(0, neurons, n)
            matches = np.flatnonzero(rng.random(n) < 0.5)
            for cls in range(10):
                pool = np.flatnonzero(preferred == cls)
                chosen = matches[label[matches] == cls]
                if len(pool) and len(chosen):
                    neuron[chosen] = rng.choice(pool, len(chosen))
            writer.write_spikes(t, "excitatory", neuron)
            remaining -= n
            start = min(start + span, duration - 1)
        ticks = np.arange(0, duration, sample_ticks // 10)
        for k in range(recorded_neurons):
            v = -0.065 + 0.01 * np.sin(ticks / sample_ticks + k) + rng.normal(0, 0.002, len(ticks))
            writer.write_states(ticks, "excitatory", k, "v", v)
        weights = rng.random((784, neurons))
        pre, post = np.meshgrid(np.arange(784), np.arange(neurons), indexing="ij")
        threshold = 0.0
        for snap in range(snapshots):
            t = int(duration * (snap + 1) / snapshots) - 1
            weights = np.clip(weights + rng.normal(0, 0.05, weights.shape), 0, 1)
            before = int(np.count_nonzero(weights))
            threshold += 0.05 * before / weights.size
            weights[weights < threshold] = 0
            kept = weights > 0
            writer.write_weights(t, "input->excitatory", pre[kept], post[kept], weights[kept])
            writer.write_event("prune", t, {"threshold": threshold, "before": before, "remaining": int(kept.sum())}, projection=0)
            writer.write_metric("compression_rate", 1 - kept.sum() / weights.size, t=t, step=snap, projection=0)
            writer.write_metric("accuracy", 0.5 + 0.3 * (snap + 1) / snapshots, t=t, step=snap)
        writer.write_samples(np.arange(samples), np.arange(samples) * sample_ticks, (np.arange(samples) + 1) * sample_ticks, labels, "train", prediction=np.where(rng.random(samples) < 0.8, labels, (labels + 1) % 10))
    return Path(path)
