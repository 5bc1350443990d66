"""Path safety: nothing in a trace makes snntrace read or write outside the trace directory, and the report writes its
output atomically without ever replacing its input.

Two witnesses of "read outside": a Python audit hook records every file Python code opens or lists, and sentinel
rows (neuron 7 at tick 123456, which also break the spec) placed outside the trace catch reads by the native Parquet
readers, which the audit hook cannot see.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from _hardening import assert_no_crash, fresh_copy, info_outcome, outcomes, write_small_trace

import snntrace
from snntrace.errors import SnntraceError
from snntrace.format import TABLES
from snntrace.model import Population

SENTINEL_TICK = 123_456


class OpenedFiles:
    """Every path Python opens, lists or stats through an audited call while ``active``."""

    def __init__(self):
        self.active = False
        self.paths: list[str] = []

    def __call__(self, event, args):
        if (
            self.active
            and event in ("open", "os.listdir", "os.scandir")
            and args
            and isinstance(args[0], (str, bytes, os.PathLike))
        ):
            self.paths.append(os.fsdecode(args[0]))


AUDIT = OpenedFiles()
sys.addaudithook(AUDIT)  # audit hooks cannot be removed; the recorder only records while a test switches it on


def _outside_of(paths: list[str], *allowed: Path) -> list[str]:
    roots = (
        [os.path.realpath(a) for a in allowed]
        + [os.path.realpath(p) for p in sys.path if p]
        + [sys.prefix, sys.base_prefix]
    )
    found = []
    for path in paths:
        real = os.path.realpath(path)
        if not any(real == root or real.startswith(root.rstrip("/") + "/") for root in roots):
            found.append(path)
    return found


@pytest.fixture(scope="module")
def valid_trace(tmp_path_factory) -> Path:
    return write_small_trace(tmp_path_factory.mktemp("paths") / "valid.trace")


@pytest.fixture
def outside(tmp_path) -> Path:
    """A folder beside the trace holding a sentinel spikes part and a secret file."""
    folder = tmp_path / "outside"
    folder.mkdir()
    pq.write_table(
        pa.table(
            {
                "t": pa.array([SENTINEL_TICK], pa.int64()),
                "population": pa.array([1], pa.uint16()),
                "neuron": pa.array([7], pa.uint32()),
            }
        ),
        folder / "part-000000.parquet",
    )
    (folder / "secret.txt").write_text("secret\n")
    return folder


def _assert_sentinel_not_read(trace: Path) -> None:
    spikes = snntrace.open_trace(trace).spikes.collect()
    assert spikes.filter(pl.col("t") == SENTINEL_TICK).height == 0, "rows from outside the trace were read"
    result = snntrace.validate(trace)
    assert not [f for f in result.findings if f.location.table == "spikes" and "123456" in f.message]


def test_a_table_folder_that_is_a_symlink_to_outside_is_not_read(valid_trace, outside, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    os.rename(trace / "spikes", tmp_path / "moved-spikes")
    (trace / "spikes").symlink_to(outside, target_is_directory=True)
    _assert_sentinel_not_read(trace)
    assert snntrace.open_trace(trace).parts("spikes") == []
    assert "TR002" in snntrace.validate(trace).codes  # the symlink is reported, not followed


def test_a_part_that_is_a_symlink_to_outside_is_not_read(valid_trace, outside, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    (trace / "spikes" / "part-000001.parquet").symlink_to(outside / "part-000000.parquet")
    _assert_sentinel_not_read(trace)
    assert "TR003" in snntrace.validate(trace).codes


def test_a_manifest_that_is_a_symlink_to_outside_is_refused_with_a_code(valid_trace, outside, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    target = outside / "manifest.json"
    (trace / "manifest.json").rename(target)
    (trace / "manifest.json").symlink_to(target)
    with pytest.raises(SnntraceError) as raised:
        snntrace.open_trace(trace)
    assert raised.value.code in ("MF002", "IO001") and "symlink" in str(raised.value)
    assert_no_crash(outcomes(trace), "manifest symlinked outside")


HOSTILE_PATHS = [
    "..",
    "../..",
    "../../../../etc/passwd",
    "/etc/passwd",
    "/dev/zero",
    "spikes/../../outside",
    "~root",
    "C:\\Windows",
    "\\\\server\\share",
    "%2e%2e%2f",
]


def test_path_like_names_in_the_manifest_open_nothing_outside_the_trace(valid_trace, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    manifest = json.loads((trace / "manifest.json").read_text())
    for index, population in enumerate(manifest["populations"]):
        population["name"] = HOSTILE_PATHS[index]
    manifest["name"] = HOSTILE_PATHS[2]
    manifest["projections"][0]["name"] = HOSTILE_PATHS[3]
    manifest["dataset"] = {"name": HOSTILE_PATHS[4], "classes": HOSTILE_PATHS[5:8], "path": "/etc/shadow"}
    manifest["annotations"] = {
        "file": "../../secret.txt",
        "include": "/dev/zero",
        **{f"p{i}": p for i, p in enumerate(HOSTILE_PATHS)},
    }
    manifest["recorded"]["states"][0]["variable"] = "../../v"
    (trace / "manifest.json").write_text(json.dumps(manifest))
    output = tmp_path / "report.html"
    AUDIT.paths.clear()
    AUDIT.active = True
    try:
        found = outcomes(trace, report_to=output, surfaces=("validate", "info", "open", "report"))
    finally:
        AUDIT.active = False
    assert_no_crash(found, "path-like names")
    assert [o.kind for o in found] == ["ok"] * 4
    assert AUDIT.paths, "the audit hook saw no file access at all: it is not recording"
    from snntrace.reports._page import _bundle_cache

    # Allowed: the trace, the report's folder, installed code, and the report's own cache of the Vega bundle.
    assert (
        _outside_of(AUDIT.paths, trace, output.parent, Path(snntrace.__file__).parent.parent, _bundle_cache().parent)
        == []
    )


def test_a_writer_replacing_a_trace_whose_table_folder_links_outside_does_not_write_there(
    valid_trace, outside, tmp_path
):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    os.rename(trace / "spikes", tmp_path / "moved-spikes")
    (trace / "spikes").symlink_to(outside, target_is_directory=True)
    before = sorted(p.name for p in outside.iterdir())
    with snntrace.TraceWriter(
        trace, name="again", time_resolution=1e-4, populations=[Population("p", 10)], overwrite=True
    ) as writer:
        writer.write_spikes(np.arange(5), "p", np.arange(5))
    assert sorted(p.name for p in outside.iterdir()) == before, "the writer wrote through the symlink"
    assert not (trace / "spikes").is_symlink()
    assert snntrace.open_trace(trace).spikes.collect()["neuron"].to_list() == [0, 1, 2, 3, 4]


# -- the report's output ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["manifest.json", "spikes/part-000000.parquet", "report.html", "."])
def test_the_report_refuses_to_write_into_its_trace(where, valid_trace, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    before = {p: p.read_bytes() for p in trace.rglob("*") if p.is_file()}
    with pytest.raises(SnntraceError) as raised:
        snntrace.report(trace, trace / where, force=True, static=False)
    assert raised.value.code == "RP002"
    assert {p: p.read_bytes() for p in trace.rglob("*") if p.is_file()} == before


def test_the_report_refuses_an_output_symlinked_into_its_trace(valid_trace, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    link = tmp_path / "report.html"
    link.symlink_to(trace / "manifest.json")
    manifest = (trace / "manifest.json").read_bytes()
    with pytest.raises(SnntraceError) as raised:
        snntrace.report(trace, link, force=True, static=False)
    assert raised.value.code == "RP002"
    assert (trace / "manifest.json").read_bytes() == manifest


def test_the_report_replaces_its_output_by_rename_and_leaves_no_temporary(valid_trace, tmp_path):
    output = tmp_path / "out" / "report.html"
    output.parent.mkdir()
    output.write_text("previous report")
    witness = tmp_path / "witness.html"
    os.link(output, witness)  # a second name of the old file: an in-place rewrite would change it too
    snntrace.report(valid_trace, output, force=True, static=False)
    assert witness.read_text() == "previous report"
    assert output.read_text(encoding="utf-8").rstrip().endswith("</html>")
    assert sorted(p.name for p in output.parent.iterdir()) == ["report.html"]


def test_a_report_that_fails_midway_leaves_the_previous_output_and_no_temporary(valid_trace, tmp_path, monkeypatch):
    from snntrace import reports

    output = tmp_path / "report.html"
    output.write_text("previous report")

    def fail(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", fail)  # the temporary file cannot be written
    with pytest.raises(OSError):
        reports.build_report(valid_trace, output, force=True, static=False)
    monkeypatch.undo()
    assert output.read_text() == "previous report"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html"]


def test_an_existing_output_is_kept_without_force(valid_trace, tmp_path):
    output = tmp_path / "report.html"
    output.write_text("keep me")
    with pytest.raises(SnntraceError) as raised:
        snntrace.report(valid_trace, output, static=False)
    assert raised.value.code == "RP001"
    assert output.read_text() == "keep me"


def test_info_on_a_trace_whose_every_table_links_outside_counts_no_rows(valid_trace, outside, tmp_path):
    trace = fresh_copy(valid_trace, tmp_path / "t.trace")
    for table in TABLES:
        if (trace / table).exists():
            os.rename(trace / table, tmp_path / f"moved-{table}")
        (trace / table).symlink_to(outside, target_is_directory=True)
    assert info_outcome(trace).kind == "ok"
    from snntrace.commands.info import summarize

    assert all(counts["rows"] == 0 for counts in summarize(str(trace))["tables"].values())
