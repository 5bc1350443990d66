"""Read SONATA spike files and frame reports into traces; write traces back as spec-exact SONATA files.

SONATA (Allen Institute / Blue Brain) stores spikes per population as float times and integer node ids in HDF5:
``/spikes/<population>/{timestamps, node_ids}``. Files in the wild drift from the spec; the reader accepts the
drift it knows and lists every liberty it took (``interpretations``), which the converter also stores in the
manifest annotations under ``sonata``:

- the legacy layout ``/spikes/{gids, timestamps}`` (one unnamed population, named after the file unless given);
- ``sorting`` written as the spec's enum or as a string (``by_time``, ``time``, ``by_id``, ``id``, ``by_gid``, ...);
- time units ``ms``, ``msec``, ``millisecond(s)``, ``s``, ``sec``, ``second(s)``, ``us``; missing units mean ms;
- frame reports ``/report/<population>/{data, mapping/{node_ids, index_pointers | index_pointer, element_ids, time}}``,
  with index pointers of N or N + 1 entries; a node's first element when it has several.

Times become ticks by the rule of :func:`choose_resolution` (see ``_sonata_time``) unless a resolution is given.
Population sizes are the largest node id + 1 unless given. :func:`export_sonata` writes the other way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from snntrace.adapters._sonata_common import (
    MAGIC,
    SONATA_VERSION,
    SORTING_ENUM,
    SORTING_SYNONYMS,
    TIME_UNITS,
    VALUE_UNITS,
    SonataError,
    _h5py,
)
from snntrace.adapters._sonata_export import SonataExport, export_sonata
from snntrace.adapters._sonata_time import Resolution, choose_resolution, explicit_resolution, to_ticks

from snntrace.model import Population, Software

__all__ = [
    "MAGIC",
    "SONATA_VERSION",
    "SORTING_ENUM",
    "Resolution",
    "SonataConversion",
    "SonataError",
    "SonataExport",
    "choose_resolution",
    "convert_sonata",
    "export_sonata",
    "read_sonata",
]
_CHUNK_ROWS = 1 << 21


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
    if group[ids_name].dtype != np.uint64:
        notes.append(f"{where}: node ids stored as {group[ids_name].dtype} (the spec says uint64)")
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
    if variable is None and _text(data.attrs.get("variable")) is not None:
        variable = _text(data.attrs.get("variable"))  # bmtk's spelling
        notes.append(f"{where}: variable name read from the 'variable' attribute (bmtk's spelling of variable_name)")
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
    chosen = explicit_resolution(resolution, series) if resolution else choose_resolution(series)
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
    spike_ticks = [to_ticks(b.times, b.exponent, chosen, own[i]) for i, b in enumerate(content.spikes)]
    report_ticks = []
    for i, r in enumerate(content.reports, start=len(content.spikes)):
        start_tick, dt_tick = to_ticks(np.array([r.start, r.dt]), r.exponent, chosen, own[i])
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
