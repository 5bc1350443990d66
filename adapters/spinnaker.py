"""Read sPyNNaker's recording database (``data*.sqlite3``) straight into a trace, without sPyNNaker or a board.

sPyNNaker keeps every recording in one sqlite file per run segment (``reports/<stamp>/run_<n>/data<reset>.sqlite3``,
kept after ``end()`` with ``[Reports] keep_data_database = True``). The tables this module reads (schemas in
``spinn_front_end_common/utilities/db.sql`` and ``spynnaker/pyNN/utilities/db.sql``):

* ``population(pop_id, label, first_id, pop_size)`` -> trace populations;
* ``recording(rec_id, pop_id, variable, data_type, buffered_type, t_start, sampling_interval_ms, units)``;
* ``region_metadata(rec_id, region_id, recording_neurons_st, vertex_slice)``: which population neurons (the
  ``"0:3,7"`` range strings) a core's recording region holds;
* ``recording_data(recording_region_id, extraction_id, content, missing_data)``: the raw bytes, one row per region
  and buffer extraction, in extraction order;
* ``segment(simulation_time_step_ms, t_stop, simulator)``.

Blob layouts decoded here (little endian throughout):

* ``NEURON_SPIKES``: per recorded timestep ``<i4 timestep>`` then ``ceil(n/32)`` words of a bitfield, bit ``j`` of
  word ``w`` set when neuron ``32 w + j`` (of the region's recorded neurons) fired.
* ``MULTI_SPIKES`` (Poisson sources): per timestep ``<u4 timestep> <u4 n_blocks>`` then ``n_blocks`` bitfields.
* ``MATRIX``: per sample ``<i4 timestep>`` then one value per recorded neuron of the recording's ``data_type``
  (``S1615`` = signed 16.15 fixed point, value x 2^15).

Rows are read extraction by extraction; within one, every region's whole records are indexed by timestep and
decoded and written in timestep windows of about ``window_rows`` rows, the writer flushing after each window, so
memory holds one extraction's raw bytes plus one window of rows. A record split across two extractions is carried
over. Times come from the timestep words (one tick = one simulation time step); the sampling interval, labels,
sizes and units come from the tables. ``EIEIO_SPIKES`` (spike source arrays) and ``REWIRES`` are not decoded: they are listed under
``annotations.spinnaker.skipped`` with a warning.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import sqlite3
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from snntrace.errors import SnntraceError
from snntrace.model import Population, Software
from snntrace.writer import TraceWriter

# data_type -> (numpy dtype, scale): value = raw / scale (spinn_front_end_common.interface.ds.DataType)
DATA_TYPES: dict[str, tuple[str, float]] = {
    "S1615": ("<i4", 32768.0),
    "S031": ("<i4", 2147483648.0),
    "U032": ("<u4", 4294967296.0),
    "INT32": ("<i4", 1.0),
    "UINT32": ("<u4", 1.0),
    "INT16": ("<i2", 1.0),
    "UINT16": ("<u2", 1.0),
    "INT8": ("<i1", 1.0),
    "UINT8": ("<u1", 1.0),
}
SPIKE_TYPES = ("NEURON_SPIKES", "MULTI_SPIKES")
WINDOW_ROWS = 1_000_000  # rows the writer buffers at most between flushes
# sPyNNaker unit strings -> (factor to SI, SI unit)
UNITS: dict[str, tuple[float, str]] = {
    "mV": (1e-3, "V"),
    "V": (1.0, "V"),
    "nA": (1e-9, "A"),
    "pA": (1e-12, "A"),
    "A": (1.0, "A"),
    "uS": (1e-6, "S"),
    "nS": (1e-9, "S"),
    "S": (1.0, "S"),
    "ms": (1e-3, "s"),
    "s": (1.0, "s"),
    "Hz": (1.0, "Hz"),
    "": (1.0, "1"),
    "dimensionless": (1.0, "1"),
}
_REQUIRED = {
    "population": ("pop_id", "label", "first_id", "pop_size"),
    "recording": ("rec_id", "pop_id", "variable", "data_type", "buffered_type", "t_start", "sampling_interval_ms", "units"),
    "region_metadata": ("rec_id", "region_id", "recording_neurons_st", "vertex_slice"),
    "recording_data": ("recording_region_id", "extraction_id", "content", "missing_data"),
    "segment": ("simulation_time_step_ms", "t_stop", "simulator"),
}
_SIMULATOR = re.compile(r"^sPyNNaker(?:_under_version\((?P<version>[^-)]+))?")


class SpinnakerDatabaseError(SnntraceError, ValueError):
    """An sPyNNaker recording database is unreadable, incomplete or holds malformed data."""

    code = "SP001"


@dataclass(frozen=True)
class Recording:
    """One recorded variable of one population (a row of ``recording`` joined with ``population``)."""

    rec_id: int
    population: str
    size: int
    first_id: int
    variable: str
    data_type: str | None
    buffered_type: str
    t_start_ms: float
    sampling_interval_ms: float
    units: str


@dataclass(frozen=True)
class Region:
    """A core's recording region for one recording: which population neurons its records hold, in order."""

    region_id: int
    neurons: np.ndarray


def parse_neurons(text: str | bytes | None) -> np.ndarray:
    """Parse sPyNNaker's compact neuron list (``"0:3,7,9:10"``, inclusive ranges) into an array."""
    if not text:
        return np.zeros(0, dtype=np.int64)
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    out: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not re.fullmatch(r"\d+(:\d+)?", part):
            raise SpinnakerDatabaseError(f"cannot parse recording_neurons_st {text!r}", code="SP003", location="region_metadata")
        if ":" in part:
            lo, hi = (int(x) for x in part.split(":"))
            out.extend(range(lo, hi + 1))
        else:
            out.append(int(part))
    return np.asarray(out, dtype=np.int64)


def open_database(path: str | os.PathLike) -> sqlite3.Connection:
    """Open a recording database read-only and check it has the tables and columns this module reads."""
    source = Path(path)
    if not source.is_file():
        raise SpinnakerDatabaseError(f"{source} is not a file", code="SP001", location=str(source))
    try:
        connection = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
    except sqlite3.DatabaseError as exc:
        raise SpinnakerDatabaseError(f"{source} is not an sqlite database: {exc}", code="SP001", location=str(source)) from exc
    for table, columns in _REQUIRED.items():
        if table not in tables:
            connection.close()
            raise SpinnakerDatabaseError(
                f"table {table!r} is missing; is this an sPyNNaker data*.sqlite3 recording database?",
                code="SP002",
                location=f"{source}:{table}",
            )
        present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        missing = [c for c in columns if c not in present]
        if missing:
            connection.close()
            raise SpinnakerDatabaseError(
                f"table {table!r} lacks column(s) {', '.join(missing)}", code="SP002", location=f"{source}:{table}"
            )
    return connection


def read_recordings(connection: sqlite3.Connection) -> list[Recording]:
    """Return every recording of the database, by population then variable."""
    rows = connection.execute(
        """SELECT r.rec_id, p.label, p.pop_size, p.first_id, r.variable, r.data_type, r.buffered_type, r.t_start,
                  r.sampling_interval_ms, r.units
           FROM recording r JOIN population p ON p.pop_id = r.pop_id ORDER BY p.pop_id, r.variable"""
    )
    return [
        Recording(int(a), str(b), int(c), int(d), str(e), f, str(g), float(h or 0.0), float(i or 0.0), str(j or ""))
        for a, b, c, d, e, f, g, h, i, j in rows
    ]


def read_regions(connection: sqlite3.Connection, rec_id: int) -> list[Region]:
    """Return the recording regions of one recording, in sPyNNaker's order."""
    rows = connection.execute(
        "SELECT region_id, recording_neurons_st FROM region_metadata WHERE rec_id = ? "
        "ORDER BY region_id, recording_neurons_st, vertex_slice",
        (rec_id,),
    )
    return [Region(int(region), parse_neurons(neurons)) for region, neurons in rows]


# -- blob decoding -------------------------------------------------------------------------------------------------------
def _bits(words: np.ndarray, n_neurons: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (row, neuron position) of every set bit of little-endian 32-bit bitfield rows, ignoring padding bits."""
    bits = np.unpackbits(np.ascontiguousarray(words).view(np.uint8), axis=1, bitorder="little")
    rows, positions = np.nonzero(bits[:, :n_neurons])
    return rows, positions


def decode_neuron_spikes(blob: bytes, n_neurons: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode whole ``NEURON_SPIKES`` records: (timesteps, neuron positions, bytes consumed)."""
    n_words = math.ceil(n_neurons / 32)
    record = 4 * (n_words + 1)
    n_records = len(blob) // record
    data = np.frombuffer(blob, dtype="<u4", count=n_records * (n_words + 1)).reshape(n_records, n_words + 1)
    rows, positions = _bits(data[:, 1:], n_neurons)
    timesteps = data[:, 0].view("<i4").astype(np.int64)
    return timesteps[rows], positions, n_records * record


def decode_multi_spikes(blob: bytes, n_neurons: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode whole ``MULTI_SPIKES`` records (``<time> <n_blocks>`` then bitfields): (timesteps, positions, bytes)."""
    n_words = math.ceil(n_neurons / 32)
    times, positions, offset = [], [], 0
    view = memoryview(blob)
    while offset + 8 <= len(blob):
        time, n_blocks = np.frombuffer(view[offset : offset + 8], dtype="<u4")
        size = 8 + 4 * n_words * int(n_blocks)
        if offset + size > len(blob):
            break
        words = np.frombuffer(view[offset + 8 : offset + size], dtype="<u4").reshape(int(n_blocks), n_words)
        _, found = _bits(words, n_neurons)
        times.append(np.full(found.size, int(time), dtype=np.int64))
        positions.append(found)
        offset += size
    if not times:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), offset
    return np.concatenate(times), np.concatenate(positions), offset


def decode_matrix(blob: bytes, n_neurons: int, data_type: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode whole ``MATRIX`` rows: (timesteps, values of shape (rows, n_neurons) as float64, bytes consumed)."""
    dtype, scale = DATA_TYPES[data_type]
    size = np.dtype(dtype).itemsize
    row = 4 + n_neurons * size
    n_rows = len(blob) // row
    raw = np.frombuffer(blob, dtype=np.uint8, count=n_rows * row).reshape(n_rows, row)
    timesteps = np.ascontiguousarray(raw[:, :4]).view("<i4").reshape(-1).astype(np.int64)
    values = np.ascontiguousarray(raw[:, 4:]).view(dtype).reshape(n_rows, n_neurons)
    # Same arithmetic as sPyNNaker's DataType.decode_array, so values match its reader bit for bit.
    decoded = values / scale if scale != 1.0 else values.astype(np.float64)
    return timesteps, decoded, n_rows * row


# -- conversion ------------------------------------------------------------------------------------------------------------
def _simulator(text: Any) -> Software:
    match = _SIMULATOR.match(str(text or ""))
    if match:
        return Software("sPyNNaker", (match.group("version") or "").strip())
    return Software(str(text or "sPyNNaker"), "")


def _segment(connection: sqlite3.Connection, location: str) -> tuple[float, float | None, str]:
    row = connection.execute("SELECT simulation_time_step_ms, t_stop, simulator FROM segment LIMIT 1").fetchone()
    if row is None or not row[0] or row[0] <= 0:
        raise SpinnakerDatabaseError("the segment table holds no time step; did the simulation run?", code="SP002", location=f"{location}:segment")
    return float(row[0]), (float(row[1]) if row[1] is not None else None), str(row[2] or "")


def _extractions(connection: sqlite3.Connection) -> list[int]:
    return [int(r[0]) for r in connection.execute("SELECT DISTINCT extraction_id FROM recording_data ORDER BY extraction_id")]


def _lossy_regions(connection: sqlite3.Connection) -> list[dict[str, int]]:
    """Return the (region, extraction) pairs sPyNNaker flagged as having lost data on the board."""
    rows = connection.execute(
        "SELECT recording_region_id, extraction_id FROM recording_data WHERE missing_data != 0 ORDER BY 1, 2"
    )
    return [{"region": int(r), "extraction": int(e)} for r, e in rows]


def _blob(connection: sqlite3.Connection, region_id: int, extraction: int) -> bytes:
    row = connection.execute(
        "SELECT content FROM recording_data WHERE recording_region_id = ? AND extraction_id = ?",
        (region_id, extraction),
    ).fetchone()
    if row is None:
        return b""
    content = row[0]
    if content is None:
        content = b""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise SpinnakerDatabaseError(
            f"recording_data.content is {type(content).__name__}, not a blob",
            code="SP003",
            location=f"recording_data region {region_id} extraction {extraction}",
        )
    return bytes(content)


def convert_database(
    path: str | os.PathLike,
    output: str | os.PathLike,
    *,
    name: str | None = None,
    overwrite: bool = False,
    window_rows: int = WINDOW_ROWS,
) -> Path:
    """Convert an sPyNNaker recording database into a trace at ``output`` and return the trace path.

    Raises
    ------
    SpinnakerDatabaseError
        SP001 the file is not an sqlite database; SP002 a table or column is missing; SP003 a blob is malformed
        (a length that is not a whole number of records, a neuron list that does not parse, an unknown data type).
    """
    location = str(path)
    connection = open_database(path)
    try:
        step_ms, t_stop_ms, simulator = _segment(connection, location)
        populations = [
            Population(str(label), int(size))
            for label, size in connection.execute("SELECT label, pop_size FROM population ORDER BY pop_id")
        ]
        if not populations:
            raise SpinnakerDatabaseError("the population table is empty", code="SP002", location=f"{location}:population")
        recordings, skipped = [], []
        for recording in read_recordings(connection):
            if recording.buffered_type in SPIKE_TYPES or (recording.buffered_type == "MATRIX" and recording.data_type in DATA_TYPES):
                recordings.append(recording)
            elif recording.buffered_type == "MATRIX":
                raise SpinnakerDatabaseError(
                    f"{recording.population}.{recording.variable}: unknown data type {recording.data_type!r}; "
                    f"known: {', '.join(DATA_TYPES)}",
                    code="SP003",
                    location=f"{location}:recording {recording.rec_id}",
                )
            else:
                skipped.append(f"{recording.population}.{recording.variable} ({recording.buffered_type})")
        if skipped:
            warnings.warn(f"{location}: not decoded (unsupported buffer types): {', '.join(skipped)}", stacklevel=2)
        regions = {r.rec_id: read_regions(connection, r.rec_id) for r in recordings}
        annotations = {
            "spinnaker": {
                "database": Path(path).name,
                "simulation_time_step_ms": step_ms,
                "t_stop_ms": t_stop_ms,
                "recordings": [
                    {
                        "population": r.population,
                        "variable": r.variable,
                        "buffered_type": r.buffered_type,
                        "data_type": r.data_type,
                        "t_start_ms": r.t_start_ms,
                        "sampling_interval_ms": r.sampling_interval_ms,
                        "units": r.units,
                    }
                    for r in recordings
                ],
                "skipped": skipped,
                "missing_data": _lossy_regions(connection),
            }
        }
        writer = TraceWriter(
            output,
            name=name or Path(path).stem,
            time_resolution=step_ms * 1e-3,
            populations=populations,
            simulator=_simulator(simulator),
            annotations=annotations,
            duration=round(t_stop_ms / step_ms) if t_stop_ms else 0,
            part_rows={"spikes": 1 << 62, "states": 1 << 62},
            overwrite=overwrite,
        )
        with writer:
            _declare(writer, recordings, regions, step_ms)
            _write_rows(connection, writer, recordings, regions, location, window_rows)
        return Path(output)
    finally:
        connection.close()


def _declare(writer: TraceWriter, recordings: list[Recording], regions: dict[int, list[Region]], step_ms: float) -> None:
    for recording in recordings:
        if recording.buffered_type in SPIKE_TYPES:
            writer.record_spikes([recording.population])
            continue
        unit = UNITS.get(recording.units, (1.0, recording.units or "1"))[1]
        neurons = sorted({int(n) for region in regions[recording.rec_id] for n in region.neurons})
        interval = max(1, round(recording.sampling_interval_ms / step_ms))
        writer.record_states(recording.population, recording.variable, unit=unit, neurons=neurons, interval=interval)


@dataclass
class _Records:
    """The whole records one region holds in one extraction, with the timestep of each (for windowing)."""

    recording: Recording
    region: Region
    where: str
    timesteps: np.ndarray  # per record (fixed-size layouts) or per spike (MULTI_SPIKES, decoded up front)
    data: memoryview | None = None  # whole fixed-size records
    size: int = 0  # bytes per record
    positions: np.ndarray | None = None  # MULTI_SPIKES: neuron position of each spike

    @property
    def rows(self) -> int:
        per_record = len(self.region.neurons) if self.recording.buffered_type == "MATRIX" else 1
        return len(self.timesteps) * per_record


def _record_size(recording: Recording, n_neurons: int) -> int | None:
    """Return the bytes per record of a fixed-size layout, None for MULTI_SPIKES (variable length)."""
    if recording.buffered_type == "MATRIX":
        return 4 + n_neurons * np.dtype(DATA_TYPES[str(recording.data_type)][0]).itemsize
    if recording.buffered_type == "NEURON_SPIKES":
        return 4 * (math.ceil(n_neurons / 32) + 1)
    return None


def _split(recording: Recording, region: Region, data: bytes, where: str) -> tuple[_Records, int]:
    """Index the whole records of ``data``; return them and the bytes they use (the rest waits for the next extraction)."""
    n = len(region.neurons)
    size = _record_size(recording, n)
    if size is None:
        timesteps, positions, used = decode_multi_spikes(data, n)
        return _Records(recording, region, where, timesteps, positions=positions), used
    count = len(data) // size
    used = count * size
    stamps = np.frombuffer(data, dtype="<i4", count=used // 4).reshape(count, size // 4)[:, 0].astype(np.int64)
    return _Records(recording, region, where, stamps, data=memoryview(data)[:used], size=size), used


def _write_rows(
    connection: sqlite3.Connection,
    writer: TraceWriter,
    recordings: list[Recording],
    regions: dict[int, list[Region]],
    location: str,
    window_rows: int,
) -> None:
    """Write every region's records extraction by extraction, carrying a record split between two extractions."""
    carry: dict[int, bytes] = {}
    for extraction in _extractions(connection):
        pending: list[_Records] = []
        for recording in recordings:
            for region in regions[recording.rec_id]:
                data = carry.pop(region.region_id, b"") + _blob(connection, region.region_id, extraction)
                if not data or not len(region.neurons):
                    continue
                where = f"{location}:recording_data region {region.region_id} extraction {extraction}"
                records, used = _split(recording, region, data, where)
                if used < len(data):
                    carry[region.region_id] = data[used:]
                if len(records.timesteps):
                    _check_times(records.timesteps, recording, where)
                    pending.append(records)
        _write_windows(writer, pending, window_rows)
    for recording in recordings:
        for region in regions[recording.rec_id]:
            left = carry.get(region.region_id)
            if left:
                raise SpinnakerDatabaseError(
                    f"{recording.population}.{recording.variable}: {len(left)} trailing bytes do not form a whole "
                    f"{recording.buffered_type} record for {len(region.neurons)} neurons (truncated or malformed blob)",
                    code="SP003",
                    location=f"{location}:recording_data region {region.region_id}",
                )


def _write_windows(writer: TraceWriter, pending: list[_Records], window_rows: int) -> None:
    """Write one extraction's records in timestep windows of about ``window_rows`` rows, flushing after each.

    Regions interleave in time, so writing them one after another would break the tables' time order across
    parts; windows over all regions keep it while the writer buffers only one window.
    """
    if not pending:
        return
    total = sum(p.rows for p in pending)
    ordered = all(np.all(p.timesteps[1:] >= p.timesteps[:-1]) for p in pending)
    count = max(1, math.ceil(total / window_rows)) if ordered else 1
    first = min(int(p.timesteps.min()) for p in pending)
    last = max(int(p.timesteps.max()) for p in pending) + 1
    bounds = np.unique(np.linspace(first, last, count + 1).round().astype(np.int64))
    for lo, hi in itertools.pairwise(bounds):
        for records in pending:
            a, b = np.searchsorted(records.timesteps, [lo, hi]) if count > 1 else (0, len(records.timesteps))
            if b > a:
                _write_region(writer, records, int(a), int(b))
        writer.flush()  # later windows (and extractions) hold later timesteps


def _write_region(writer: TraceWriter, records: _Records, a: int, b: int) -> None:
    """Decode records ``a``..``b`` of one region (or its spikes a..b for MULTI_SPIKES) and write them."""
    recording, region = records.recording, records.region
    n = len(region.neurons)
    if records.positions is not None:
        writer.write_spikes(records.timesteps[a:b], recording.population, region.neurons[records.positions[a:b]])
        return
    chunk = records.data[a * records.size : b * records.size]
    if recording.buffered_type == "MATRIX":
        timesteps, values, _ = decode_matrix(chunk, n, str(recording.data_type))
        factor = UNITS.get(recording.units, (1.0, ""))[0]
        writer.write_states(
            np.repeat(timesteps, n),
            recording.population,
            np.tile(region.neurons, len(timesteps)),
            recording.variable,
            (values * factor).reshape(-1),
        )
        return
    timesteps, positions, _ = decode_neuron_spikes(chunk, n)
    if len(timesteps):
        writer.write_spikes(timesteps, recording.population, region.neurons[positions])


def _check_times(timesteps: np.ndarray, recording: Recording, where: str) -> None:
    if timesteps.min() < 0:
        raise SpinnakerDatabaseError(
            f"{recording.population}.{recording.variable}: negative timestep {int(timesteps.min())} in a "
            f"{recording.buffered_type} record (malformed blob)",
            code="SP003",
            location=where,
        )


def iter_databases(run_directory: str | os.PathLike) -> Iterator[Path]:
    """Yield the recording databases of an sPyNNaker run directory (``data.sqlite3``, ``data1.sqlite3``, ...) in order."""
    found = []
    for candidate in Path(run_directory).glob("data*.sqlite3"):
        match = re.fullmatch(r"data(\d*)\.sqlite3", candidate.name)
        if match:
            found.append((int(match.group(1) or 0), candidate))
    yield from (path for _, path in sorted(found))


def convert_blocks(blocks: Any, output: str | os.PathLike, **options: Any) -> Path:
    """Convert the Neo blocks sPyNNaker's ``Population.get_data()`` returns (see :mod:`snntrace.adapters.neo`)."""
    from snntrace.adapters.neo import convert_blocks as convert_neo_blocks

    return convert_neo_blocks(blocks, output, **options)
