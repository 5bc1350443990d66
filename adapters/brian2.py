"""Record a Brian2 simulation into an snntrace trace, live while it runs or after it finished.

Live: a :class:`TraceRecorder` is a Brian2 object you add to a ``Network`` (or leave in scope for the magic
``run()``). It owns its own monitors; every ``chunk`` of simulated time it copies their data into a
:class:`~snntrace.writer.TraceWriter` and empties them, so memory stays bounded however long the run is::

    recorder = TraceRecorder("run.trace", spikes=[exc, inh], states=[States(exc[:10], "v")],
                             weights=[Weights(S, every=100 * ms)])
    run(10 * second)            # the trace is complete when run() returns

Post-hoc: :func:`write_trace` turns the monitors and synapses of a finished run (runtime or standalone) into a
trace. Times become int64 ticks of the finest clock dt; values are stored in SI units with the unit recorded.
Every refusal is a :class:`Brian2AdapterError` with a code from BR001-BR009 (see docs/adapters/brian2.md).
"""

from __future__ import annotations

import atexit
import contextlib
import math
import os
import time
import warnings
import weakref
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brian2
import numpy as np
from brian2 import BrianObject, Network, SpikeMonitor, StateMonitor, Synapses, get_device, ms
from brian2.core.namespace import get_local_namespace
from brian2.devices.device import RuntimeDevice
from brian2.monitors.spikemonitor import EventMonitor

from snntrace.adapters._brian2_model import (
    Brian2AdapterError,
    check_live_recording_possible,
    clock_dt,
    clock_time,
    describe_population,
    describe_projection,
    fail,
    parent,
    require_spike_source,
    require_variable,
    seconds,
    synapse_model,
    target_name,
    unit_of,
    weight_snapshot,
    whole_ticks,
)
from snntrace.model import Dataset, Population, Projection
from snntrace.writer import TraceWriter

__all__ = ["Brian2AdapterError", "Sample", "States", "TraceRecorder", "Weights", "write_trace"]

_TABLES = ("spikes", "states", "weights", "samples", "metrics", "events")
# The recorder decides when parts are written (only between chunks, so every part is in time order across tables
# fed by several monitors); the writer must never cut a part on its own.
_NEVER = 1 << 62


class States:
    """State variables of some neurons to record: ``States(group[:10], "v", "ge", dt=1*ms)``.

    ``neurons`` are indices into ``group`` (``True``: all of it); a slice of a group records those neurons of the
    full group. ``dt`` is the sampling step (default: the group's dt).
    """

    def __init__(self, group: Any, *variables: str, neurons: Any = True, dt: Any = None):
        if not variables:
            raise Brian2AdapterError("States() needs at least one variable name, e.g. States(G, 'v')", code="BR004")
        if isinstance(group, Synapses):
            raise fail("BR003", "States: synaptic variables have no place in the states table; record weights with Weights()", group)
        require_spike_source(group, "States")
        for variable in variables:
            require_variable(group, variable, "States")
        self.group, self.variables, self.neurons, self.dt = group, tuple(variables), neurons, dt


class Weights:
    """Snapshots of one variable of a ``Synapses`` object: at the first step, every ``every`` and at the end."""

    def __init__(self, synapses: Synapses, variable: str = "w", *, every: Any = None, learning_rule: str | None = None):
        if not isinstance(synapses, Synapses):
            raise fail("BR003", f"Weights: {type(synapses).__name__} is not a Synapses object", synapses)
        require_variable(synapses, variable, "Weights")
        self.synapses, self.variable, self.learning_rule = synapses, variable, learning_rule
        self.every = None if every is None else seconds(every, "Weights every")
        self._steps: int | None = None
        self._last_tick: int | None = None


@dataclass(frozen=True)
class Sample:
    """One input sample presented from ``start`` to ``end`` (Brian times or seconds), with its label."""

    index: int
    start: Any
    end: Any
    label: int | None = None
    split: str = "train"
    prediction: int | None = None


def _as_objects(items: Any) -> list[Any]:
    if items is None:
        return []
    if isinstance(items, (BrianObject, States, Weights)) or not isinstance(items, Iterable):
        return [items]
    return list(items)


class _Catalogue:
    """Populations and projections in order of first mention, each described once."""

    def __init__(self, roles: dict[str, str] | None):
        self.roles = dict(roles or {})
        self.groups: dict[str, Any] = {}
        self.synapses: dict[str, tuple[Synapses, str | None, str | None]] = {}

    def add_group(self, group: Any) -> str:
        full, _ = parent(group)
        self.groups.setdefault(full.name, full)
        return full.name

    def add_synapses(self, synapses: Synapses, variable: str | None = None, learning_rule: str | None = None) -> str:
        self.add_group(synapses.source)
        self.add_group(synapses.target)
        known = self.synapses.get(synapses.name)
        if known is None or (known[1] is None and variable is not None):
            self.synapses[synapses.name] = (synapses, variable, learning_rule)
        return synapses.name

    def add(self, obj: Any) -> None:
        if isinstance(obj, Synapses):
            self.add_synapses(obj)
        else:
            require_spike_source(obj, "describe")
            self.add_group(obj)

    def populations(self, namespace: dict[str, Any] | None) -> list[Population]:
        return [describe_population(g, self.roles.get(name), namespace) for name, g in self.groups.items()]

    def projections(self) -> list[Projection]:
        return [describe_projection(s, variable, rule) for s, variable, rule in self.synapses.values()]

    def annotations(self, extra: dict[str, Any] | None) -> dict[str, Any]:
        device = get_device()
        brian = {
            "version": brian2.__version__,
            "device": type(device).__name__,
            "codegen_target": target_name(),
        }
        if self.synapses:
            brian["synapses"] = {name: synapse_model(s) for name, (s, _, _) in self.synapses.items()}
        return {"brian2": brian, **dict(extra or {})}


def _resolution(dts: Iterable[float], what: str) -> float:
    dts = [float(d) for d in dts]
    resolution = min(dts)
    for dt in dts:
        whole_ticks(dt, resolution, f"{what}: a clock dt")
    return resolution


class TraceRecorder(BrianObject):
    """Stream spikes, states and weight snapshots of a running Brian2 network into a trace directory.

    Add it to a ``Network`` (``net.add(recorder)``) or keep it in scope for the magic ``run()``. It owns a
    SpikeMonitor per spike group and a StateMonitor per :class:`States`; every ``chunk`` of simulated time it
    writes their data out and clears them. Parts reach the disk when ``part_rows`` rows have accumulated or
    ``flush_interval`` seconds of wall time have passed since the last part (and on :meth:`flush`/close).

    Several ``run()`` calls: by default the trace is closed, complete, when the first run ends, and a further
    run is refused (BR006). Use the recorder as a context manager (or ``close_after_run=False`` and
    :meth:`close`) to record several runs into one trace; Brian's time continues across runs, so does the trace.
    A run after ``Network.restore()`` rewinds time and is refused (BR006).

    Parameters
    ----------
    path : str or Path
        Trace directory to create (refused if it exists, unless ``overwrite=True``).
    spikes : groups
        Groups (or slices of groups) whose spikes to record; slices are stored in their full group.
    states : States objects
        State variables to sample.
    weights : Weights objects or Synapses
        Synapses whose weights (``w`` unless said otherwise) to snapshot.
    describe : groups or Synapses
        Further objects to declare in the trace without recording them.
    chunk : time
        Simulated time between drains of the monitors (bounds memory).
    roles : dict
        Population role by group name (``input``/``hidden``/``output``); Poisson and spike generator groups
        default to ``input``.
    """

    add_to_magic_network = True
    invalidates_magic_network = False

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        spikes: Any = (),
        states: Any = (),
        weights: Any = (),
        describe: Any = (),
        chunk: Any = 100 * ms,
        name: str | None = None,
        dataset: Dataset | None = None,
        roles: dict[str, str] | None = None,
        annotations: dict[str, Any] | None = None,
        part_rows: int = 1 << 20,
        flush_interval: float = 60.0,
        close_after_run: bool | None = None,
        overwrite: bool = False,
        recorder_name: str = "snntrace_recorder*",
    ):
        check_live_recording_possible()
        spikes, states = _as_objects(spikes), _as_objects(states)
        weights = [w if isinstance(w, Weights) else Weights(w) for w in _as_objects(weights)]
        for group in spikes:
            require_spike_source(group, "spikes", spiking=True)
        for spec in states:
            if not isinstance(spec, States):
                raise Brian2AdapterError(f"states takes States(...) objects, got {type(spec).__name__}", code="BR003")
        if not (spikes or states or weights):
            raise Brian2AdapterError("nothing to record: give spikes=, states= or weights=", code="BR003")
        clocks = [g.clock for g in spikes] + [s.group.clock for s in states] + [w.synapses.clock for w in weights]
        BrianObject.__init__(self, clock=min(clocks, key=lambda c: float(c.dt)), when="before_start", name=recorder_name)

        self.path = Path(path)
        self._trace_name = name or self.path.stem
        self._dataset, self._annotations, self._overwrite = dataset, annotations, overwrite
        self._chunk = seconds(chunk, "chunk")
        self._part_rows, self._flush_interval = int(part_rows), float(flush_interval)
        self._close_after_run = close_after_run
        self._catalogue = _Catalogue(roles)
        self._weights = weights
        self._spike_monitors: list[tuple[SpikeMonitor, str, int]] = []
        self._state_monitors: list[tuple[StateMonitor, str, np.ndarray, tuple[str, ...]]] = []
        for group in spikes:
            monitor = SpikeMonitor(group, name=f"{self.name}_spikes*")
            self._spike_monitors.append((monitor, self._catalogue.add_group(group), parent(group)[1]))
        for spec in states:
            record = True if spec.neurons is True else np.asarray(spec.neurons, dtype=np.int32)
            monitor = StateMonitor(spec.group, list(spec.variables), record=record, dt=spec.dt, name=f"{self.name}_states*")
            indices = np.asarray(monitor.record, dtype=np.int64) + parent(spec.group)[1]
            self._state_monitors.append((monitor, self._catalogue.add_group(spec.group), indices, spec.variables))
        for spec in weights:
            self._catalogue.add_synapses(spec.synapses, spec.variable, spec.learning_rule)
        for obj in _as_objects(describe):
            self._catalogue.add(obj)
        self.contained_objects.extend(m for m, *_ in self._spike_monitors + self._state_monitors)

        self._writer: TraceWriter | None = None
        self._closed = False
        self._pending_samples: list[tuple[int, float, float, Any, str, Any]] = []
        self._run_starts: list[float] = []
        self._rows_since_flush = 0
        self._last_flush = time.monotonic()
        self._last_tick = 0
        self._first_step = True  # the first step of the first run takes the initial weight snapshots
        self._timestep = self._t = None
        self._next_action = self._next_drain = 0
        self._chunk_steps = 1
        reference = weakref.ref(self)
        self._exit_hook = lambda: (lambda r: r and r._close_at_exit())(reference())
        atexit.register(self._exit_hook)

    # -- public API ----------------------------------------------------------------------------------------------------
    @property
    def writer(self) -> TraceWriter:
        """Return the underlying writer (exists from the first run on), e.g. to add metrics or events."""
        if self._writer is None:
            raise Brian2AdapterError("the trace is created when the first run starts; no writer yet", code="BR006", location=f"brian2:{self.name}")
        return self._writer

    @property
    def t(self) -> float | None:
        """Return the current simulated time in seconds, or None before the first run."""
        return None if self._writer is None else clock_time(self._clock)

    def ticks(self, time_: Any) -> int:
        """Return a Brian time (or seconds) as trace ticks."""
        return int(self.writer.to_ticks(seconds(time_, "time")))

    def mark_sample(
        self,
        index: int,
        label: int | None = None,
        *,
        start: Any = None,
        end: Any = None,
        duration: Any = None,
        split: str = "train",
        prediction: int | None = None,
    ) -> None:
        """Mark input sample ``index`` (with its class ``label``) as presented from ``start`` (default: now) to ``end``."""
        start_s = self.t if start is None else seconds(start, "start")
        if start_s is None:
            raise Brian2AdapterError("before the first run the time is unknown: pass start= or use presenting()", code="BR009")
        if end is not None:
            end_s = seconds(end, "end")
        elif duration is not None:
            end_s = start_s + seconds(duration, "duration")
        else:
            raise Brian2AdapterError("mark_sample needs end= or duration= (or use the presenting() context manager)", code="BR009")
        if end_s < start_s:
            raise Brian2AdapterError(f"sample {index}: end {end_s:g} s is before start {start_s:g} s", code="BR009")
        if self._closed:
            raise Brian2AdapterError("the trace is closed; samples can no longer be added", code="BR006")
        self._pending_samples.append((int(index), start_s, end_s, label, str(split), prediction))

    @contextlib.contextmanager
    def presenting(self, index: int, label: int | None = None, *, split: str = "train") -> Iterator[None]:
        """Mark the runs inside the ``with`` block as the presentation of sample ``index`` with ``label``."""
        start, runs_before = self.t, len(self._run_starts)
        yield
        if len(self._run_starts) == runs_before:
            raise Brian2AdapterError(f"no run happened while presenting sample {index}", code="BR009")
        if start is None:
            start = self._run_starts[runs_before]
        self.mark_sample(index, label, start=start, end=self.t, split=split)

    def flush(self) -> None:
        """Write everything recorded so far to disk now (drains the monitors between runs)."""
        if self._writer is not None and not self._closed:
            self._drain()
            self._flush()

    def close(self, *, complete: bool = True) -> None:
        """Drain the monitors, take the final weight snapshots and close the trace (``complete`` unless a run failed)."""
        if self._closed:
            return
        if self._writer is None:
            self._closed = True
            atexit.unregister(self._exit_hook)
            warnings.warn(f"{self.name}: closed before any run; no trace was written to {self.path}", stacklevel=2)
            return
        try:
            self._drain()
            tick = self._tick_now()
            for spec in self._weights:
                self._snapshot(spec, tick)
            self._write_samples()
            self._writer.advance(tick)
        finally:
            self._closed = True
            atexit.unregister(self._exit_hook)
            self._writer.close(complete=complete)

    def __enter__(self) -> TraceRecorder:
        if self._close_after_run is None:
            self._close_after_run = False
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
            return
        try:  # keep what the failed run produced, marked incomplete; never hide the original exception
            self.close(complete=False)
        except Exception:  # noqa: BLE001
            if self._writer is not None:
                self._writer.close(complete=False)

    # -- Brian2 hooks --------------------------------------------------------------------------------------------------
    def before_run(self, run_namespace):
        """Check the set-up, create the trace on the first run and schedule the drains (called by Brian2)."""
        super().before_run(run_namespace)
        check_live_recording_possible()
        if self._closed:
            raise Brian2AdapterError(
                f"the trace {self.path} was closed when the previous run ended; to record several runs into one trace, "
                "use the recorder as a context manager (with TraceRecorder(...) as recorder:) or pass close_after_run=False "
                "and call recorder.close() at the end",
                code="BR006",
                location=f"brian2:{self.name}",
            )
        for monitor, *_ in self._spike_monitors + self._state_monitors:
            if not monitor.active:
                raise fail("BR008", f"{monitor.source.name!r} is recorded but is not part of the network being run; add it to the Network", monitor.source)
        if self._writer is None:
            self._start(run_namespace)
        else:
            self._check_clocks()
            if self._tick_now() < self._last_tick:
                raise Brian2AdapterError(
                    f"time went back from {self._last_tick * self._writer.resolution:g} s to {clock_time(self._clock):g} s "
                    "(Network.restore()?); a trace holds one timeline: close this recorder and record the restored "
                    "run with a new one",
                    code="BR006",
                    location=f"brian2:{self.name}",
                )
        self._run_starts.append(clock_time(self._clock))
        self._timestep = self._clock.variables["timestep"].get_value()
        self._t = self._clock.variables["t"].get_value()
        dt = clock_dt(self._clock)
        self._chunk_steps = max(1, int(round(self._chunk / dt)))
        for spec in self._weights:
            spec._steps = None if spec.every is None else whole_ticks(spec.every, dt, "Weights every", spec.synapses)
        self._next_action = self._next_drain = int(self._timestep[0])

    def run(self):
        """Drain monitors and take weight snapshots when due (called by Brian2 every step; cheap otherwise)."""
        step = self._timestep[0]
        if step >= self._next_action:
            self._act(int(step))

    def after_run(self):
        """Drain what the run recorded; close the trace unless several runs are recorded (called by Brian2)."""
        super().after_run()
        if self._writer is None or self._closed:
            return
        self._drain()
        self._last_tick = self._tick_now()
        self._writer.advance(self._last_tick)
        if self._close_after_run is None or self._close_after_run:
            self.close()
        else:
            self._maybe_flush()

    # -- internals ---------------------------------------------------------------------------------------------------------
    def _recorded_dts(self) -> list[float]:
        dts = [clock_dt(self._clock)]
        dts += [clock_dt(m.clock) for m, *_ in self._spike_monitors + self._state_monitors]
        dts += [clock_dt(w.synapses.clock) for w in self._weights]
        return dts

    def _check_clocks(self) -> None:
        resolution = self._writer.resolution
        for dt in self._recorded_dts():
            whole_ticks(dt, resolution, "a clock dt (changed since the trace was created?)", self)

    def _tick_now(self) -> int:
        return int(self._writer.to_ticks(clock_time(self._clock)))

    def _start(self, run_namespace: dict[str, Any]) -> None:
        resolution = _resolution(self._recorded_dts(), self.name)
        writer = TraceWriter(
            self.path,
            name=self._trace_name,
            time_resolution=resolution,
            populations=self._catalogue.populations(run_namespace),
            projections=self._catalogue.projections(),
            dataset=self._dataset,
            simulator=("brian2", brian2.__version__),
            annotations=self._catalogue.annotations(self._annotations),
            part_rows=dict.fromkeys(_TABLES, _NEVER),
            overwrite=self._overwrite,
        )
        writer.record_spikes(population for _, population, _ in self._spike_monitors)
        for monitor, population, indices, variables in self._state_monitors:
            interval = whole_ticks(clock_dt(monitor.clock), resolution, "States dt", monitor)
            for variable in variables:
                unit = unit_of(monitor.source, variable)
                writer.record_states(population, variable, unit=unit, neurons=indices.tolist(), interval=interval)
        for spec in self._weights:
            writer.record_weights(spec.synapses.name, snapshot="full", unit=unit_of(spec.synapses, spec.variable))
        self._writer = writer
        self._last_flush = time.monotonic()

    def _act(self, step: int) -> None:
        if step >= self._next_drain:
            self._drain()
            self._maybe_flush()
            self._next_drain = step + self._chunk_steps
        tick = int(self._writer.to_ticks(float(self._t[0])))
        next_action = self._next_drain
        for spec in self._weights:
            if self._first_step or (spec._steps and step % spec._steps == 0):
                self._snapshot(spec, tick)
            if spec._steps:
                next_action = min(next_action, (step // spec._steps + 1) * spec._steps)
        self._first_step = False
        self._next_action = next_action

    def _snapshot(self, spec: Weights, tick: int) -> None:
        if spec._last_tick == tick:
            return
        pre, post, value = weight_snapshot(spec.synapses, spec.variable)
        self._writer.write_weights(tick, spec.synapses.name, pre, post, value)
        spec._last_tick = tick
        self._rows_since_flush += len(value)

    def _drain(self) -> None:
        writer = self._writer
        ticks, populations, neurons = [], [], []
        for monitor, population, offset in self._spike_monitors:
            count = int(monitor.variables["N"].get_value()[0])
            if count:
                ticks.append(writer.to_ticks(monitor.variables["t"].get_value()[:count]))
                neurons.append(monitor.variables["i"].get_value()[:count] + offset)
                populations.append(np.full(count, writer.population_id(population), dtype=np.uint16))
                # Brian has no public way to clear a monitor: shrink its arrays and reset its counter.
                monitor.resize(0)
                monitor.variables["N"].set_value(0)
        if ticks:
            # One call for every monitor: the writer sorts rows buffered together, so parts stay in time order.
            writer.write_spikes(np.concatenate(ticks), np.concatenate(populations), np.concatenate(neurons))
            self._rows_since_flush += sum(len(t) for t in ticks)
        for monitor, population, indices, variables in self._state_monitors:
            samples = len(monitor.variables["t"].get_value())
            if not samples:
                continue
            t = np.repeat(writer.to_ticks(monitor.variables["t"].get_value()), len(indices))
            neuron = np.tile(indices, samples)
            for variable in variables:
                # Copy: pyarrow may keep a view, and Brian reuses the monitor's buffer after resize(0).
                values = np.array(monitor.variables[variable].get_value(), dtype=np.float64, copy=True).ravel()
                writer.write_states(t, population, neuron, variable, values)
            self._rows_since_flush += len(t) * len(variables)
            monitor.resize(0)

    def _maybe_flush(self) -> None:
        if self._rows_since_flush >= self._part_rows or time.monotonic() - self._last_flush >= self._flush_interval:
            self._flush()

    def _flush(self) -> None:
        self._write_samples()
        self._writer.flush()
        self._rows_since_flush = 0
        self._last_flush = time.monotonic()

    def _write_samples(self) -> None:
        pending, self._pending_samples = sorted(self._pending_samples, key=lambda s: s[1]), []
        _write_samples(self._writer, pending)

    def _close_at_exit(self) -> None:
        if self._closed or self._writer is None:
            self._closed = True
            return
        warnings.warn(f"{self.name}: the interpreter exits with the trace {self.path} open; closing it as incomplete", stacklevel=1)
        with contextlib.suppress(Exception):
            self.close(complete=False)


def _write_samples(writer: TraceWriter, samples: Sequence[tuple[int, float, float, Any, str, Any]]) -> None:
    for split in sorted({s[4] for s in samples}):
        rows = [s for s in samples if s[4] == split]
        predictions = [s[5] for s in rows]
        writer.write_samples(
            [s[0] for s in rows],
            writer.to_ticks([s[1] for s in rows]),
            writer.to_ticks([s[2] for s in rows]),
            label=np.array([s[3] for s in rows], dtype=object),
            split=split,
            prediction=None if all(p is None for p in predictions) else np.array(predictions, dtype=object),
        )


# -- post-hoc ------------------------------------------------------------------------------------------------------------
@dataclass
class _Stream:
    """Rows of one table from one source, sorted by tick, sliceable by tick windows."""

    table: str
    ticks: np.ndarray  # one per sample time (states, weights) or per row (spikes)
    key: Any  # population/projection name, or an array of population ids
    index: np.ndarray  # neurons (spikes: per row; states: per recorded neuron) or (pre, post)
    values: np.ndarray | None = None  # (samples, recorded) for states and weights
    variable: str | None = None

    def rows(self, lo: int, hi: int) -> int:
        a, b = np.searchsorted(self.ticks, [lo, hi])
        width = 1 if self.values is None else self.values.shape[1]
        return int(b - a) * width

    def write(self, writer: TraceWriter, lo: int, hi: int) -> None:
        a, b = (int(x) for x in np.searchsorted(self.ticks, [lo, hi]))
        if a == b:
            return
        if self.table == "spikes":
            writer.write_spikes(self.ticks[a:b], self.key[a:b], self.index[a:b])
            return
        values = self.values[a:b]
        t = np.repeat(self.ticks[a:b], values.shape[1])
        if self.table == "states":
            writer.write_states(t, self.key, np.tile(self.index, b - a), self.variable, values.ravel())
        else:
            pre, post = self.index
            writer.write_weights(t, self.key, np.tile(pre, b - a), np.tile(post, b - a), values.ravel())


def _expand(objects: Iterable[Any]) -> list[Any]:
    expanded: list[Any] = []
    for obj in objects:
        if isinstance(obj, Network):
            expanded.extend(sorted(obj.objects, key=lambda o: o.name))
        elif isinstance(obj, (list, tuple, set)):
            expanded.extend(_expand(obj))
        else:
            expanded.append(obj)
    return expanded


def _require_data(monitor: Any) -> None:
    device = get_device()
    if not isinstance(device, RuntimeDevice) and not getattr(device, "has_been_run", True):
        raise fail("BR007", f"{monitor.name!r} holds no data yet: call device.build() before write_trace()", monitor)
    if monitor._network is None:  # noqa: SLF001 - Brian's own record of whether the object took part in a run
        raise fail("BR007", f"{monitor.name!r} has never been run, so it holds no data to convert", monitor)


def write_trace(
    path: str | os.PathLike,
    *objects: Any,
    name: str | None = None,
    samples: Iterable[Sample | tuple] = (),
    dataset: Dataset | None = None,
    roles: dict[str, str] | None = None,
    weight_variable: str = "w",
    learning_rules: dict[str, str] | None = None,
    annotations: dict[str, Any] | None = None,
    namespace: dict[str, Any] | None = None,
    part_rows: int = 1 << 20,
    overwrite: bool = False,
) -> Path:
    """Write a complete trace from the monitors and synapses of a finished Brian2 run; return its path.

    ``objects`` are SpikeMonitors (spikes), StateMonitors of groups (states) or of Synapses (partial weight
    snapshots of ``weight_variable``), Synapses (a full snapshot of ``weight_variable`` at the end of the run),
    groups to declare, or a whole ``Network`` (all of its objects). ``namespace`` resolves the model constants
    (default: the caller's variables, as ``run()`` does).
    """
    if namespace is None:
        namespace = get_local_namespace(level=1)
    objects = _expand(objects)
    catalogue = _Catalogue(roles)
    rules = dict(learning_rules or {})
    spikes, group_states, synapse_states, final_weights = [], [], [], []
    for obj in objects:
        if isinstance(obj, EventMonitor):
            if not isinstance(obj, SpikeMonitor) or obj.event != "spike":
                raise fail("BR003", f"{obj.name!r} monitors the event {obj.event!r}; only spikes have a table", obj)
            if not obj.record:
                raise fail("BR007", f"{obj.name!r} was created with record=False: it holds counts, not spike times", obj)
            _require_data(obj)
            catalogue.add_group(obj.source)
            spikes.append(obj)
        elif isinstance(obj, StateMonitor):
            _require_data(obj)
            if isinstance(obj.source, Synapses):
                others = [v for v in obj.record_variables if v != weight_variable]
                if others:
                    raise fail(
                        "BR004",
                        f"{obj.name!r} records synaptic variable(s) {', '.join(others)}; a trace stores synapses' "
                        f"{weight_variable!r} as weight snapshots only (pass weight_variable= to choose another)",
                        obj,
                    )
                catalogue.add_synapses(obj.source, weight_variable, rules.get(obj.source.name))
                synapse_states.append(obj)
            else:
                catalogue.add_group(obj.source)
                group_states.append(obj)
        elif isinstance(obj, Synapses):
            if weight_variable in obj.variables:
                catalogue.add_synapses(obj, weight_variable, rules.get(obj.name))
                final_weights.append(obj)
            else:
                catalogue.add_synapses(obj)
        elif isinstance(obj, TraceRecorder):
            raise fail("BR003", "a TraceRecorder writes its own trace; give write_trace() monitors and synapses", obj)
        else:
            try:
                catalogue.add(obj)
            except Brian2AdapterError:
                raise fail(
                    "BR003",
                    f"write_trace() cannot convert a {type(obj).__name__}; give SpikeMonitor, StateMonitor, Synapses, "
                    "groups or a Network",
                    obj,
                ) from None
    if not catalogue.groups:
        raise Brian2AdapterError("write_trace() was given nothing to convert", code="BR003")

    clocks = [m.source.clock for m in spikes] + [m.clock for m in group_states + synapse_states]
    clocks += [s.clock for s in final_weights] + [g.clock for g in catalogue.groups.values()]
    resolution = _resolution((clock_dt(c) for c in clocks), "write_trace")
    writer = TraceWriter(
        path,
        name=name or Path(path).stem,
        time_resolution=resolution,
        populations=catalogue.populations(namespace),
        projections=catalogue.projections(),
        dataset=dataset,
        simulator=("brian2", brian2.__version__),
        annotations=catalogue.annotations(annotations),
        part_rows=dict.fromkeys(_TABLES, _NEVER),
        overwrite=overwrite,
    )
    with writer:
        streams = _streams(writer, spikes, group_states, synapse_states, final_weights, weight_variable)
        _write_windows(writer, streams, part_rows)
        rows = [s if isinstance(s, Sample) else Sample(*s) for s in samples]
        _write_samples(
            writer,
            sorted(((s.index, seconds(s.start, "start"), seconds(s.end, "end"), s.label, s.split, s.prediction) for s in rows), key=lambda s: s[1]),
        )
        writer.advance(max(int(writer.to_ticks(clock_time(c))) for c in clocks))
    return writer.path


def _streams(writer, spikes, group_states, synapse_states, final_weights, weight_variable) -> list[_Stream]:
    streams: list[_Stream] = []
    for monitor in group_states:
        population, offset = parent(monitor.source)
        indices = np.asarray(monitor.record, dtype=np.int64) + offset
        ticks = writer.to_ticks(np.asarray(monitor.t_))
        for variable in monitor.record_variables:
            writer.record_states(
                population.name, variable, unit=unit_of(monitor.source, variable), neurons=indices.tolist(),
                interval=whole_ticks(clock_dt(monitor.clock), writer.resolution, "StateMonitor dt", monitor),
            )
            values = np.asarray(getattr(monitor, f"{variable}_"), dtype=np.float64).T  # Brian: (recorded, samples)
            streams.append(_Stream("states", ticks, population.name, indices, values, variable))
    for monitor in synapse_states:
        synapses = monitor.source
        pre, post, _ = weight_snapshot(synapses, weight_variable)
        record = np.asarray(monitor.record, dtype=np.int64)
        writer.record_weights(synapses.name, snapshot="full" if monitor.record_all else "partial", unit=unit_of(synapses, weight_variable))
        values = np.asarray(getattr(monitor, f"{weight_variable}_"), dtype=np.float64).T
        streams.append(_Stream("weights", writer.to_ticks(np.asarray(monitor.t_)), synapses.name, (pre[record], post[record]), values))
    for synapses in final_weights:
        pre, post, value = weight_snapshot(synapses, weight_variable)
        if writer.projection_id(synapses.name) not in writer.recorded.weights:
            writer.record_weights(synapses.name, snapshot="full", unit=unit_of(synapses, weight_variable))
        tick = writer.to_ticks([clock_time(synapses.clock)])
        streams.append(_Stream("weights", tick, synapses.name, (pre, post), value[np.newaxis, :]))
    if spikes:
        ticks, populations, neurons = [], [], []
        for monitor in spikes:
            population, offset = parent(monitor.source)
            writer.record_spikes([population.name])
            ticks.append(writer.to_ticks(np.asarray(monitor.t_)))
            neurons.append(np.asarray(monitor.i, dtype=np.int64) + offset)
            populations.append(np.full(len(ticks[-1]), writer.population_id(population.name), dtype=np.uint16))
        t = np.concatenate(ticks)
        order = np.argsort(t, kind="stable")
        streams.append(_Stream("spikes", t[order], np.concatenate(populations)[order], np.concatenate(neurons)[order]))
    return streams


def _write_windows(writer: TraceWriter, streams: list[_Stream], part_rows: int) -> None:
    # Write every table window by window in time, one part per table and window, so a part never starts before
    # the previous one ended even when several monitors feed the same table.
    if not streams:
        return
    first = min((int(s.ticks[0]) for s in streams if len(s.ticks)), default=0)
    last = max((int(s.ticks[-1]) for s in streams if len(s.ticks)), default=0) + 1
    total = sum(s.rows(first, last) for s in streams)
    windows = max(1, math.ceil(total / max(1, part_rows)))
    edges = np.unique(np.linspace(first, last, windows + 1).astype(np.int64))
    for lo, hi in zip(edges[:-1], edges[1:]):
        for stream in streams:
            stream.write(writer, int(lo), int(hi))
        writer.flush()
