"""A writer that runs out of disk (ENOSPC), hits a file size limit (EFBIG) or loses write permission (EACCES) stops
with a coded TraceWriteError naming the file, and every part written before stays readable.

ENOSPC is real: a 256 KiB tmpfs mounted for the test (needs root; skipped with the reason otherwise). The file
size limit is ``RLIMIT_FSIZE`` in a child process (any user). EACCES is real too: the writer runs in a child
process that cannot override file permissions (as root: ``setpriv`` drops CAP_DAC_OVERRIDE) and the parent takes
write permission away from the trace mid-run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import snntrace
from snntrace.errors import TraceWriteError
from snntrace.model import Population

PART_ROWS = 2000


def _rows(k: int) -> np.ndarray:
    """Ticks of part ``k``: 2000 ticks, so each part is distinct and its content known."""
    return np.arange(k * PART_ROWS, (k + 1) * PART_ROWS, dtype=np.int64)


def _assert_parts_readable(trace: Path, parts_written: int) -> None:
    opened = snntrace.open_trace(trace)
    assert opened.complete is False
    spikes = opened.spikes.collect()
    assert (
        spikes["t"].to_list() == np.concatenate([_rows(k) for k in range(parts_written)]).tolist()
        if parts_written
        else spikes.height == 0
    )
    result = snntrace.validate(trace)
    assert result.errors == [], [str(f) for f in result.errors]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({done.stderr.strip()}); the RLIMIT_FSIZE test covers the writer's error path"
        )
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_stops_the_writer_with_a_coded_error_and_keeps_the_parts_written(tiny_disk):
    trace = tiny_disk / "full.trace"
    rng = np.random.default_rng(3)
    written = 0
    with (
        pytest.raises(TraceWriteError) as raised,
        snntrace.TraceWriter(
            trace,
            name="full",
            time_resolution=1e-4,
            populations=[Population("p", 60000)],
            part_rows={"spikes": PART_ROWS},
        ) as writer,
    ):
        for k in range(10_000):
            # Random neuron ids do not compress: every part costs several KiB, so the disk fills within a second.
            writer.write_spikes(_rows(k), "p", rng.integers(0, 60000, PART_ROWS))
            written = len(list((trace / "spikes").glob("part-*.parquet")))
    error = raised.value
    assert error.code == "WR005"
    assert "No space left on device" in str(error)
    assert error.location is None or str(trace) in error.location
    assert written >= 1, "the disk filled before the first part: the test proves nothing"
    _assert_parts_readable(trace, len(list((trace / "spikes").glob("part-*.parquet"))))


CHILD = f"""
import json, resource, signal, sys
import numpy as np
from snntrace import Population, TraceWriter
from snntrace.errors import SnntraceError

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # get EFBIG from write() instead of being killed
limit = int(sys.argv[2])
if limit:
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
rng = np.random.default_rng(3)
done = 0
try:
    writer = TraceWriter(sys.argv[1], name="limited", time_resolution=1e-4, populations=[Population("p", 60000)], part_rows={{"spikes": {PART_ROWS}}})
    for k in range(200):
        t = np.arange(k * {PART_ROWS}, (k + 1) * {PART_ROWS})
        if k == int(sys.argv[4]):  # one part 30 times larger than the others: it breaks the file size limit
            t = np.arange(k * {PART_ROWS}, (k + 30) * {PART_ROWS})
        writer.write_spikes(t, "p", rng.integers(0, 60000, len(t)))
        done = k + 1
        if k == int(sys.argv[3]):
            sys.stdin.readline()  # the parent changes something now (permissions)
    writer.close()
    print(json.dumps({{"ok": done}}))
except SnntraceError as exc:
    print(json.dumps({{"code": exc.code, "message": str(exc), "location": exc.location, "done": done, "type": type(exc).__name__}}))
"""


def test_a_file_size_limit_stops_the_writer_with_a_coded_error_and_keeps_the_parts_written(tmp_path):
    trace = tmp_path / "limited.trace"
    # Parts 0-2 are ~7 KB of random ids each; part 3 is 30 times larger and breaks a 40 KB file size limit (EFBIG).
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(trace), str(40_000), "-1", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    answer = json.loads(done.stdout)
    assert answer.get("type") == "TraceWriteError" and answer["code"] == "WR005", answer
    assert "File too large" in answer["message"]
    parts = len(list((trace / "spikes").glob("part-*.parquet")))
    assert parts == answer["done"] == 3
    assert not list((trace / "spikes").glob(".*.tmp")), "the failed part's temporary file was left behind"
    _assert_parts_readable(trace, parts)


def _without_permission_override() -> list[str]:
    """Return a command prefix that runs the child without the capability to ignore file permissions."""
    if os.geteuid() != 0:
        return []  # permissions already apply
    if not shutil.which("setpriv"):
        pytest.skip("running as root without setpriv: cannot drop CAP_DAC_OVERRIDE, so permissions would not apply")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def test_losing_write_permission_stops_the_writer_with_a_coded_error_and_keeps_the_parts_written(tmp_path):
    trace = tmp_path / "denied.trace"
    child = subprocess.Popen(
        [*_without_permission_override(), sys.executable, "-c", CHILD, str(trace), "0", "2", "-1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        while len(list((trace / "spikes").glob("part-*.parquet"))) < 3 and child.poll() is None:
            time.sleep(0.01)  # parts 0..2 are published before the child waits on stdin
        for folder in (trace, trace / "spikes"):
            os.chmod(folder, 0o555)  # read-only for the writer (root still reads and checks it)
        out, err = child.communicate("\n", timeout=120)
    finally:
        child.kill()
        for folder in (trace, trace / "spikes"):
            os.chmod(folder, 0o755)  # so pytest can remove it
    assert child.returncode == 0, err[-3000:]
    answer = json.loads(out)
    assert answer.get("type") == "TraceWriteError" and answer["code"] == "WR005", answer
    assert "Permission denied" in answer["message"]
    _assert_parts_readable(trace, 3)
    assert pl.read_parquet(trace / "spikes" / "part-000002.parquet")["t"].to_list() == _rows(2).tolist()
