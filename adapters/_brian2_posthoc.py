"""Convert the monitors and synapses of a finished Brian2 run (runtime or standalone) into a trace."""

from __future__ import annotations

import itertools
import math
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brian2
import numpy as np
from brian2 import Network, SpikeMonitor, StateMonitor, Synapses, get_device
from brian2.core.namespace import get_local_namespace
from brian2.devices.device import RuntimeDevice
from brian2.monitors.spikemonitor import EventMonitor
from snntrace.adapters._brian2_model import (
    Brian2AdapterError,
    Catalogue,
    Sample,
    clock_dt,
    clock_time,
    fail,
    parent,
    resolution_of,
    seconds,
    unit_of,
    weight_snapshot,
    whole_ticks,
    write_samples,
)

from snntrace.model import Dataset
from snntrace.writer import TraceWriter

_TABLES = ("spikes", "states", "weights", "samples", "metrics", "events")
_NEVER = 1 << 62  # parts are cut by time window here, never by the writer


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
    if monitor._network is None:
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
    catalogue = Catalogue(roles)
    rules = dict(learning_rules or {})
    spikes, group_states, synapse_states, final_weights = [], [], [], []
    for obj in objects:
        if isinstance(obj, EventMonitor):
            if not isinstance(obj, SpikeMonitor) or obj.event != "spike":
                raise fail("BR003", f"{obj.name!r} monitors the event {obj.event!r}; only spikes have a table", obj)
            if not obj.record:
                raise fail(
                    "BR007", f"{obj.name!r} was created with record=False: it holds counts, not spike times", obj
                )
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

    rows = [s if isinstance(s, Sample) else Sample(*s) for s in samples]
    sample_rows = sorted(
        (
            (int(s.index), seconds(s.start, "start"), seconds(s.end, "end"), s.label, str(s.split), s.prediction)
            for s in rows
        ),
        key=lambda s: s[1],
    )
    clocks = [m.source.clock for m in spikes] + [m.clock for m in group_states + synapse_states]
    clocks += [s.clock for s in final_weights] + [g.clock for g in catalogue.groups.values()]
    resolution = resolution_of((clock_dt(c) for c in clocks), "write_trace")
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
    try:
        streams = _streams(writer, spikes, group_states, synapse_states, final_weights, weight_variable)
        _write_windows(writer, streams, part_rows)
        write_samples(writer, sample_rows)
        writer.advance(max(int(writer.to_ticks(clock_time(c))) for c in clocks))
    except BaseException:
        # A conversion is all or nothing: do not leave a half-written trace behind.
        writer.close(complete=False)
        shutil.rmtree(writer.path, ignore_errors=True)
        raise
    writer.close()
    return writer.path


def _streams(writer, spikes, group_states, synapse_states, final_weights, weight_variable) -> list[_Stream]:
    streams: list[_Stream] = []
    for monitor in group_states:
        population, offset = parent(monitor.source)
        indices = np.asarray(monitor.record, dtype=np.int64) + offset
        ticks = writer.to_ticks(np.asarray(monitor.t_))
        for variable in monitor.record_variables:
            writer.record_states(
                population.name,
                variable,
                unit=unit_of(monitor.source, variable),
                neurons=indices.tolist(),
                interval=whole_ticks(clock_dt(monitor.clock), writer.resolution, "StateMonitor dt", monitor),
            )
            values = np.asarray(getattr(monitor, f"{variable}_"), dtype=np.float64).T  # Brian: (recorded, samples)
            streams.append(_Stream("states", ticks, population.name, indices, values, variable))
    for monitor in synapse_states:
        synapses = monitor.source
        pre, post, _ = weight_snapshot(synapses, weight_variable)
        record = np.asarray(monitor.record, dtype=np.int64)
        writer.record_weights(
            synapses.name, snapshot="full" if monitor.record_all else "partial", unit=unit_of(synapses, weight_variable)
        )
        values = np.asarray(getattr(monitor, f"{weight_variable}_"), dtype=np.float64).T
        streams.append(
            _Stream(
                "weights", writer.to_ticks(np.asarray(monitor.t_)), synapses.name, (pre[record], post[record]), values
            )
        )
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
    for lo, hi in itertools.pairwise(edges):
        for stream in streams:
            stream.write(writer, int(lo), int(hi))
        writer.flush()
