"""Read SONATA spike files and frame reports into traces, and write traces' spikes as spec-exact SONATA spike files.

SONATA (Allen Institute / Blue Brain) stores spikes per population as float times and integer node ids in HDF5:
``/spikes/<population>/{timestamps, node_ids}``. Files in the wild drift from the spec; the reader accepts the
drift it knows and lists every liberty it took (``interpretations``), which the converter also stores in the
manifest annotations under ``sonata``:

- the legacy layout ``/spikes/{gids, timestamps}`` (one unnamed population, named after the file unless given);
- ``sorting`` written as the spec's enum or as a string (``by_time``, ``time``, ``by_id``, ``id``, ``by_gid``, ...);
- time units ``ms``, ``msec``, ``millisecond(s)``, ``s``, ``sec``, ``second(s)``, ``us``; missing units mean ms;
- frame reports ``/report/<population>/{data, mapping/{node_ids, index_pointers | index_pointer, element_ids, time}}``,
  with index pointers of N or N + 1 entries.

Time resolution rule (``choose_resolution``): a trace stores integer ticks, so the converter picks the coarsest
power-of-ten tick, between the files' own unit and 1 ns, at which every time (spike timestamps, report start and
step) is *exactly* the float64 (or float32) a writer gets for a whole number of ticks, computed either as
``k / 10**d`` or as ``k * 10**-d`` (the two ways simulators compute ``i * dt``). When no tick is exact, the coarsest
tick within 4 float ulps of every time is taken; when none is, 1 ns, and the largest rounding error is reported.
An explicit ``resolution`` overrides the rule and any rounding is reported. Population sizes are the largest node
id + 1 unless given.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snntrace.errors import SnntraceError
from snntrace.model import Population, Software

SORTING_ENUM = {"none": 0, "by_id": 1, "by_time": 2}
# Spellings seen in other tools (bmtk, Brion) for the spec's sorting values.
SORTING_SYNONYMS = {
    "none": "none",
    "na": "none",
    "unknown": "none",
    "by_id": "by_id",
    "id": "by_id",
    "by_gid": "by_id",
    "gid": "by_id",
    "node_id": "by_id",
    "by_node_id": "by_id",
    "by_time": "by_time",
    "time": "by_time",
}
# Time unit spelling -> power of ten below one second.
TIME_UNITS = {
    "s": 0,
    "sec": 0,
    "second": 0,
    "seconds": 0,
    "ms": 3,
    "msec": 3,
    "millisecond": 3,
    "milliseconds": 3,
    "us": 6,
    "usec": 6,
    "µs": 6,
    "microsecond": 6,
    "microseconds": 6,
}
# Report value unit -> (SI unit, factor).
VALUE_UNITS = {
    "mv": ("V", 1e-3),
    "v": ("V", 1.0),
    "uv": ("V", 1e-6),
    "na": ("A", 1e-9),
    "pa": ("A", 1e-12),
    "a": ("A", 1.0),
    "mm": ("mol/m^3", 1.0),
}
MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)
FINEST_EXPONENT = 9  # 1 ns: the finest tick the resolution rule considers
ULP_TOLERANCE = 4
_CHUNK_ROWS = 1 << 21


class SonataError(SnntraceError, ValueError):
    """A SONATA file cannot be read or written."""

    code = "SN001"


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is installed in the test environment
        raise SonataError(
            "reading and writing SONATA needs h5py: pip install 'snntrace[sonata]'", code="SN000"
        ) from exc
    return h5py


# -- what was read ---------------------------------------------------------------------------------------------------
@dataclass
class SpikeBlock:
    """Spikes of one population as stored: times in the file's unit (10**-exponent s) and node ids."""

    population: str
    times: np.ndarray
    node_ids: np.ndarray
    exponent: int
    source: str


@dataclass
class FrameReport:
    """One population's frame report: the value column of each node and the frame times."""

    population: str
    dataset: Any  # the open h5py dataset (n_times x n_values); read in slabs
    node_ids: np.ndarray
    columns: np.ndarray  # column of data holding each node's first element
    start: float
    dt: float
    exponent: int
    n_times: int
    variable: str
    unit: str | None
    factor: float
    source: str


@dataclass
class SonataContent:
    """Everything read from a set of SONATA files, and what had to be interpreted."""

    spikes: list[SpikeBlock] = field(default_factory=list)
    reports: list[FrameReport] = field(default_factory=list)
    interpretations: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SonataConversion:
    """The result of :func:`convert_sonata`."""

    path: Path
    spikes: dict[str, int]
    sizes: dict[str, int]
    states: dict[str, int]
    resolution: float
    exact: bool
    interpretations: list[str]


@dataclass(frozen=True)
class SonataExport:
    """The result of :func:`export_sonata`: spikes written per population and what SONATA could not hold."""

    path: Path
    spikes: dict[str, int]
    losses: list[str]


# -- small readers ---------------------------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1:
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (str, np.str_)):
        return str(value)
    return None


def _time_exponent(units: Any, where: str, notes: list[str]) -> int:
    text = _text(units)
    if text is None:
        notes.append(f"{where}: no time units attribute; assumed ms (the SONATA default)")
        return 3
    key = text.strip().lower()
    if key not in TIME_UNITS:
        raise SonataError(
            f"unknown time units {text!r}; known: {', '.join(sorted(TIME_UNITS))}", code="SN003", location=where
        )
    if key not in ("ms", "s"):
        notes.append(
            f"{where}: time units {text!r} read as {'ms' if TIME_UNITS[key] == 3 else 's' if TIME_UNITS[key] == 0 else 'us'}"
        )
    return TIME_UNITS[key]


def _read_sorting(h5py, group, where: str, notes: list[str]) -> str | None:
    if "sorting" not in group.attrs:
        return None
    raw = group.attrs["sorting"]
    mapping = h5py.check_enum_dtype(h5py.h5a.open(group.id, b"sorting").dtype)
    if mapping is not None:
        names = {v: k for k, v in mapping.items()}
        name = names.get(int(np.asarray(raw).reshape(-1)[0]))
        if name is None:
            notes.append(f"{where}: sorting enum value {raw!r} has no name; ignored")
            return None
    else:
        name = _text(raw)
        if name is None:
            notes.append(
                f"{where}: sorting attribute of type {np.asarray(raw).dtype} is neither enum nor string; ignored"
            )
            return None
        notes.append(f"{where}: sorting written as the string {name!r} instead of the spec's enum")
    canonical = SORTING_SYNONYMS.get(name.strip().lower())
    if canonical is None:
        notes.append(f"{where}: unknown sorting {name!r}; ignored")
        return None
    if canonical != name:
        notes.append(f"{where}: sorting {name!r} read as {canonical!r}")
    return canonical


def _check_sorting(sorting: str | None, times: np.ndarray, ids: np.ndarray, where: str, notes: list[str]) -> None:
    if sorting == "by_time" and np.any(np.diff(times) < 0):
        notes.append(f"{where}: sorting says by_time but the spikes are not in time order (order does not matter here)")
    if sorting == "by_id" and np.any(np.diff(ids.astype(np.int64)) < 0):
        notes.append(
            f"{where}: sorting says by_id but the spikes are not in node id order (order does not matter here)"
        )


def _node_ids(dataset, where: str) -> np.ndarray:
    ids = np.asarray(dataset[()])
    if ids.dtype.kind == "f":
        if not np.all(np.isfinite(ids)) or np.any(ids != np.rint(ids)):
            raise SonataError("node ids are not whole numbers", code="SN004", location=where)
    elif ids.dtype.kind not in "iu":
        raise SonataError(f"node ids have type {ids.dtype}, not integers", code="SN004", location=where)
    if ids.size and ids.min() < 0:
        raise SonataError(f"negative node id {int(ids.min())}", code="SN004", location=where)
    if ids.size and int(ids.max()) >= 2**32:
        raise SonataError(
            f"node id {int(ids.max())} does not fit a trace's uint32 neuron index", code="SN004", location=where
        )
    return ids.astype(np.uint32)


def _read_spike_group(h5py, group, population: str, source: str, notes: list[str], *, legacy: bool) -> SpikeBlock:
    where = f"{source}:{group.name}"
    if "timestamps" not in group:
        raise SonataError("no timestamps dataset", code="SN004", location=where)
    if "node_ids" in group:
        ids_name = "node_ids"
    elif "gids" in group:
        ids_name = "gids"
        if not legacy:
            notes.append(f"{where}: node ids read from the legacy 'gids' dataset")
    else:
        raise SonataError("no node_ids (or legacy gids) dataset", code="SN004", location=where)
    stamps = group["timestamps"]
    units = stamps.attrs.get("units", group.attrs.get("units", group.file["spikes"].attrs.get("units")))
    exponent = _time_exponent(units, where, notes)
    times = np.asarray(stamps[()])
    if times.dtype.kind not in "fiu":
        raise SonataError(f"timestamps have type {times.dtype}", code="SN004", location=where)
    if times.dtype.kind == "f" and not np.all(np.isfinite(times)):
        raise SonataError("timestamps hold NaN or infinity", code="SN004", location=where)
    ids = _node_ids(group[ids_name], where)
    if times.shape != ids.shape or times.ndim != 1:
        raise SonataError(
            f"timestamps {times.shape} and {ids_name} {ids.shape} differ in shape", code="SN004", location=where
        )
    _check_sorting(_read_sorting(h5py, group, where, notes), times, ids, where, notes)
    return SpikeBlock(population, times, ids, exponent, source)


def _read_frame_report(group, population: str, source: str, notes: list[str]) -> FrameReport:
    where = f"{source}:{group.name}"
    if "data" not in group or "mapping" not in group:
        raise SonataError("a frame report needs data and mapping", code="SN004", location=where)
    data, mapping = group["data"], group["mapping"]
    if data.ndim != 2:
        raise SonataError(f"data has {data.ndim} dimensions, expected 2 (times x values)", code="SN004", location=where)
    n_times, n_values = data.shape
    node_ids = _node_ids(mapping["node_ids"], f"{where}/mapping/node_ids")
    if "index_pointers" in mapping:
        pointers = np.asarray(mapping["index_pointers"][()], dtype=np.int64)
    elif "index_pointer" in mapping:
        pointers = np.asarray(mapping["index_pointer"][()], dtype=np.int64)
        notes.append(f"{where}: index pointers read from 'index_pointer' (the spec spells it 'index_pointers')")
    else:
        raise SonataError("mapping has no index_pointers", code="SN004", location=where)
    if len(pointers) == len(node_ids):
        pointers = np.append(pointers, n_values)
        notes.append(
            f"{where}: {len(node_ids)} index pointers for {len(node_ids)} nodes; the last node's values run to the end of data"
        )
    if (
        len(pointers) != len(node_ids) + 1
        or np.any(np.diff(pointers) < 0)
        or (len(pointers) and pointers[-1] > n_values)
    ):
        raise SonataError("index pointers do not partition the data columns", code="SN004", location=where)
    spans = np.diff(pointers)
    kept = spans > 0
    if not np.all(kept):
        notes.append(f"{where}: {int((~kept).sum())} node(s) with no recorded values skipped")
    if np.any(spans > 1):
        dropped = int((spans[kept] - 1).sum())
        notes.append(
            f"{where}: nodes with several elements (compartments): kept each node's first element, dropped {dropped} values per frame"
        )
    if "time" not in mapping:
        raise SonataError("mapping has no time dataset [start, stop, dt]", code="SN004", location=where)
    start, stop, dt = (float(x) for x in np.asarray(mapping["time"][()], dtype=np.float64)[:3])
    exponent = _time_exponent(mapping["time"].attrs.get("units"), f"{where}/mapping/time", notes)
    if dt <= 0:
        raise SonataError(f"time step {dt} is not positive", code="SN004", location=f"{where}/mapping/time")
    expected = round((stop - start) / dt)
    if expected != n_times:
        notes.append(
            f"{where}: time [start, stop, dt] gives {expected} frames but data holds {n_times}; used data's count"
        )
    unit_text = _text(data.attrs.get("units"))
    unit, factor = None, 1.0
    if unit_text is not None:
        si = VALUE_UNITS.get(unit_text.strip().lower())
        if si is not None:
            unit, factor = si
            if factor != 1.0:
                notes.append(f"{where}: values in {unit_text} converted to {unit}")
        else:
            unit = unit_text
            notes.append(f"{where}: value unit {unit_text!r} kept as is (not converted to SI)")
    else:
        notes.append(f"{where}: data has no units attribute; values kept as stored")
    variable = _text(data.attrs.get("variable_name"))
    if variable is None:
        variable = "v" if unit == "V" else Path(source).stem
        notes.append(f"{where}: no variable_name attribute; variable named {variable!r}")
    return FrameReport(
        population,
        data,
        node_ids[kept],
        pointers[:-1][kept],
        start,
        dt,
        exponent,
        n_times,
        variable,
        unit,
        factor,
        source,
    )


def read_sonata(h5file, source: str, *, legacy_population: str | None = None) -> SonataContent:
    """Read the spike populations and frame reports of one open SONATA HDF5 file."""
    h5py = _h5py()
    content = SonataContent()
    notes = content.interpretations
    if "spikes" in h5file:
        spikes = h5file["spikes"]
        if not isinstance(spikes, h5py.Group):
            raise SonataError("/spikes is not a group", code="SN004", location=source)
        if "timestamps" in spikes and isinstance(spikes["timestamps"], h5py.Dataset):
            name = legacy_population or Path(source).stem
            notes.append(f"{source}: legacy layout /spikes/{{gids, timestamps}}; population named {name!r}")
            content.spikes.append(_read_spike_group(h5py, spikes, name, source, notes, legacy=True))
        for name, group in spikes.items():
            if isinstance(group, h5py.Group):
                content.spikes.append(_read_spike_group(h5py, group, name, source, notes, legacy=False))
    if "report" in h5file:
        for name, group in h5file["report"].items():
            if isinstance(group, h5py.Group):
                content.reports.append(_read_frame_report(group, name, source, notes))
    return content


# -- time resolution -------------------------------------------------------------------------------------------------
def _fits(values: np.ndarray, scale: int, *, ulps: int = 0) -> bool:
    """Return whether every value is k / scale (or k * (1 / scale)) for whole k, to within ``ulps`` float ulps."""
    if values.size == 0:
        return True
    dtype = values.dtype if values.dtype.kind == "f" else np.dtype(np.float64)
    scaled = values.astype(np.float64) * scale
    if np.any(np.abs(scaled) >= 2**62):
        return False
    k = np.rint(scaled)
    by_division = (k / scale).astype(dtype)
    by_product = (k * (1.0 / scale)).astype(dtype)
    if ulps == 0:
        return bool(np.all((by_division == values) | (by_product == values)))
    tolerance = ulps * np.spacing(np.abs(values).astype(dtype))
    return bool(np.all(np.abs(by_division.astype(np.float64) - values) <= tolerance))


@dataclass(frozen=True)
class Resolution:
    """A chosen tick of 10**-exponent s, the coarsest tick of each time series, and what rounding it costs."""

    exponent: int | None
    seconds: float
    exact: bool
    series: tuple[int | None, ...] = ()
    note: str | None = None


def _series_exponent(values: np.ndarray, unit: int) -> tuple[int, bool]:
    """Return the coarsest power-of-ten tick (exponent) within a few ulps of every value, and whether it is exact."""
    for exponent in range(unit, FINEST_EXPONENT + 1):
        scale = 10 ** (exponent - unit)
        # Float noise of i * dt is not information: a tick within a few ulps counts, and exactness is reported.
        if _fits(values, scale, ulps=ULP_TOLERANCE):
            return exponent, _fits(values, scale)
    return FINEST_EXPONENT, False


def choose_resolution(series: Iterable[tuple[np.ndarray, int]]) -> Resolution:
    """Choose the tick for times given as (values, unit exponent) pairs, following the module's rule.

    Each series gets its own coarsest exact tick; the trace's tick is the finest of those, which holds every series
    exactly (a whole number of a coarser power-of-ten tick is a whole number of a finer one).
    """
    series = [(np.asarray(v), e) for v, e in series]
    found = [_series_exponent(v, e) for v, e in series]
    exponent = max((x for x, _ in found), default=3)
    exact = all(ok for _, ok in found)
    note = None
    if not exact:
        errors = []
        for (values, unit), (own, _) in zip(series, found):
            if values.size:
                scale = 10 ** (own - unit)
                errors.append(float(np.max(np.abs(np.rint(values * scale) / scale - values))) * 10.0**-unit)
        largest = max(errors, default=0.0)
        if any(
            own == FINEST_EXPONENT and not _fits(v, 10 ** (own - e), ulps=ULP_TOLERANCE)
            for (v, e), (own, _) in zip(series, found)
        ):
            note = f"some times are not whole ticks of any power of ten down to 1 ns; rounded to ticks of 1e-{exponent} s (largest rounding {largest:.3g} s)"
        else:
            note = f"times differ from whole ticks of 1e-{exponent} s by float noise only (at most {ULP_TOLERANCE} ulps, {largest:.3g} s); rounded to the ticks"
    return Resolution(exponent, 10.0**-exponent, exact, tuple(x for x, _ in found), note)


def _ticks(values: np.ndarray, unit: int, resolution: Resolution, own: int | None) -> np.ndarray:
    """Convert times in 10**-unit s to ticks, rounding at the series' own tick first so exact decimals stay exact."""
    if resolution.exponent is not None and own is not None and resolution.exponent >= own >= unit:
        coarse = np.rint(values.astype(np.float64) * 10 ** (own - unit)).astype(np.int64)
        return coarse * 10 ** (resolution.exponent - own)
    return np.rint(values.astype(np.float64) * 10.0**-unit / resolution.seconds).astype(np.int64)


def _explicit_resolution(seconds: float, series: list[tuple[np.ndarray, int]]) -> Resolution:
    """Use a given tick; report the largest rounding beyond what the times' own decimal ticks explain."""
    found = choose_resolution(series)
    exponent = next((c for c in range(13) if abs(seconds * 10**c - 1) < 1e-12), None)
    if exponent is not None and exponent >= found.exponent:
        return Resolution(exponent, float(seconds), found.exact, found.series, found.note)
    resolution = Resolution(exponent, float(seconds), True, tuple(None for _ in series))
    error = 0.0
    for values, unit in series:
        if values.size:
            error = max(
                error, float(np.max(np.abs(_ticks(values, unit, resolution, None) * seconds - values * 10.0**-unit)))
            )
    if error > 1e-3 * seconds:
        return Resolution(
            exponent,
            float(seconds),
            False,
            resolution.series,
            f"times rounded to the given tick {seconds:g} s (largest rounding {error:.3g} s)",
        )
    return resolution


# -- conversion ------------------------------------------------------------------------------------------------------
def _parse_sizes(sizes: Mapping[str, int] | None) -> dict[str, int]:
    return {str(k): int(v) for k, v in (sizes or {}).items()}


def convert_sonata(
    sources: Sequence[str | os.PathLike] | str | os.PathLike,
    output: str | os.PathLike,
    *,
    sizes: Mapping[str, int] | None = None,
    resolution: float | None = None,
    legacy_population: str | None = None,
    name: str | None = None,
    overwrite: bool = False,
) -> SonataConversion:
    """Convert SONATA spike files and frame reports into one trace; return counts and what was interpreted.

    Parameters
    ----------
    sources : path or paths
        HDF5 files holding ``/spikes`` and/or ``/report``.
    output : path
        Trace directory to write.
    sizes : mapping, optional
        Population name -> size; otherwise the largest node id + 1.
    resolution : float, optional
        Seconds per tick; otherwise chosen by :func:`choose_resolution`.
    legacy_population : str, optional
        Name of the population of a legacy ``/spikes/{gids, timestamps}`` file (default: the file's stem).
    """
    from snntrace.writer import TraceWriter

    h5py = _h5py()
    paths = [Path(sources)] if isinstance(sources, (str, os.PathLike)) else [Path(s) for s in sources]
    if not paths:
        raise SonataError("no SONATA file given", code="SN002")
    files, content = [], SonataContent()
    try:
        for path in paths:
            try:
                handle = h5py.File(path, "r")
            except (OSError, ValueError) as exc:
                raise SonataError(f"cannot open as HDF5: {exc}", code="SN002", location=str(path)) from exc
            files.append(handle)
            part = read_sonata(handle, path.name, legacy_population=legacy_population)
            content.spikes += part.spikes
            content.reports += part.reports
            content.interpretations += part.interpretations
        if not content.spikes and not content.reports:
            raise SonataError("no /spikes or /report group found", code="SN002", location=", ".join(map(str, paths)))
        return _write_trace(content, Path(output), paths, _parse_sizes(sizes), resolution, name, overwrite, TraceWriter)
    finally:
        for handle in files:
            handle.close()


def _write_trace(
    content: SonataContent, output: Path, paths, sizes, resolution, name, overwrite, TraceWriter
) -> SonataConversion:
    notes = content.interpretations
    series = [(b.times, b.exponent) for b in content.spikes]
    series += [(np.array([r.start, r.dt]), r.exponent) for r in content.reports]
    chosen = _explicit_resolution(resolution, series) if resolution else choose_resolution(series)
    if chosen.note:
        notes.append(chosen.note)
    # Populations in order of appearance; the same name in several files is one population.
    order: list[str] = []
    for item in [*content.spikes, *content.reports]:
        if item.population not in order:
            order.append(item.population)
    merged = {p for p in order if sum(b.population == p for b in content.spikes) > 1}
    for population in sorted(merged):
        notes.append(f"population {population!r} appears in several spike groups; their spikes are merged")
    largest: dict[str, int] = dict.fromkeys(order, -1)
    for block in content.spikes:
        if block.node_ids.size:
            largest[block.population] = max(largest[block.population], int(block.node_ids.max()))
    for report in content.reports:
        if report.node_ids.size:
            largest[report.population] = max(largest[report.population], int(report.node_ids.max()))
    final_sizes = {}
    for population in order:
        if population in sizes:
            if sizes[population] <= largest[population]:
                raise SonataError(
                    f"population {population!r}: size {sizes[population]} but node id {largest[population]} occurs",
                    code="SN005",
                )
            final_sizes[population] = sizes[population]
        else:
            final_sizes[population] = largest[population] + 1
    unknown = sorted(set(sizes) - set(order))
    if unknown:
        raise SonataError(
            f"sizes given for unknown populations {', '.join(unknown)}; populations: {', '.join(order)}", code="SN005"
        )
    inferred = [p for p in order if p not in sizes]
    if inferred:
        notes.append(
            "population sizes inferred as the largest node id + 1: "
            + ", ".join(f"{p}={final_sizes[p]}" for p in inferred)
        )
    # Ticks for everything, then one shift if any time is negative (traces start at tick 0).
    own = list(chosen.series)
    spike_ticks = [_ticks(b.times, b.exponent, chosen, own[i]) for i, b in enumerate(content.spikes)]
    report_ticks = []
    for i, r in enumerate(content.reports, start=len(content.spikes)):
        start_tick, dt_tick = _ticks(np.array([r.start, r.dt]), r.exponent, chosen, own[i])
        report_ticks.append((int(start_tick), int(dt_tick)))
    earliest = min([int(t.min()) for t in spike_ticks if t.size] + [int(s) for s, _ in report_ticks] + [0])
    offset = -earliest
    if offset:
        notes.append(f"times start before 0; every time shifted by +{offset * chosen.seconds:g} s")
    for (s, d), report in zip(report_ticks, content.reports):
        if d <= 0:
            raise SonataError(
                f"report time step {report.dt} is below the resolution {chosen.seconds:g} s",
                code="SN004",
                location=report.source,
            )
    ids = {p: i for i, p in enumerate(order)}
    annotations = {
        "sonata": {"sources": [p.name for p in paths], "resolution_exact": chosen.exact, "interpretations": list(notes)}
    }
    if offset:
        annotations["sonata"]["time_offset_ticks"] = offset
    with TraceWriter(
        output,
        name=name or paths[0].stem,
        time_resolution=chosen.seconds,
        populations=[Population(p, final_sizes[p]) for p in order],
        simulator=Software("sonata", "0.1"),
        producer=Software("snntrace.adapters.sonata", _version()),
        annotations=annotations,
        overwrite=overwrite,
    ) as writer:
        spiking = [b.population for b in content.spikes]
        if spiking:
            writer.record_spikes(spiking)
        counts = dict.fromkeys(dict.fromkeys(spiking), 0)
        if content.spikes:
            t = np.concatenate(spike_ticks) + offset
            pop = np.concatenate([np.full(b.times.size, ids[b.population], dtype=np.uint16) for b in content.spikes])
            neuron = np.concatenate([b.node_ids for b in content.spikes])
            order_by_time = np.argsort(t, kind="stable")
            t, pop, neuron = t[order_by_time], pop[order_by_time], neuron[order_by_time]
            for start in range(0, t.size, _CHUNK_ROWS):
                stop = start + _CHUNK_ROWS
                writer.write_spikes(t[start:stop], pop[start:stop], neuron[start:stop])
            for block in content.spikes:
                counts[block.population] += int(block.times.size)
        states = {}
        for (start_tick, dt_tick), report in zip(report_ticks, content.reports):
            states[report.population] = _write_report(writer, report, start_tick + offset, dt_tick)
            writer.advance(start_tick + offset + dt_tick * report.n_times)
    return SonataConversion(output, counts, final_sizes, states, chosen.seconds, chosen.exact, list(notes))


def _write_report(writer, report: FrameReport, start_tick: int, dt_tick: int) -> int:
    writer.record_states(
        report.population, report.variable, unit=report.unit, neurons=report.node_ids.tolist(), interval=int(dt_tick)
    )
    n_nodes = len(report.node_ids)
    if n_nodes == 0 or report.n_times == 0:
        return 0
    frames_per_chunk = max(1, _CHUNK_ROWS // n_nodes)
    written = 0
    # Read whole frames (contiguous rows) and pick columns in memory: h5py fancy indexing is slow.
    for first in range(0, report.n_times, frames_per_chunk):
        last = min(report.n_times, first + frames_per_chunk)
        values = np.asarray(report.dataset[first:last], dtype=np.float64)[:, report.columns] * report.factor
        frames = np.arange(first, last, dtype=np.int64)
        t = np.repeat(start_tick + frames * dt_tick, n_nodes)
        neuron = np.tile(report.node_ids, last - first)
        writer.write_states(t, report.population, neuron, report.variable, values.reshape(-1))
        written += values.size
    return written


def _version() -> str:
    from snntrace._version import __version__

    return __version__


# -- export ----------------------------------------------------------------------------------------------------------
def _ms_times(ticks: np.ndarray, resolution: float) -> np.ndarray:
    """Return tick times in ms, computed as k / n when a ms holds a whole number n of ticks (exact decimals)."""
    per_ms = 1e-3 / resolution
    if per_ms >= 1 and abs(per_ms - round(per_ms)) < 1e-9 * per_ms:
        return ticks.astype(np.float64) / round(per_ms)
    return ticks.astype(np.float64) * (resolution * 1e3)


def _h5_name(name: str, losses: list[str]) -> str:
    safe = re.sub(r"[/.]", "_", name) if (name in (".", "..") or "/" in name) else name
    if safe != name:
        losses.append(f"population name {name!r} written as {safe!r} (HDF5 names cannot hold '/')")
    return safe


def export_sonata(
    trace: str | os.PathLike,
    output: str | os.PathLike,
    *,
    sorting: str = "by_time",
    overwrite: bool = False,
) -> SonataExport:
    """Write the spikes of a trace as a SONATA spike file; return counts and what SONATA cannot hold."""
    import polars as pl

    from snntrace.reader import open_trace

    h5py = _h5py()
    if sorting not in SORTING_ENUM:
        raise SonataError(f"sorting must be one of {', '.join(SORTING_ENUM)}, got {sorting!r}", code="SN006")
    output = Path(output)
    if output.exists() and not overwrite:
        raise SonataError(f"{output} exists; pass --force to replace it", code="SN006", location=str(output))
    opened = open_trace(trace)
    losses = _losses(opened)
    recorded = set(opened.recorded.get("spikes", []))
    spikes = opened.spikes.select("t", "population", "neuron", "count").collect()
    present = set(spikes["population"].unique().to_list())
    if int(spikes["count"].max() or 1) > 1 if spikes.height else False:
        losses.append(
            "spike counts above 1 are written as repeated (time, node) pairs; a reimport has one row per spike"
        )
    counts: dict[str, int] = {}
    temporary = output.with_name(f".{output.name}.tmp")
    enum = h5py.enum_dtype(SORTING_ENUM, basetype=np.int8)
    try:
        with h5py.File(temporary, "w") as h5:
            h5.attrs.create("magic", np.uint32(MAGIC), dtype=np.uint32)
            h5.attrs.create("version", np.array(SONATA_VERSION, dtype=np.uint32), dtype=np.uint32)
            root = h5.create_group("spikes")
            for population in opened.populations:
                pid, pname = int(population["id"]), str(population["name"])
                if pid not in recorded and pid not in present:
                    continue
                rows = spikes.filter(pl.col("population") == pid)
                ticks = np.repeat(rows["t"].to_numpy(), rows["count"].to_numpy().astype(np.int64))
                nodes = np.repeat(rows["neuron"].to_numpy(), rows["count"].to_numpy().astype(np.int64)).astype(
                    np.uint64
                )
                keys = (nodes, ticks) if sorting == "by_time" else (ticks, nodes)
                order = np.lexsort(keys) if sorting != "none" else np.arange(ticks.size)
                group = root.create_group(_h5_name(pname, losses))
                group.attrs.create("sorting", SORTING_ENUM[sorting], dtype=enum)
                stamps = group.create_dataset(
                    "timestamps", data=_ms_times(ticks[order], opened.resolution), dtype=np.float64
                )
                stamps.attrs["units"] = "ms"
                group.create_dataset("node_ids", data=nodes[order], dtype=np.uint64)
                counts[pname] = int(ticks.size)
                largest = int(nodes.max()) + 1 if nodes.size else 0
                if largest < int(population["size"]):
                    losses.append(
                        f"population {pname!r}: size {population['size']} (a reimport infers {largest} from node ids; pass --size {pname}={population['size']})"
                    )
        os.replace(temporary, output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SonataError(f"cannot write {output}: {exc}", code="SN006", location=str(output)) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    reimported = (
        choose_resolution([(_ms_times(spikes["t"].to_numpy(), opened.resolution), 3)]) if spikes.height else None
    )
    if reimported is not None and (
        not reimported.exact or abs(reimported.seconds - opened.resolution) > 1e-15 * opened.resolution
    ):
        losses.append(
            f"time resolution {opened.resolution:g} s (SONATA stores float ms; a reimport infers {reimported.seconds:g} s)"
        )
    last_spike = int(spikes["t"].max()) if spikes.height else 0
    if opened.duration_ticks > last_spike:
        losses.append(
            f"run duration {opened.duration:g} s (a reimport ends at the last spike, {last_spike * opened.resolution:g} s)"
        )
    return SonataExport(output, counts, losses)


def _losses(trace) -> list[str]:
    """List what a trace holds beyond spikes, which a SONATA spike file cannot hold."""
    import polars as pl

    losses = []
    for table in ("states", "weights", "samples", "metrics", "events"):
        if trace.has_rows(table):
            rows = trace.table(table).select(pl.len()).collect().item()
            losses.append(f"{table} table ({rows} rows)")
    if trace.projections:
        losses.append(f"{len(trace.projections)} projection declaration(s)")
    if trace.manifest.get("dataset"):
        losses.append("dataset description and class names")
    described = [p["name"] for p in trace.populations if any(k in p for k in ("role", "shape", "model"))]
    if described:
        losses.append("population roles, shapes and models of " + ", ".join(described))
    unrecorded = [p["name"] for p in trace.populations if p["id"] not in set(trace.recorded.get("spikes", []))]
    if unrecorded:
        losses.append("populations whose spikes were not recorded: " + ", ".join(unrecorded))
    losses.append("run name, simulator, producer, creation time and annotations")
    return losses
