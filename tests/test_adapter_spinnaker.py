"""The SpiNNaker adapter on a real sPyNNaker recording database (tests/data/spinnaker/build_fixture.py): the trace
holds exactly what sPyNNaker's own reader decodes, and broken databases give coded errors."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from adapter_checks import assert_report_renders, assert_spikes_equal, assert_valid
from click.testing import CliRunner
from snntrace.adapters.spinnaker import (
    SpinnakerDatabaseError,
    convert_blocks,
    convert_database,
    decode_matrix,
    decode_multi_spikes,
    decode_neuron_spikes,
    iter_databases,
    parse_neurons,
)

import snntrace
from snntrace.cli import cli

pytestmark = pytest.mark.simulator

FIXTURE = Path(__file__).parent / "data" / "spinnaker" / "fixture.sqlite3"
CONFIG = "[Machine]\nvirtual_board = True\nversion = 5\n"
LABELS = ("stim", "exc", "inh")
STEP = 1e-3  # s: the fixture's 1 ms time step


@pytest.fixture(scope="module")
def spinnaker(tmp_path_factory):
    """The fixture converted by snntrace, and the Neo blocks sPyNNaker's NeoBufferDatabase reads from it."""
    root = tmp_path_factory.mktemp("spinnaker")
    (root / "home").mkdir()
    (root / "home" / ".spynnaker.cfg").write_text(CONFIG)
    database = Path(shutil.copyfile(FIXTURE, root / "data.sqlite3"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(root / "home"))
        patch.chdir(root)
        from spynnaker.pyNN.utilities.neo_buffer_database import NeoBufferDatabase

        with NeoBufferDatabase(str(database)) as reader:
            blocks = {label: reader.get_full_block(label, "all", None, None) for label in LABELS}
    trace = convert_database(database, root / "db.trace")
    return {"root": root, "database": database, "blocks": blocks, "trace": trace}


def _copy(spinnaker, tmp_path) -> Path:
    return Path(shutil.copyfile(spinnaker["database"], tmp_path / "data.sqlite3"))


def test_the_fixture_exercises_split_cores_and_two_extractions():
    connection = sqlite3.connect(FIXTURE)
    regions = connection.execute(
        "SELECT p.label, COUNT(*) FROM region_metadata m JOIN recording r ON r.rec_id = m.rec_id "
        "JOIN population p ON p.pop_id = r.pop_id WHERE r.variable = 'spikes' GROUP BY p.label"
    ).fetchall()
    assert dict(regions)["exc"] == 2  # exc's 10 neurons sit on two cores of 6 and 4
    extractions = connection.execute("SELECT COUNT(DISTINCT extraction_id) FROM recording_data").fetchone()[0]
    assert extractions == 2
    connection.close()


def test_the_database_converts_to_a_valid_trace_with_labels_sizes_and_step(spinnaker):
    trace = assert_valid(spinnaker["trace"])
    assert trace.resolution == STEP
    assert trace.duration_ticks == 60
    assert {p["name"]: p["size"] for p in trace.populations} == {"stim": 5, "exc": 10, "inh": 3}
    assert trace.manifest["simulator"] == {"name": "sPyNNaker", "version": "1!7.4.1"}
    ids = {p["name"]: p["id"] for p in trace.populations}
    states = {(s["population"], s["variable"]): s for s in trace.recorded["states"]}
    assert states[(ids["exc"], "v")] == {"population": ids["exc"], "variable": "v", "unit": "V", "interval": 1, "neurons": list(range(10))}
    assert states[(ids["inh"], "v")]["interval"] == 2


def test_spikes_equal_what_spynnakers_reader_returns(spinnaker):
    trace = snntrace.open_trace(spinnaker["trace"])
    for label in LABELS:
        trains = spinnaker["blocks"][label].segments[0].spiketrains
        ticks = np.concatenate([np.rint(t.rescale("s").magnitude / STEP) for t in trains]).astype(np.int64)
        neurons = np.concatenate([np.full(len(t), int(t.annotations["source_index"])) for t in trains])
        assert len(ticks) > 0
        assert_spikes_equal(trace, label, ticks, neurons)


def test_s1615_voltages_equal_what_spynnakers_reader_returns(spinnaker):
    trace = snntrace.open_trace(spinnaker["trace"])
    for label in ("exc", "inh"):
        (signal,) = spinnaker["blocks"][label].segments[0].analogsignals
        pid = trace.population(label)["id"]
        got = trace.states.filter(pl.col("population") == pid).select("t", "neuron", "value").collect().sort("t", "neuron")
        ticks = np.rint(signal.times.rescale("s").magnitude / STEP).astype(np.int64)
        channels = np.asarray(signal.annotations["channel_names"])
        expected = pl.DataFrame(
            {
                "t": np.repeat(ticks, len(channels)),
                "neuron": np.tile(channels, len(ticks)).astype(np.uint32),
                "value": signal.rescale("V").magnitude.reshape(-1),
            }
        ).sort("t", "neuron")
        assert got.equals(expected), f"{label}.v differs from sPyNNaker's reading"


def test_spynnakers_neo_blocks_convert_to_the_same_rows(spinnaker, tmp_path):
    blocks = [spinnaker["blocks"][label] for label in LABELS]
    trace = assert_valid(convert_blocks(blocks, tmp_path / "neo.trace"))
    direct = snntrace.open_trace(spinnaker["trace"])
    assert trace.resolution == direct.resolution
    assert trace.manifest["simulator"] == direct.manifest["simulator"]
    assert {p["name"]: p["size"] for p in trace.populations} == {p["name"]: p["size"] for p in direct.populations}
    names = {p["id"]: p["name"] for p in trace.populations}
    direct_names = {p["id"]: p["name"] for p in direct.populations}
    for table, order in (("spikes", ["population", "t", "neuron"]), ("states", ["population", "variable", "t", "neuron"])):
        ours = trace.table(table).collect().with_columns(pl.col("population").replace_strict(names, return_dtype=pl.String))
        theirs = direct.table(table).collect().with_columns(pl.col("population").replace_strict(direct_names, return_dtype=pl.String))
        columns = [c for c in ours.columns if c != "count"]
        ours = ours.select(columns).with_columns(pl.col("variable").cast(pl.String)) if table == "states" else ours.select(columns)
        theirs = theirs.select(columns).with_columns(pl.col("variable").cast(pl.String)) if table == "states" else theirs.select(columns)
        assert ours.sort(order).equals(theirs.sort(order)), f"{table} differ between the Neo and database routes"


def test_small_windows_write_many_time_ordered_parts_with_the_same_rows(spinnaker, tmp_path):
    trace = assert_valid(convert_database(spinnaker["database"], tmp_path / "windows.trace", window_rows=40))
    direct = snntrace.open_trace(spinnaker["trace"])
    assert len(trace.parts("states")) > 4
    for table, order in (("spikes", ["t", "population", "neuron"]), ("states", ["t", "population", "neuron"])):
        assert trace.table(table).collect().sort(order).equals(direct.table(table).collect().sort(order))


def test_bitfield_and_matrix_decoders_round_trip_packed_records():
    rng = np.random.default_rng(3)
    n = 40  # two bitfield words, eight padding bits
    fired = rng.random((5, n)) < 0.3
    words = np.zeros((5, 2), dtype="<u4")
    for row, position in zip(*np.nonzero(fired)):
        words[row, position // 32] |= np.uint32(1 << (position % 32))
    blob = b"".join(np.int32(10 + r).tobytes() + words[r].tobytes() for r in range(5))
    timesteps, positions, used = decode_neuron_spikes(blob + b"\x01\x02", n)
    assert used == len(blob)  # the two trailing bytes wait for the next extraction
    rows, expected_positions = np.nonzero(fired)
    assert timesteps.tolist() == (rows + 10).tolist() and positions.tolist() == expected_positions.tolist()
    multi = np.array([7, 2], dtype="<u4").tobytes() + words[0].tobytes() + words[1].tobytes()
    timesteps, positions, used = decode_multi_spikes(multi, n)
    assert used == len(multi) and set(timesteps.tolist()) == {7}
    assert sorted(positions.tolist()) == sorted(np.nonzero(fired[0])[0].tolist() + np.nonzero(fired[1])[0].tolist())
    raw = rng.integers(-70 * 32768, -40 * 32768, size=(3, 4))
    matrix = b"".join(np.int32(2 * r).tobytes() + raw[r].astype("<i4").tobytes() for r in range(3))
    timesteps, values, used = decode_matrix(matrix, 4, "S1615")
    assert timesteps.tolist() == [0, 2, 4] and np.array_equal(values, raw / 32768.0) and used == len(matrix)


def test_neuron_lists_parse_like_spynnakers_string_to_array():
    assert parse_neurons("0:3,7,9:10").tolist() == [0, 1, 2, 3, 7, 9, 10]
    assert parse_neurons("").tolist() == []
    with pytest.raises(SpinnakerDatabaseError) as error:
        parse_neurons("0:3;x")
    assert error.value.code == "SP003"


def test_a_file_that_is_not_sqlite_is_a_coded_error(tmp_path):
    path = tmp_path / "data.sqlite3"
    path.write_bytes(b"definitely not sqlite" * 100)
    with pytest.raises(SpinnakerDatabaseError) as error:
        convert_database(path, tmp_path / "x.trace")
    assert error.value.code == "SP001"


@pytest.mark.parametrize(("statement", "missing"), [("DROP TABLE region_metadata", "region_metadata"), ("DROP VIEW recording_data_plus_view; DROP VIEW recording_view; ALTER TABLE recording DROP COLUMN units", "units")])
def test_a_missing_table_or_column_is_a_coded_error_naming_it(spinnaker, tmp_path, statement, missing):
    path = _copy(spinnaker, tmp_path)
    connection = sqlite3.connect(path)
    connection.executescript(statement)  # views over the column go first (one is broken in sPyNNaker's own schema)
    connection.commit()
    connection.close()
    with pytest.raises(SpinnakerDatabaseError) as error:
        convert_database(path, tmp_path / "x.trace")
    assert error.value.code == "SP002" and missing in error.value.message


def test_a_truncated_blob_is_a_coded_error_with_its_region(spinnaker, tmp_path):
    path = _copy(spinnaker, tmp_path)
    connection = sqlite3.connect(path)
    region, content = connection.execute(
        "SELECT d.recording_region_id, d.content FROM recording_data d JOIN region_metadata m ON m.region_id = d.recording_region_id "
        "JOIN recording r ON r.rec_id = m.rec_id WHERE r.buffered_type = 'MATRIX' AND d.extraction_id = 2 LIMIT 1"
    ).fetchone()
    connection.execute("UPDATE recording_data SET content = ? WHERE recording_region_id = ? AND extraction_id = 2", (content[:-3], region))
    connection.commit()
    connection.close()
    with pytest.raises(SpinnakerDatabaseError) as error:
        convert_database(path, tmp_path / "x.trace")
    assert error.value.code == "SP003" and f"region {region}" in error.value.location


def test_an_unknown_data_type_is_a_coded_error(spinnaker, tmp_path):
    path = _copy(spinnaker, tmp_path)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE recording SET data_type = 'FLOAT_128' WHERE variable = 'v'")
    connection.commit()
    connection.close()
    with pytest.raises(SpinnakerDatabaseError) as error:
        convert_database(path, tmp_path / "x.trace")
    assert error.value.code == "SP003" and "FLOAT_128" in error.value.message


def test_unsupported_buffer_types_are_skipped_with_a_warning_and_listed(spinnaker, tmp_path):
    path = _copy(spinnaker, tmp_path)
    connection = sqlite3.connect(path)
    connection.execute("UPDATE recording SET buffered_type = 'EIEIO_SPIKES' WHERE pop_id = (SELECT pop_id FROM population WHERE label = 'stim')")
    connection.commit()
    connection.close()
    with pytest.warns(UserWarning, match="stim.spikes"):
        trace = assert_valid(convert_database(path, tmp_path / "x.trace"))
    assert trace.manifest["annotations"]["spinnaker"]["skipped"] == ["stim.spikes (EIEIO_SPIKES)"]
    assert trace.population("stim")["id"] not in trace.recorded["spikes"]


def test_run_directories_list_their_databases_in_reset_order(tmp_path):
    for name in ("data2.sqlite3", "data.sqlite3", "data1.sqlite3", "global_provenance.sqlite3"):
        (tmp_path / name).touch()
    assert [p.name for p in iter_databases(tmp_path)] == ["data.sqlite3", "data1.sqlite3", "data2.sqlite3"]


def test_cli_converts_a_database_and_reports_malformed_ones_with_exit_code_2(spinnaker, tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["convert", "spinnaker", str(spinnaker["database"]), "-o", str(tmp_path / "cli.trace"), "--format", "json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    expected = sum(len(t) for t in spinnaker["blocks"]["exc"].segments[0].spiketrains)
    assert summary["populations"]["exc"] == {"size": 10, "spikes": expected, "state_samples": 600}
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(b"x" * 512)
    failed = runner.invoke(cli, ["convert", "spinnaker", str(broken), "-o", str(tmp_path / "b.trace")])
    assert failed.exit_code == 2 and "SP001" in failed.stderr and failed.stdout == ""


def test_the_report_renders_for_a_spinnaker_run(spinnaker, tmp_path):
    assert_report_renders(spinnaker["trace"], tmp_path / "report.html")
