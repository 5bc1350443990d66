"""A writing process killed with SIGKILL leaves a trace that opens, validates as incomplete and keeps every part."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import numpy as np
import polars as pl

import snntrace as st

PART_ROWS = 1000
# The child writes part k as ticks k*1000 .. k*1000+999, neuron = tick * 7919 mod 1000, so the parent knows every row.
CHILD = f"""
import sys
import numpy as np
from snntrace import Population, TraceWriter

writer = TraceWriter(sys.argv[1], name="killed", time_resolution=1e-4, populations=[Population("p", 1000)],
                     part_rows={{"spikes": {PART_ROWS}}})
writer.record_spikes(["p"])
k = 0
while True:
    t = np.arange(k * {PART_ROWS}, (k + 1) * {PART_ROWS})
    writer.write_spikes(t, "p", t * 7919 % 1000)  # fills the buffer: publishes part k before returning
    print(k, flush=True)
    k += 1
"""


def expected_part(k: int) -> pl.DataFrame:
    t = np.arange(k * PART_ROWS, (k + 1) * PART_ROWS, dtype=np.int64)
    return pl.DataFrame({"t": t, "population": np.zeros(PART_ROWS, np.uint16), "neuron": (t * 7919 % 1000).astype(np.uint32)})


def test_a_trace_killed_mid_run_opens_validates_as_incomplete_and_keeps_every_part(tmp_path):
    path = tmp_path / "killed.trace"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        reported = -1
        while reported < 5 and time.monotonic() < deadline:  # wait until the child says six parts are out
            line = child.stdout.readline()
            if not line:
                break
            reported = int(line)
        assert reported >= 5, child.stderr.read()
        os.kill(child.pid, signal.SIGKILL)  # while it writes the next parts: no close(), no flush, no finally
    finally:
        child.kill()
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL

    trace = st.open_trace(path)
    assert trace.complete is False
    result = st.validate(path)
    assert result.errors == []
    assert "TR001" in result.codes
    assert set(result.codes) <= {"TR001", "VL003", "RC002"}  # the last two only if killed between part and manifest

    parts = trace.parts("spikes")
    assert len(parts) >= reported + 1
    assert [p.name for p in parts] == [f"part-{k:06d}.parquet" for k in range(len(parts))]
    for k, part in enumerate(parts):
        rows = pl.read_parquet(part)
        assert rows.equals(expected_part(k)), f"part {k} differs from what the child wrote"
    assert trace.spikes.select(pl.len()).collect().item() == len(parts) * PART_ROWS
