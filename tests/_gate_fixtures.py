"""A small trace whose gate metrics are known by construction (see the numbers in ``gate_trace``)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

import snntrace

# Excitatory: neurons 0..6 of 10 spike (silent fraction 0.3); inhibitory: 1 of 4 spikes (0.75 silent).
# Samples [0, 100), [100, 200), [200, 300), [300, 400) ticks hold 5, 0, 3 and 12 excitatory spikes.
EXCITATORY_TICKS = [1, 2, 3, 50, 99] + [200, 201, 250] + [300 + i for i in range(12)]
EXCITATORY_NEURONS = [0, 1, 2, 3, 4] + [5, 6, 0] + [i % 7 for i in range(12)]
ACCURACY = [0.5, 0.6, 0.75]
COMPRESSION = [0.2, 0.4, 0.6]


def gate_trace(path: Path) -> Path:
    """Write the trace; resolution 1 ms, so 400 ticks are 0.4 s."""
    with snntrace.TraceWriter(
        path,
        name="gates",
        time_resolution=1e-3,
        populations=[
            snntrace.Population("excitatory", 10),
            snntrace.Population("inhibitory", 4),
            snntrace.Population("input", 3),
        ],
        projections=[snntrace.Projection("input->excitatory", "input", "excitatory", synapses=30)],
    ) as writer:
        writer.record_spikes(["excitatory", "inhibitory"])
        ticks = np.array(EXCITATORY_TICKS + [150])
        pops = np.array([0] * len(EXCITATORY_TICKS) + [1])
        neurons = np.array(EXCITATORY_NEURONS + [2])
        writer.write_spikes(ticks, pops, neurons)
        writer.write_samples(np.arange(4), np.arange(4) * 100, (np.arange(4) + 1) * 100, [0, 1, 2, 3], "train")
        for step, (accuracy, compression) in enumerate(zip(ACCURACY, COMPRESSION)):
            writer.write_metric("accuracy", accuracy, t=(step + 1) * 100, step=step)
            writer.write_metric("loss", 1.0 - accuracy, t=(step + 1) * 100, step=step)
            writer.write_metric(
                "compression_rate", compression, t=(step + 1) * 100, step=step, projection="input->excitatory"
            )
    return path


def make_invalid(source: Path, target: Path) -> Path:
    """Copy a trace and shrink a population below its spiking neuron ids (the validator must object)."""
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["populations"][0]["size"] = 2
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target
