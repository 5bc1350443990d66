"""Concurrent access: a second writer on a trace directory is refused (TraceLockedError, WR002), a killed writer's
lock dies with it, and readers -- open_trace, validate, info and the report -- work on a trace while it is written.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import snntrace
from snntrace.cli import cli
from snntrace.errors import TraceLockedError
from snntrace.model import Population

PART_ROWS = 500

# Writes one part every ~20 ms (ticks k*500 .. k*500+499) until killed; says "ready" after the first part.
WRITER = f"""
import sys, time
import numpy as np
from snntrace import Population, TraceWriter

writer = TraceWriter(sys.argv[1], name="live", time_resolution=1e-3, populations=[Population("p", 50)],
                     part_rows={{"spikes": {PART_ROWS}}}, overwrite=len(sys.argv) > 2)
writer.record_spikes(["p"])
k = 0
while True:
    t = np.arange(k * {PART_ROWS}, (k + 1) * {PART_ROWS})
    writer.write_spikes(t, "p", t % 50)
    writer.write_metric("accuracy", min(1.0, k / 100), t=int(t[-1]), step=k)
    if k == 0:
        print("ready", flush=True)
    k += 1
    time.sleep(0.02)
"""


def _start_writer(trace: Path, *extra: str) -> subprocess.Popen:
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(trace), *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "ready", child.stderr.read()
    return child


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)


@pytest.fixture
def live_trace(tmp_path):
    trace = tmp_path / "live.trace"
    child = _start_writer(trace)
    yield trace, child
    _stop(child)


def test_a_second_writer_in_another_process_is_refused_with_wr002(live_trace):
    trace, _ = live_trace
    with pytest.raises(TraceLockedError) as raised:
        snntrace.TraceWriter(
            trace, name="intruder", time_resolution=1e-3, populations=[Population("q", 5)], overwrite=True
        )
    assert raised.value.code == "WR002"
    assert str(trace) in str(raised.value) and "another writer" in str(raised.value)
    assert snntrace.open_trace(trace).name == "live", "the refused writer changed the manifest"


def test_a_second_writer_in_the_same_process_is_refused_with_wr002(tmp_path):
    trace = tmp_path / "same.trace"
    with snntrace.TraceWriter(trace, name="first", time_resolution=1e-3, populations=[Population("p", 5)]) as writer:
        writer.write_spikes([1, 2], "p", [0, 1])
        with pytest.raises(TraceLockedError):
            snntrace.TraceWriter(
                trace, name="second", time_resolution=1e-3, populations=[Population("p", 5)], overwrite=True
            )
    assert snntrace.open_trace(trace).complete is True
    assert snntrace.validate(trace).findings == []


def test_a_killed_writers_lock_dies_with_it_so_the_trace_can_be_rewritten(tmp_path):
    trace = tmp_path / "relock.trace"
    _stop(_start_writer(trace))
    assert (trace / ".lock").exists()  # a stale lock file stays behind; the lock itself was the process's
    child = _start_writer(trace, "overwrite")
    _stop(child)
    assert snntrace.open_trace(trace).spikes.collect().height >= PART_ROWS


def test_readers_follow_a_trace_while_it_is_written(live_trace, tmp_path):
    trace, child = live_trace
    seen_rows = []
    for round_ in range(4):
        opened = snntrace.open_trace(trace)
        spikes = opened.spikes.collect()
        assert opened.complete is False
        assert spikes.height % PART_ROWS == 0  # whole parts only
        assert spikes["t"].to_list() == list(range(spikes.height))  # in order, nothing missing, nothing doubled
        seen_rows.append(spikes.height)
        result = snntrace.validate(trace)
        assert result.errors == [], [str(f) for f in result.errors]
        info = CliRunner().invoke(cli, ["info", str(trace)])
        assert info.exit_code == 0 and "INCOMPLETE" in info.stdout, info.output
        time.sleep(0.1)
    assert child.poll() is None, "the writer stopped while being read"
    assert seen_rows == sorted(seen_rows) and seen_rows[-1] > seen_rows[0]


def test_the_report_of_a_run_in_progress_is_written(live_trace, tmp_path):
    trace, child = live_trace
    time.sleep(0.3)
    output = snntrace.report(trace, tmp_path / "live.html", static=False)
    html = Path(output).read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")
    assert child.poll() is None, "the writer stopped while the report was written"
    assert "the run stopped before the producer closed the trace" in html  # the page says the run is in progress
