"""Record a Brian2 simulation into an snntrace trace, live while it runs or after it finished.

Live: a :class:`TraceRecorder` is a Brian2 object you add to a ``Network`` (or leave in scope for the magic
``run()``). It owns its own monitors; every ``chunk`` of simulated time it copies their data out, empties them and
hands the rows to a :class:`~snntrace.writer.TraceWriter` on a background thread, so memory stays bounded however
long the run is and the simulation does not wait for the disk::

    recorder = TraceRecorder("run.trace", spikes=[exc, inh], states=[States(exc[:10], "v")],
                             weights=[Weights(S, every=100 * ms)])
    run(10 * second)            # the trace is complete when run() returns

Post-hoc: :func:`write_trace` turns the monitors and synapses of a finished run (runtime or standalone) into a
trace. Times become int64 ticks of the finest clock dt; values are stored in SI units with the unit recorded.
Every refusal is a :class:`Brian2AdapterError` with a code BR001-BR009 (see docs/adapters/brian2.md).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import time
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import brian2
import numpy as np
from brian2 import BrianObject, SpikeMonitor, StateMonitor, Synapses, ms
from snntrace.adapters._brian2_model import (
    Brian2AdapterError,
    Catalogue,
    Sample,
    check_live_recording_possible,
    clock_dt,
    clock_time,
    fail,
    parent,
    require_spike_source,
    require_variable,
    resolution_of,
    seconds,
    unit_of,
    weight_snapshot,
    whole_ticks,
    write_samples,
)
from snntrace.adapters._brian2_posthoc import write_trace
from snntrace.adapters._brian2_worker import Worker

from snntrace.model import Dataset
from snntrace.writer import TraceWriter

__all__ = ["Brian2AdapterError", "Sample", "States", "TraceRecorder", "Weights", "write_trace"]

_TABLES = ("spikes", "states", "weights", "samples", "metrics", "events")
# The recorder decides when parts are written (only between chunks, so every part is in time order even when
# several monitors feed one table); the writer must never cut a part on its own.
_NEVER = 1 << 62


class States:
    """State variables of some neurons to record: ``States(group[:10], "v", "ge", dt=1*ms)``.

    ``neurons`` are indices into ``group`` (``True``: all of it); a slice of a group records those neurons of the
    full group. ``dt`` is the sampling step (default: the group's dt).
    """

    def __init__(self, group: Any, *variables: str, neurons: Any = True, dt: Any = None):
        if isinstance(group, Synapses):
            raise fail(
                "BR003",
                "States: synaptic variables have no place in the states table; record weights with Weights()",
                group,
            )
        require_spike_source(group, "States")
        if not variables:
            raise Brian2AdapterError("States() needs at least one variable name, e.g. States(G, 'v')", code="BR004")
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
        self.steps: int | None = None
        self.last_tick: int | None = None


def _as_list(items: Any) -> list[Any]:
    if items is None:
        return []
    if isinstance(items, (BrianObject, States, Weights)) or not isinstance(items, Iterable):
        return [items]
    return list(items)


def _exit_hook(reference: weakref.ref) -> Callable[[], None]:
    # Holds the recorder weakly: an atexit entry must not keep a finished recorder (and its network) alive.
    def close_at_exit() -> None:
        recorder = reference()
        if recorder is not None:
            recorder._close_at_exit()

    return close_at_exit


class TraceRecorder(BrianObject):
    """Stream spikes, states and weight snapshots of a running Brian2 network into a trace directory.

    Add it to a ``Network`` (``net.add(recorder)``) or keep it in scope for the magic ``run()``. It owns a
    SpikeMonitor per spike group and a StateMonitor per :class:`States`; every ``chunk`` of simulated time it
    takes their data and clears them. Parts reach the disk when ``part_rows`` rows have accumulated, when
    ``flush_interval`` seconds of wall time have passed since the last part, on :meth:`flush` and on close.

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
    background : bool
        Write on a background thread (default) or in the simulation's thread.
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
        background: bool = True,
        overwrite: bool = False,
        recorder_name: str = "snntrace_recorder*",
    ):
        check_live_recording_possible()
        spikes, states = _as_list(spikes), _as_list(states)
        weights = [w if isinstance(w, Weights) else Weights(w) for w in _as_list(weights)]
        for group in spikes:
            require_spike_source(group, "spikes", spiking=True)
        for spec in states:
            if not isinstance(spec, States):
                raise Brian2AdapterError(f"states takes States(...) objects, got {type(spec).__name__}", code="BR003")
        if not (spikes or states or weights):
            raise Brian2AdapterError("nothing to record: give spikes=, states= or weights=", code="BR003")
        clocks = [g.clock for g in spikes] + [s.group.clock for s in states] + [w.synapses.clock for w in weights]
        # Run on the finest clock among the recorded objects: adding no clock keeps Brian on its fast path.
        BrianObject.__init__(self, clock=min(clocks, key=clock_dt), when="before_start", name=recorder_name)

        self.path = Path(path)
        self._trace_name = name or self.path.stem
        self._dataset, self._annotations, self._overwrite = dataset, annotations, overwrite
        self._chunk = seconds(chunk, "chunk")
        self._part_rows, self._flush_interval = int(part_rows), float(flush_interval)
        self._close_after_run, self._background = close_after_run, background
        self._catalogue = Catalogue(roles)
        self._weights = weights
        self._spike_monitors: list[tuple[SpikeMonitor, str, int]] = []
        self._state_monitors: list[tuple[StateMonitor, str, np.ndarray, tuple[str, ...]]] = []
        for group in spikes:
            monitor = SpikeMonitor(group, name=f"{self.name}_spikes*")
            self._spike_monitors.append((monitor, self._catalogue.add_group(group), parent(group)[1]))
        for spec in states:
            record = True if spec.neurons is True else np.asarray(spec.neurons, dtype=np.int32)
            monitor = StateMonitor(
                spec.group, list(spec.variables), record=record, dt=spec.dt, name=f"{self.name}_states*"
            )
            indices = np.asarray(monitor.record, dtype=np.int64) + parent(spec.group)[1]
            self._state_monitors.append((monitor, self._catalogue.add_group(spec.group), indices, spec.variables))
        for spec in weights:
            self._catalogue.add_synapses(spec.synapses, spec.variable, spec.learning_rule)
        for obj in _as_list(describe):
            self._catalogue.add(obj)
        self.contained_objects.extend(m for m, *_ in self._spike_monitors + self._state_monitors)

        self._writer: TraceWriter | None = None
        self._worker: Worker | None = None
        self._closed = self._failed = False
        self._pending_samples: list[tuple[int, float, float, Any, str, Any]] = []
        self._run_starts: list[float] = []
        self._rows_since_flush = 0
        self._last_flush = time.monotonic()
        self._last_tick = 0
        self._first_step = True  # the first step of the first run takes the initial weight snapshots
        self._timestep = self._t = None
        self._next_action = self._next_drain = 0
        self._chunk_steps = 1
        self._exit_hook = _exit_hook(weakref.ref(self))
        atexit.register(self._exit_hook)

    # -- public API ----------------------------------------------------------------------------------------------------
    @property
    def writer(self) -> TraceWriter:
        """Return the underlying writer once every queued row is written (use it between runs only)."""
        self._started()
        if self._worker is not None:
            self._worker.wait()
        return self._writer

    @property
    def t(self) -> float | None:
        """Return the current simulated time in seconds, or None before the first run."""
        return None if self._writer is None else clock_time(self._clock)

    def ticks(self, time_: Any) -> int:
        """Return a Brian time (or seconds) as trace ticks."""
        return int(self._started().to_ticks(seconds(time_, "time")))

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
            raise Brian2AdapterError(
                "before the first run the time is unknown: pass start= or use presenting()", code="BR009"
            )
        if end is not None:
            end_s = seconds(end, "end")
        elif duration is not None:
            end_s = start_s + seconds(duration, "duration")
        else:
            raise Brian2AdapterError(
                "mark_sample needs end= or duration= (or use the presenting() context manager)", code="BR009"
            )
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

    def write_metric(self, name: str, value: Any, *, t: Any = None, step: Any = None, **about: Any) -> None:
        """Add a metric value (e.g. ``accuracy``) at Brian time ``t`` (default: now), with an optional ``step``."""
        tick = self.ticks(self.t if t is None else t)
        self._submit(self._started().write_metric, name, value, t=tick, step=step, **about)

    def write_event(self, kind: str, payload: dict[str, Any] | None = None, *, t: Any = None, **about: Any) -> None:
        """Add an event (e.g. ``epoch_end``) at Brian time ``t`` (default: now)."""
        self._submit(self._started().write_event, kind, self.ticks(self.t if t is None else t), payload, **about)

    def flush(self) -> None:
        """Write everything recorded so far to disk now (between runs, or from a network operation)."""
        if self._writer is not None and not self._closed:
            self._drain()
            self._flush()
            if self._worker is not None:
                self._worker.wait()

    def close(self, *, complete: bool = True) -> None:
        """Drain the monitors, take the final weight snapshots and close the trace (``complete`` unless a run failed)."""
        if self._closed:
            return
        self._closed = True
        atexit.unregister(self._exit_hook)
        if self._writer is None:
            warnings.warn(f"{self.name}: closed before any run; no trace was written to {self.path}", stacklevel=2)
            return
        try:
            self._drain()
            tick = self._tick_now()
            for spec in self._weights:
                self._snapshot(spec, tick)
            self._submit(self._write_samples_now, self._take_samples())
            self._submit(self._writer.advance, tick)
            if self._worker is not None:
                self._worker.wait()
        finally:
            if self._worker is not None:
                self._worker.stop()
            failed = self._failed or (self._worker is not None and self._worker.failed)
            self._writer.close(complete=complete and not failed)

    def __enter__(self) -> TraceRecorder:  # noqa: PYI034 - Self needs Python 3.11
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
                raise fail(
                    "BR008",
                    f"{monitor.source.name!r} is recorded but is not part of the network being run; add it to the Network",
                    monitor.source,
                )
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
        self._chunk_steps = max(1, round(self._chunk / dt))
        for spec in self._weights:
            spec.steps = None if spec.every is None else whole_ticks(spec.every, dt, "Weights every", spec.synapses)
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
        self._submit(self._writer.advance, self._last_tick)
        if self._close_after_run is None or self._close_after_run:
            self.close()
        else:
            self._maybe_flush()

    # -- internals ---------------------------------------------------------------------------------------------------------
    def _started(self) -> TraceWriter:
        if self._writer is None:
            raise Brian2AdapterError(
                "the trace is created when the first run starts: nothing can be written to it before",
                code="BR006",
                location=f"brian2:{self.name}",
            )
        if self._closed:
            raise Brian2AdapterError(f"the trace {self.path} is closed", code="BR006", location=f"brian2:{self.name}")
        return self._writer

    def _submit(self, function: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        if self._worker is not None:
            self._worker.submit(function, *args, **kwargs)
        elif not self._failed:  # as on the worker thread: after a failed write, later rows would be out of order
            try:
                function(*args, **kwargs)
            except BaseException:
                self._failed = True
                raise

    def _recorded_dts(self) -> list[float]:
        dts = [clock_dt(self._clock)]
        dts += [clock_dt(m.clock) for m, *_ in self._spike_monitors + self._state_monitors]
        dts += [clock_dt(w.synapses.clock) for w in self._weights]
        return dts

    def _check_clocks(self) -> None:
        for dt in self._recorded_dts():
            whole_ticks(dt, self._writer.resolution, "a clock dt (changed since the trace was created?)", self)

    def _tick_now(self) -> int:
        return int(self._writer.to_ticks(clock_time(self._clock)))

    def _start(self, run_namespace: dict[str, Any]) -> None:
        resolution = resolution_of(self._recorded_dts(), self.name)
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
        if self._background:
            self._worker = Worker(f"{self.name}-writer")
        self._last_flush = time.monotonic()

    def _act(self, step: int) -> None:
        if step >= self._next_drain:
            self._drain()
            self._maybe_flush()
            self._next_drain = step + self._chunk_steps
        tick = int(self._writer.to_ticks(float(self._t[0])))
        next_action = self._next_drain
        for spec in self._weights:
            if self._first_step or (spec.steps and step % spec.steps == 0):
                self._snapshot(spec, tick)
            if spec.steps:
                next_action = min(next_action, (step // spec.steps + 1) * spec.steps)
        self._first_step = False
        self._next_action = next_action

    def _snapshot(self, spec: Weights, tick: int) -> None:
        if spec.last_tick == tick:
            return
        pre, post, value = weight_snapshot(spec.synapses, spec.variable)  # copies: the run goes on changing them
        self._submit(self._writer.write_weights, tick, spec.synapses.name, pre, post, value)
        spec.last_tick = tick
        self._rows_since_flush += len(value)

    def _drain(self) -> None:
        # Copy each monitor's rows out, then empty it. The copies go to the writer (maybe on another thread);
        # Brian reuses the monitor's buffers after resize(0), and pyarrow may keep views of what it is given.
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
            self._submit(
                writer.write_spikes, np.concatenate(ticks), np.concatenate(populations), np.concatenate(neurons)
            )
            self._rows_since_flush += sum(len(t) for t in ticks)
        for monitor, population, indices, variables in self._state_monitors:
            samples = len(monitor.variables["t"].get_value())
            if not samples:
                continue
            t = np.repeat(writer.to_ticks(monitor.variables["t"].get_value()), len(indices))
            neuron = np.tile(indices, samples)
            for variable in variables:
                values = np.array(monitor.variables[variable].get_value(), dtype=np.float64, copy=True).ravel()
                self._submit(writer.write_states, t, population, neuron, variable, values)
            self._rows_since_flush += len(t) * len(variables)
            monitor.resize(0)

    def _maybe_flush(self) -> None:
        if self._rows_since_flush >= self._part_rows or time.monotonic() - self._last_flush >= self._flush_interval:
            self._flush()

    def _flush(self) -> None:
        self._submit(self._write_samples_now, self._take_samples())
        self._submit(self._writer.flush)
        self._rows_since_flush = 0
        self._last_flush = time.monotonic()

    def _take_samples(self) -> list[tuple[int, float, float, Any, str, Any]]:
        pending, self._pending_samples = sorted(self._pending_samples, key=lambda s: s[1]), []
        return pending

    def _write_samples_now(self, samples: list[tuple[int, float, float, Any, str, Any]]) -> None:
        write_samples(self._writer, samples)

    def _close_at_exit(self) -> None:
        if self._closed or self._writer is None:
            self._closed = True
            return
        warnings.warn(
            f"{self.name}: the interpreter exits with the trace {self.path} open; closing it as incomplete",
            stacklevel=1,
        )
        with contextlib.suppress(Exception):
            self.close(complete=False)
