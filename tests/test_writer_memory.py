"""Memory stays flat while 50M spikes stream through TraceWriter, and while the validator reads them back (each
measured in a separate process)."""

from __future__ import annotations

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

import snntrace

# Spikes stream in 1M-spike chunks (1600 neurons, 0.1 ms ticks); the child reports its peak RSS after 10M and 50M.
CHILD = """
import json, sys
import numpy as np
from snntrace import Population, TraceWriter

def peak_rss():
    # VmHWM belongs to this process image; ru_maxrss would carry over the (large) pytest worker it was forked from.
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

chunk, total = 1_000_000, 50_000_000
rng = np.random.default_rng(0)
neuron = rng.integers(0, 1600, chunk).astype(np.uint32)
offsets = np.sort(rng.integers(0, 625, chunk))  # about 1600 spikes per 0.1 ms tick
peaks = {}
with TraceWriter(sys.argv[1], name="memory", time_resolution=1e-4, populations=[Population("p", 1600)]) as writer:
    for k in range(total // chunk):
        writer.write_spikes(offsets + k * 625, 0, neuron)
        if (k + 1) in (10, 50):
            peaks[k + 1] = peak_rss()
print(json.dumps({"peaks": peaks}))
"""


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_number_of_spikes(tmp_path):
    path = tmp_path / "memory.trace"
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    peaks = {int(k): v for k, v in json.loads(done.stdout)["peaks"].items()}
    # After 10M spikes the writer has flushed two 4M-row parts: its buffers are at their largest. 40M more spikes
    # may not add more than a small margin (allocator noise), far below the 40M * 14 bytes they hold in memory.
    assert peaks[50] - peaks[10] < 64 * 2**20, peaks
    trace = snntrace.open_trace(path)
    assert trace.complete
    assert sum(pq.read_metadata(p).num_rows for p in trace.parts("spikes")) == 50_000_000

    # Validation streams too: its peak stays far below the 700 MB the spike columns take in memory.
    validate = (
        "import json, sys\nimport snntrace\nresult = snntrace.validate(sys.argv[1])\n"
        "peak = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
        "print(json.dumps({'ok': result.ok, 'peak': peak}))"
    )
    done = subprocess.run([sys.executable, "-c", validate, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"]
    assert report["peak"] < 400 * 2**20, report
