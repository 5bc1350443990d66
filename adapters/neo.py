"""Convert Neo ``Block``s (PyNN ``get_data()``/``write_data`` output, sPyNNaker ``get_data()``) into traces.

What maps where
---------------
* Populations: every spike train and analog signal belongs to the population named by its ``source_population``
  annotation, else to its block's ``label`` annotation, else to the block's name. A population's size is the block's
  ``size`` annotation (PyNN, sPyNNaker), else one more than the largest neuron index seen.
* Neurons: the *local* index ``source_index`` of a spike train (PyNN and sPyNNaker both set it), else
  ``channel_id``/``source_id`` minus the block's ``first_id``. For analog signals: PyNN's
  ``array_annotations["channel_index"]``, else sPyNNaker's ``channel_names`` (local indices), else
  ``channel_ids``/``source_ids`` minus ``first_id``, else the column number.
* Analog signals become ``states`` rows with values in SI units (mV -> V, nA -> A, uS -> S, ...); the sampling
  period (``sampling_period``, or ``1/sampling_rate`` as sPyNNaker writes it) becomes the declared interval.
* Segments: segment *i* of every block is the same stretch of simulation (PyNN starts a segment per ``reset()``;
  each segment restarts at t = 0). Segments are laid end to end on one time axis: segment *i* is shifted by the
  smallest offset that puts its start at or after the end of segment *i-1* (the largest ``t_stop`` of anything in
  it), so segments that already continue in time keep their times. The offsets are recorded in the manifest
  annotations (``neo.segments``).
* Time resolution: the blocks' ``dt`` annotation (milliseconds, PyNN and sPyNNaker), else the smallest sampling
  period, else 0.1 ms; spike times are rounded to the nearest tick.

Streaming: rows are written straight from the Neo arrays, one time window at a time (windows hold about
``window_rows`` rows), so no second full copy of the recording is built; the writer's parts are flushed at window
boundaries, which keeps every table in time order across populations.
"""

from __future__ import annotations

import itertools
import math
import os
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from snntrace.errors import SnntraceError
from snntrace.model import Population, Software
from snntrace.writer import TraceWriter

DEFAULT_RESOLUTION = 1e-4  # PyNN's default time step, 0.1 ms
WINDOW_ROWS = 1_000_000
_NEVER_FLUSH = {"spikes": 1 << 62, "states": 1 << 62}
_SI_UNITS = ("V", "A", "S", "s", "Hz", "F", "ohm", "mol/m**3", "m", "dimensionless")
_SPYNNAKER_SIMULATOR = re.compile(r"^sPyNNaker(?:_under_version\((?P<version>[^-)]+))?")


class NeoConversionError(SnntraceError, ValueError):
    """A Neo block or file cannot be turned into a trace."""

    code = "NE001"


# -- annotations ------------------------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Return ``value`` as plain JSON-able Python: numpy scalars unwrapped, sPyNNaker's 1-tuples opened."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        return _plain(value[0])
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


@dataclass(frozen=True)
class BlockInfo:
    """A block's annotations normalised across pyNN backends and sPyNNaker."""

    label: str | None
    size: int | None
    first_id: int | None
    dt_ms: float | None
    simulator: Software | None
    annotations: dict[str, Any]


def block_info(block) -> BlockInfo:
    """Return the normalised annotations of a Neo block (PyNN: plain values; sPyNNaker: 1-tuples; NIX: numpy)."""
    raw = {k: _plain(v) for k, v in dict(block.annotations).items() if k != "nix_name"}
    label = raw.get("label") or block.name or None
    size = raw.get("size")
    first_id = raw.get("first_id")
    dt = raw.get("dt")
    return BlockInfo(
        label=str(label) if label is not None else None,
        size=int(size) if isinstance(size, (int, float)) else None,
        first_id=int(first_id) if isinstance(first_id, (int, float)) else None,
        dt_ms=float(dt) if isinstance(dt, (int, float)) and dt > 0 else None,
        simulator=simulator_software(raw.get("simulator")),
        annotations=raw,
    )


def simulator_software(name: Any) -> Software | None:
    """Return the simulator named in a block annotation (``Brian2``, ``sPyNNaker_under_version(1!7.4.1-...)``)."""
    if not name:
        return None
    text = str(name)
    match = _SPYNNAKER_SIMULATOR.match(text)
    if match:
        return Software("sPyNNaker", (match.group("version") or "").strip())
    return Software(text, "")


def train_population(train, info: BlockInfo) -> str:
    """Return the population a spike train belongs to."""
    label = train.annotations.get("source_population")
    return str(_plain(label)) if label is not None else (info.label or "population")


def train_index(train, info: BlockInfo) -> int:
    """Return the local neuron index of a spike train (``source_index``, else its id minus ``first_id``)."""
    annotations = train.annotations
    if "source_index" in annotations:
        return int(_plain(annotations["source_index"]))
    for key in ("channel_id", "source_id"):
        if key in annotations and info.first_id is not None:
            return int(_plain(annotations[key])) - info.first_id
    raise NeoConversionError(
        f"spike train {train.name or ''!r} has no source_index, channel_id or source_id annotation; "
        "cannot tell which neuron it belongs to",
        code="NE003",
    )


def signal_indices(signal, info: BlockInfo) -> np.ndarray:
    """Return the local neuron index of every column of an analog signal."""
    n = signal.shape[1]
    array_annotations = getattr(signal, "array_annotations", {}) or {}
    annotations = signal.annotations
    if "channel_index" in array_annotations and len(array_annotations["channel_index"]) == n:
        return np.asarray(array_annotations["channel_index"], dtype=np.int64)
    if "channel_names" in annotations and len(np.atleast_1d(annotations["channel_names"])) == n:
        names = np.atleast_1d(np.asarray(annotations["channel_names"]))
        if names.dtype.kind in "iu":
            return names.astype(np.int64)
    for key in ("channel_ids", "source_ids"):
        if key in annotations and info.first_id is not None and len(np.atleast_1d(annotations[key])) == n:
            return np.asarray(annotations[key], dtype=np.int64).reshape(-1) - info.first_id
    return np.arange(n, dtype=np.int64)


def signal_population(signal, info: BlockInfo) -> str:
    """Return the population an analog signal belongs to."""
    label = signal.annotations.get("source_population")
    return str(_plain(label)) if label is not None else (info.label or "population")


@lru_cache(maxsize=64)
def si_factor(units: str) -> tuple[float, str]:
    """Return (factor, SI unit name) that turn values in ``units`` (a quantities unit string) into SI."""
    import quantities as pq

    quantity = pq.Quantity(1.0, units)
    for name in _SI_UNITS:
        try:
            factor = float(quantity.rescale(name).magnitude)
        except ValueError:
            continue
        return factor, ("1" if name == "dimensionless" else name)
    simplified = quantity.simplified
    return float(simplified.magnitude), simplified.dimensionality.string


@lru_cache(maxsize=64)
def seconds_per_unit(units: str) -> float:
    """Return seconds per unit of a time unit string (cached: quantities arithmetic is slow)."""
    import quantities as pq

    return float(pq.Quantity(1.0, units).rescale("s").magnitude)


def _unit_string(quantity) -> str:
    return quantity.dimensionality.string


def _seconds(quantity) -> float:
    """Return a scalar time quantity in seconds (through the cached unit factor: rescale() costs milliseconds)."""
    return float(np.asarray(quantity.magnitude).reshape(-1)[0]) * seconds_per_unit(quantity.dimensionality.string)


def _sampling_period(signal) -> float:
    """Return an analog signal's sampling period in seconds (sPyNNaker stores it as 1/Hz)."""
    return _seconds(signal.sampling_period)


# -- reading files ----------------------------------------------------------------------------------------------------
def read_blocks(path: str | os.PathLike) -> list:
    """Read every Neo block of a PyNN ``write_data`` file (``.pkl`` pickle or ``.nix``/``.h5`` NIX)."""
    import neo

    source = Path(path)
    if not source.is_file():
        raise NeoConversionError(f"{source} is not a file", code="NE002", location=str(source))
    suffix = source.suffix.lower()
    try:
        if suffix in (".pkl", ".pickle"):
            block = neo.io.PickleIO(str(source)).read_block()
            return [block]
        if suffix in (".nix", ".h5"):
            with neo.io.NixIO(str(source), mode="ro") as io:
                return list(io.read_all_blocks())
    except Exception as exc:  # any reader failure is an unreadable input, not a crash
        raise NeoConversionError(f"cannot read {source} as a Neo file: {exc}", code="NE002", location=str(source)) from exc
    raise NeoConversionError(
        f"unknown Neo file type {suffix!r}; convert .pkl (PickleIO) or .nix/.h5 (NixIO) files", code="NE002", location=str(source)
    )


# -- planning ------------------------------------------------------------------------------------------------------------
@dataclass
class _PopulationPlan:
    name: str
    size: int = 0
    declared_size: int | None = None
    states: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass
class _SegmentPlan:
    index: int
    name: str | None
    start: int  # ticks, in the segment's own time
    stop: int
    offset: int = 0
    rows: int = 0
    items: list = field(default_factory=list)  # (kind, info, neo object)


def _normalise_blocks(blocks: Any) -> list:
    import neo

    if isinstance(blocks, neo.Block):
        return [blocks]
    blocks = list(blocks)
    if not blocks or not all(isinstance(b, neo.Block) for b in blocks):
        raise NeoConversionError("expected a neo.Block or a sequence of neo.Blocks", code="NE001")
    return blocks


def _resolution(infos: Sequence[BlockInfo], blocks: Sequence) -> float:
    dts = [i.dt_ms * 1e-3 for i in infos if i.dt_ms]
    if dts:
        return min(dts)
    periods = [_sampling_period(s) for b in blocks for seg in b.segments for s in seg.analogsignals]
    return min(periods) if periods else DEFAULT_RESOLUTION


def _plan(blocks: Sequence, infos: Sequence[BlockInfo], resolution: float) -> tuple[dict[str, _PopulationPlan], list[_SegmentPlan]]:
    populations: dict[str, _PopulationPlan] = {}
    segments: list[_SegmentPlan] = []

    def population(name: str, info: BlockInfo) -> _PopulationPlan:
        plan = populations.setdefault(name, _PopulationPlan(name))
        if info.label == name and info.size is not None:
            plan.declared_size = info.size
        return plan

    def ticks(seconds: float) -> int:
        return round(seconds / resolution)

    seen: dict[str, int] = {}
    for number, (block, info) in enumerate(zip(blocks, infos)):
        if info.label is not None and info.size is not None:
            if info.label in seen:
                raise NeoConversionError(
                    f"population {info.label!r} is in blocks {seen[info.label]} and {number}; pass each population's "
                    "block once (the same population read from two files would be written twice)",
                    code="NE005",
                )
            seen[info.label] = number
        for position, segment in enumerate(block.segments):
            while len(segments) <= position:
                segments.append(_SegmentPlan(len(segments), segment.name, start=1 << 62, stop=0))
            plan = segments[position]
            if segment.irregularlysampledsignals:
                warnings.warn(
                    f"segment {position} of {info.label or 'a block'!r}: {len(segment.irregularlysampledsignals)} irregularly "
                    "sampled signal(s) (PyNN record_times) are not converted",
                    stacklevel=3,
                )
            for train in segment.spiketrains:
                name = train_population(train, info)
                pop = population(name, info)
                index = train_index(train, info)
                if index < 0:
                    raise NeoConversionError(f"spike train of {name!r} has a negative neuron index {index}", code="NE003")
                pop.size = max(pop.size, index + 1)
                plan.items.append(("spikes", info, train, pop, index))
                plan.rows += len(train)
                plan.start = min(plan.start, ticks(_seconds(train.t_start)))
                plan.stop = max(plan.stop, ticks(_seconds(train.t_stop)))
            for signal in segment.analogsignals:
                name = signal_population(signal, info)
                pop = population(name, info)
                indices = signal_indices(signal, info)
                if len(indices) and indices.min() < 0:
                    raise NeoConversionError(f"analog signal {signal.name!r} of {name!r} has negative neuron indices", code="NE003")
                pop.size = max(pop.size, int(indices.max()) + 1 if len(indices) else 0)
                factor, unit = si_factor(_unit_string(signal.units))
                variable = str(signal.name or "signal")
                interval = max(1, round(_sampling_period(signal) / resolution))
                entry = pop.states.setdefault(variable, {"unit": unit, "interval": interval, "neurons": set()})
                entry["neurons"].update(int(i) for i in indices)
                plan.items.append(("states", info, signal, pop, (indices, factor, variable)))
                plan.rows += signal.shape[0] * signal.shape[1]
                plan.start = min(plan.start, ticks(_seconds(signal.t_start)))
                plan.stop = max(plan.stop, ticks(_seconds(signal.t_stop)))
    end = 0
    for plan in segments:
        if plan.start > plan.stop:  # a segment with nothing in it
            plan.start = plan.stop = 0
        plan.offset = max(0, end - plan.start)
        end = plan.offset + plan.stop
    for pop in populations.values():
        if pop.declared_size is not None:
            if pop.size > pop.declared_size:
                raise NeoConversionError(
                    f"population {pop.name!r} declares size {pop.declared_size} but holds neuron {pop.size - 1}", code="NE003"
                )
            pop.size = pop.declared_size
    return populations, segments


# -- writing -----------------------------------------------------------------------------------------------------------
class NeoRowWriter:
    """Write spike trains and analog signals of Neo segments into a :class:`TraceWriter` window by window."""

    def __init__(self, writer: TraceWriter, *, window_rows: int = WINDOW_ROWS):
        self.writer = writer
        self.window_rows = max(1, int(window_rows))
        self._unflushed = 0
        self._sorted: dict[int, bool] = {}

    def spike_ticks(self, train, lo: int | None = None, hi: int | None = None) -> np.ndarray:
        """Return the ticks of one train's spikes, only those in [lo, hi) when a window is given."""
        times = np.asarray(train.magnitude, dtype=np.float64).reshape(-1)
        if not times.size:
            return np.zeros(0, dtype=np.int64)
        scale = seconds_per_unit(train.units.dimensionality.string) / self.writer.resolution
        if lo is not None:
            key = id(train)
            if key not in self._sorted:
                self._sorted[key] = bool(np.all(times[1:] >= times[:-1]))
            if self._sorted[key]:  # a view with a one-tick margin, then the exact filter below
                times = times[np.searchsorted(times, (lo - 1) / scale) : np.searchsorted(times, (hi + 1) / scale)]
        ticks = np.rint(times * scale).astype(np.int64)
        if lo is not None:
            ticks = ticks[(ticks >= lo) & (ticks < hi)]
        return ticks

    def spike_rows(
        self, trains: Iterable[tuple[Any, int]], population: str, offset: int, lo: int | None = None, hi: int | None = None
    ) -> int:
        """Write the spikes of (train, neuron index) pairs of one population in one batch, shifted by ``offset``."""
        ticks, neurons = [], []
        for train, index in trains:
            found = self.spike_ticks(train, lo, hi)
            if found.size:
                ticks.append(found)
                neurons.append(np.full(found.size, index, dtype=np.uint32))
        if not ticks:
            return 0
        self.writer.write_spikes(np.concatenate(ticks) + offset, population, np.concatenate(neurons))
        return sum(t.size for t in ticks)

    def state_rows(
        self,
        signal,
        population: str,
        indices: np.ndarray,
        factor: float,
        variable: str,
        offset: int,
        lo: int | None = None,
        hi: int | None = None,
        skip_until: int | None = None,
    ) -> int:
        """Write the samples of one analog signal with ticks in [lo, hi), values in SI; skip ticks <= ``skip_until``."""
        n_samples, n_channels = signal.shape
        if not n_samples or not n_channels:
            return 0
        t0 = _seconds(signal.t_start) / self.writer.resolution
        step = _sampling_period(signal) / self.writer.resolution
        first, last = 0, n_samples
        if lo is not None:
            first = max(0, math.ceil((lo - 0.5 - t0) / step))
            last = min(n_samples, math.ceil((hi - 0.5 - t0) / step))
        if skip_until is not None:
            first = max(first, math.floor((skip_until + 0.5 - t0) / step) + 1)
        if last <= first:
            return 0
        sample_ticks = np.rint(t0 + step * np.arange(first, last)).astype(np.int64)
        values = np.asarray(signal.magnitude[first:last], dtype=np.float64)
        if skip_until is not None and sample_ticks.size and sample_ticks[0] <= skip_until:
            # rounding guard: never write a tick twice (pyNN.brian2 repeats the last sample after a clear)
            keep = sample_ticks > skip_until
            sample_ticks, values = sample_ticks[keep], values[keep]
        if not sample_ticks.size:
            return 0
        values = values * factor
        n = values.shape[0]
        self.writer.write_states(
            np.repeat(sample_ticks + offset, n_channels),
            population,
            np.tile(indices.astype(np.uint32), n),
            variable,
            values.reshape(-1),
        )
        return n * n_channels

    def rows_written(self, rows: int) -> None:
        """Count rows written since the last flush; flush at a window boundary when enough are buffered."""
        self._unflushed += rows

    def window_done(self) -> None:
        """Flush the writer if more than ``window_rows`` rows wait (only ever called between windows)."""
        if self._unflushed >= self.window_rows:
            self.writer.flush()
            self._unflushed = 0


def _windows(plan: _SegmentPlan, window_rows: int) -> Iterator[tuple[int, int]]:
    """Yield [lo, hi) tick windows covering a segment, about ``window_rows`` rows each."""
    count = max(1, math.ceil(plan.rows / window_rows))
    bounds = np.unique(np.linspace(plan.start, plan.stop + 1, count + 1).round().astype(np.int64))
    for lo, hi in itertools.pairwise(bounds):
        yield int(lo), int(hi)


def convert_blocks(
    blocks: Any,
    output: str | os.PathLike,
    *,
    name: str | None = None,
    time_resolution: float | None = None,
    simulator: Software | None = None,
    overwrite: bool = False,
    window_rows: int = WINDOW_ROWS,
    annotations: dict[str, Any] | None = None,
) -> Path:
    """Write Neo blocks (one per population, as PyNN and sPyNNaker return them) as a trace at ``output``.

    Parameters
    ----------
    blocks : neo.Block or sequence of neo.Block
        The recordings; segment *i* of every block is the same stretch of simulation.
    output : path
        Trace directory to create (refused if not empty unless ``overwrite``).
    name : str, optional
        Run name (default: the labels of the populations).
    time_resolution : float, optional
        Seconds per tick (default: the blocks' ``dt``).
    window_rows : int
        Rows written between flushes (bounds the writer's buffers).

    Returns
    -------
    Path
        The trace directory.
    """
    blocks = _normalise_blocks(blocks)
    infos = [block_info(b) for b in blocks]
    resolution = float(time_resolution) if time_resolution else _resolution(infos, blocks)
    populations, segments = _plan(blocks, infos, resolution)
    if not populations:
        raise NeoConversionError("the blocks hold no spike trains or analog signals", code="NE004")
    software = simulator or next((i.simulator for i in infos if i.simulator is not None), None)
    manifest_annotations = {
        "neo": {
            "blocks": [i.annotations for i in infos],
            "segments": [
                {"index": s.index, "name": s.name, "start": s.start, "stop": s.stop, "offset": s.offset} for s in segments
            ],
        }
    }
    manifest_annotations.update(annotations or {})
    writer = TraceWriter(
        output,
        name=name or ", ".join(populations),
        time_resolution=resolution,
        populations=[Population(p.name, p.size) for p in populations.values()],
        simulator=software,
        producer=None,
        annotations=manifest_annotations,
        part_rows=_NEVER_FLUSH,
        overwrite=overwrite,
    )
    with writer:
        rows = NeoRowWriter(writer, window_rows=window_rows)
        spiking = {item[3].name for plan in segments for item in plan.items if item[0] == "spikes"}
        writer.record_spikes(sorted(spiking))
        for pop in populations.values():
            for variable, entry in pop.states.items():
                writer.record_states(
                    pop.name, variable, unit=entry["unit"], interval=entry["interval"], neurons=sorted(entry["neurons"])
                )
        for plan in segments:
            trains: dict[str, list[tuple[Any, int]]] = {}
            for kind, _info, obj, pop, extra in plan.items:
                if kind == "spikes":
                    trains.setdefault(pop.name, []).append((obj, extra))
            for lo, hi in _windows(plan, rows.window_rows):
                for population, members in trains.items():
                    rows.rows_written(rows.spike_rows(members, population, plan.offset, lo, hi))
                for kind, _info, obj, pop, extra in plan.items:
                    if kind == "states":
                        indices, factor, variable = extra
                        rows.rows_written(rows.state_rows(obj, pop.name, indices, factor, variable, plan.offset, lo, hi))
                rows.window_done()
            writer.advance(plan.offset + plan.stop)
    return Path(output)


def convert_file(paths: str | os.PathLike | Iterable[str | os.PathLike], output: str | os.PathLike, **options: Any) -> Path:
    """Convert one or more PyNN ``write_data`` files (one block per population) into one trace."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    blocks = []
    for path in paths:
        blocks.extend(read_blocks(path))
    options.setdefault("name", ", ".join(Path(p).stem for p in paths))
    return convert_blocks(blocks, output, **options)
