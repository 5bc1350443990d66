"""Record a running PyNN simulation into a trace: spikes, recorded variables and weight snapshots, chunk by chunk.

Use the recorder as a ``sim.run`` callback; every ``interval`` ms it moves what the populations recorded since the
last call into the trace (``get_data(clear=True)``), so memory stays bounded however long the run::

    with PynnRecorder(sim, "run.trace", populations=[exc, inh], projections=[stdp], interval=100.0) as recorder:
        sim.run(1000.0, callbacks=[recorder])

Two pyNN.brian2 quirks are handled here (see docs/adapters/pynn.md):

* ``get_data(clear=True)`` resizes Brian2's ``SpikeMonitor`` without resetting its spike count ``N``, so the next
  chunk would hold stale zero-time spikes; the recorder resets ``N`` after each clear.
* every analog chunk after a clear starts with a fake sample at the chunk's start time (PyNN prepends the
  *initial* value); that tick was already written as the last sample of the previous chunk, so it is dropped.

The recorder covers one continuous run: ``sim.reset()`` while recording raises :class:`PynnRecorderError`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from snntrace.adapters.neo import NeoRowWriter, block_info, seconds_per_unit, si_factor, signal_indices, train_index

from snntrace.errors import SnntraceError
from snntrace.model import Population, Projection, Software
from snntrace.writer import TraceWriter

_NEVER_FLUSH = {"spikes": 1 << 62, "states": 1 << 62}


class PynnRecorderError(SnntraceError, RuntimeError):
    """The live PyNN recorder cannot follow the simulation (a reset, an unknown population...)."""

    code = "PN001"


def _backend_name(sim: Any) -> str:
    return getattr(sim, "__name__", type(sim).__name__)


def _pynn_version() -> str:
    import pyNN

    return str(getattr(pyNN, "__version__", ""))


def _weight_unit(projection: Any) -> str:
    """Return PyNN's weight unit for a projection: uS onto conductance-based cells, nA onto current-based ones."""
    return "uS" if getattr(projection.post, "conductance_based", False) else "nA"


def _describe_projection(projection: Any) -> Projection:
    synapse = projection.synapse_type
    timing = getattr(synapse, "timing_dependence", None)
    weights = getattr(synapse, "weight_dependence", None)
    plastic = timing is not None or weights is not None
    rule = "/".join(type(x).__name__ for x in (timing, weights) if x is not None) or None
    return Projection(
        name=str(projection.label),
        pre=str(projection.pre.label),
        post=str(projection.post.label),
        synapses=len(projection),
        plastic=plastic,
        learning_rule=rule,
    )


class PynnRecorder:
    """Stream a PyNN simulation into a trace from ``sim.run(..., callbacks=[recorder])``.

    Parameters
    ----------
    sim : module
        The PyNN backend (``pyNN.brian2``, ``pyNN.nest``, ...), already ``setup()``.
    path : path
        Trace directory to create.
    populations : sequence of Population
        Populations whose recorded data (call ``record()`` first) goes into the trace.
    projections : sequence of Projection
        Projections whose weights are snapshotted (``Projection.get("weight", format="list")``).
    interval : float
        Milliseconds between flushes of recorded data.
    weight_interval : float, optional
        Milliseconds between weight snapshots (default: ``interval``); a snapshot is also taken at t = 0 and at
        :meth:`close`.
    roles : mapping, optional
        Population label -> ``input``/``hidden``/``output``.
    """

    def __init__(
        self,
        sim: Any,
        path: str | os.PathLike,
        *,
        populations: Sequence[Any],
        projections: Sequence[Any] = (),
        interval: float = 100.0,
        weight_interval: float | None = None,
        name: str | None = None,
        roles: Mapping[str, str] | None = None,
        overwrite: bool = False,
        window_rows: int = 1_000_000,
    ):
        if interval <= 0 or (weight_interval is not None and weight_interval <= 0):
            raise PynnRecorderError("interval and weight_interval must be positive milliseconds", code="PN002")
        self.sim = sim
        self.populations = list(populations)
        self.projections = list(projections)
        self.interval = float(interval)
        self.weight_interval = float(weight_interval or interval)
        self._dt_ms = float(sim.get_time_step())
        roles = dict(roles or {})
        members: dict[str, Any] = {}
        for pop in self.populations + [p.pre for p in self.projections] + [p.post for p in self.projections]:
            members.setdefault(str(pop.label), pop)
        self.writer = TraceWriter(
            path,
            name=name or ", ".join(str(p.label) for p in self.populations),
            time_resolution=self._dt_ms * 1e-3,
            populations=[Population(label, int(pop.size), role=roles.get(label)) for label, pop in members.items()],
            projections=[_describe_projection(p) for p in self.projections],
            simulator=Software(_backend_name(sim), _pynn_version()),
            annotations={"pynn": {"backend": _backend_name(sim), "dt_ms": self._dt_ms, "interval_ms": self.interval}},
            part_rows=_NEVER_FLUSH,
            overwrite=overwrite,
        )
        self.rows = NeoRowWriter(self.writer, window_rows=window_rows)
        self._declare()
        self._last_flush = 0.0
        self._last_sample: dict[tuple[str, str], int] = {}
        self._next_weights = 0.0
        self._previous_weights: dict[str, np.ndarray] = {}
        self._closed = False

    # -- declarations ---------------------------------------------------------------------------------------------------
    def _declare(self) -> None:
        for pop in self.populations:
            recorded = pop.recorder.recorded
            label = str(pop.label)
            for variable, ids in recorded.items():
                if variable.name == "spikes":
                    self.writer.record_spikes([label])
                    continue
                if variable.location is not None:
                    continue  # multi-compartment locations are not mapped
                _, unit = si_factor(str(pop.find_units(variable)).replace("unknown", "dimensionless"))
                interval = round(float(pop.recorder.sampling_interval) / self._dt_ms)
                neurons = sorted(int(i) for i in pop.id_to_index(sorted(ids)))
                self.writer.record_states(label, variable.name, unit=unit, neurons=neurons, interval=max(1, interval))
        for proj in self.projections:
            self.writer.record_weights(str(proj.label), snapshot="full", unit=_weight_unit(proj))

    # -- the callback -------------------------------------------------------------------------------------------------
    def __call__(self, t: float) -> float:
        """Flush at simulation time ``t`` (ms) and return the next time PyNN should call back."""
        self.flush(t)
        return min(t + self.interval, self._next_weights) if self.projections else t + self.interval

    def flush(self, t: float | None = None) -> None:
        """Move everything recorded up to now (``t`` ms) into the trace; snapshot weights when one is due."""
        if self._closed:
            raise PynnRecorderError("the recorder is closed", code="PN003")
        t = float(self.sim.get_current_time()) if t is None else float(t)
        if t + 1e-9 < self._last_flush:
            raise PynnRecorderError(
                f"simulation time went back from {self._last_flush} ms to {t} ms (sim.reset()?); "
                "record each run into its own trace, or convert get_data() blocks with snntrace.adapters.neo",
                code="PN004",
            )
        if t > self._last_flush + 1e-9:
            for pop in self.populations:
                self._flush_population(pop)
            self._last_flush = t
            self.writer.advance(round(t / self._dt_ms))
        if self.projections and t + 1e-9 >= self._next_weights:
            self._snapshot_weights(t)
            self._next_weights = t + self.weight_interval
        self.rows.window_done()

    def _flush_population(self, pop: Any) -> None:
        if not pop.recorder.recorded:
            return
        block = pop.get_data(clear=True)
        self._repair_spike_monitor(pop)
        if len(block.segments) != 1:
            raise PynnRecorderError(
                f"population {pop.label!r} holds {len(block.segments)} segments; sim.reset() is not supported while recording live",
                code="PN004",
            )
        info = block_info(block)
        segment = block.segments[0]
        label = str(pop.label)
        self.rows.rows_written(self._spike_rows(pop, segment, info, label))
        for signal in segment.analogsignals:
            variable = str(signal.name)
            key = (label, variable)
            factor, _ = si_factor(signal.units.dimensionality.string)
            indices = signal_indices(signal, info)
            self.rows.rows_written(
                self.rows.state_rows(signal, label, indices, factor, variable, 0, skip_until=self._last_sample.get(key))
            )
            if signal.shape[0]:
                last = (float(signal.t_start.rescale("s")) + (signal.shape[0] - 1) * float(signal.sampling_period.rescale("s")))
                self._last_sample[key] = round(last / self.writer.resolution)

    def _spike_rows(self, pop: Any, segment: Any, info: Any, label: str) -> int:
        """Write a chunk's spikes from Neo's multiplexed (ids, times) arrays; building SpikeTrains costs ~1 ms each."""
        trains = segment.spiketrains
        multiplexed = getattr(trains, "multiplexed", None)
        if multiplexed is not None:
            ids, times = multiplexed
            ids = np.asarray(ids, dtype=np.int64)
            if not ids.size:
                return 0
            try:
                neurons = np.atleast_1d(np.asarray(pop.id_to_index(ids), dtype=np.int64))
            except (IndexError, ValueError):
                neurons = None  # ids are positions, not PyNN ids: fall back to the trains' annotations
            if neurons is not None and neurons.shape == ids.shape:
                scale = seconds_per_unit(times.dimensionality.string) / self.writer.resolution
                ticks = np.rint(np.asarray(times.magnitude, dtype=np.float64) * scale)
                self.writer.write_spikes(ticks.astype(np.int64), label, neurons)
                return int(ids.size)
        return self.rows.spike_rows([(train, train_index(train, info)) for train in trains], label, 0)

    @staticmethod
    def _repair_spike_monitor(pop: Any) -> None:
        """Reset the spike count of pyNN.brian2's SpikeMonitor, which ``get_data(clear=True)`` forgets."""
        devices = getattr(pop.recorder, "_devices", None)
        if not isinstance(devices, dict):
            return
        monitor = devices.get("spikes")
        variables = getattr(monitor, "variables", None)
        if monitor is not None and type(monitor).__name__ == "SpikeMonitor" and variables is not None and "N" in variables:
            variables["N"].set_value(0)

    def _snapshot_weights(self, t: float) -> None:
        tick = round(t / self._dt_ms)
        for proj in self.projections:
            label = str(proj.label)
            data = np.asarray(proj.get("weight", format="list", with_address=True), dtype=np.float64).reshape(-1, 3)
            self.writer.write_weights(tick, label, data[:, 0], data[:, 1], data[:, 2])
            previous = self._previous_weights.get(label)
            if previous is not None and previous.shape == data.shape and np.array_equal(previous[:, :2], data[:, :2]):
                change = np.abs(data[:, 2] - previous[:, 2])
                self.writer.write_metric("mean_abs_dw", float(change.mean()) if change.size else 0.0, t=tick, projection=label)
                self.writer.write_metric("weight_updates", int(np.count_nonzero(change)), t=tick, projection=label)
            self._previous_weights[label] = data

    # -- life cycle ------------------------------------------------------------------------------------------------------
    def close(self, *, complete: bool = True) -> Path:
        """Flush what is left (the last partial chunk and a final weight snapshot) and close the trace."""
        if self._closed:
            return self.writer.path
        try:
            if complete:
                t = float(self.sim.get_current_time())
                if self.projections and t > self._next_weights - self.weight_interval + 1e-9:
                    self._next_weights = t  # the final state always gets a snapshot
                self.flush(t)
        finally:
            self._closed = True
            self.writer.close(complete=complete)
        return self.writer.path

    def __enter__(self) -> PynnRecorder:  # noqa: PYI034 - Self needs Python 3.11
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


def record_run(sim: Any, duration: float, path: str | os.PathLike, **options: Any) -> Path:
    """Run ``sim`` for ``duration`` ms with a :class:`PynnRecorder` attached and return the trace path."""
    with PynnRecorder(sim, path, **options) as recorder:
        sim.run(duration, callbacks=[recorder])
    return Path(path)
