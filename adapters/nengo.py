"""Record Nengo simulations as snntrace traces: chunked runs with bounded memory, or a finished Simulator post hoc.

Nengo probes keep dense per-step arrays in memory for the whole run. :class:`NengoRecorder` runs the simulator in
chunks (``run_steps``), turns what the probes hold into trace rows and clears the probes, so memory is bounded by one
chunk. What each probe becomes:

====================================================  ==========================================================
probe                                                 trace rows
====================================================  ==========================================================
``Probe(ens.neurons)`` (spiking neuron type)          ``spikes`` with ``count`` = ``rint(x * dt / amplitude)``
``Probe(ens.neurons, "voltage")`` and other neuron    ``states`` (variable ``v`` for the voltage, else the attribute;
state, ``output`` of rate neurons                     ``rate`` for the output of a rate neuron type)
``Probe(conn, "weights")``                            ``weights`` snapshots: neuron-to-neuron connections on their
                                                      own projection (``post`` = post neuron); decoders and node
                                                      transforms on ``<conn>.decoders`` / ``<conn>.transform`` into
                                                      the dimension population ``<conn>.value``
vector values: ensemble ``decoded_output``/``input``,  ``metrics`` named after the probe, one per dimension
node/connection outputs, learning-rule vectors        (``name[i]``), with the population or projection set;
(filtered or not)                                     the probe's synapse is noted in the manifest annotations
====================================================  ==========================================================

Times are computed from step counts (tick = step number, resolution = ``dt``), never from ``Simulator.trange()``,
which a probe clear does not reset. A probe that cannot be converted (a filtered or subsampled spike probe, a filtered
neuron-state or weights probe, a matrix valued learning-rule probe, weights of a convolution) raises :class:`NengoAdapterError` with a code when the
recorder is created; pass it in ``ignore=`` to leave it out on purpose (the manifest lists ignored probes).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

import nengo
import numpy as np
from nengo.connection import LearningRule
from nengo.ensemble import Neurons

from snntrace.model import Dataset, Software
from snntrace.writer import DEFAULT_PART_ROWS, OTHER_PART_ROWS, TraceWriter

from ._nengo_network import NengoAdapterError, NetworkMap, _base, _view_indices

__all__ = ["NengoAdapterError", "NengoRecorder", "convert_simulator", "record_model"]

DEFAULT_CHUNK_STEPS = 1000
_NEVER = 1 << 62
_ROW_TABLES = ("spikes", "states", "weights", "metrics")  # a converter's kind is the table it writes
# Spike probe values are k * amplitude / dt; anything farther than this from a whole count was filtered or scaled.
_COUNT_TOLERANCE = 1e-6


def _period(probe: nengo.Probe, dt: float) -> float:
    return 1.0 if probe.sample_every is None else probe.sample_every / dt


def _sampled_steps(first: int, last: int, period: float) -> np.ndarray:
    """Return the steps in (first, last] at which Nengo appends a sample (same test as ``Simulator._probe``)."""
    steps = np.arange(first + 1, last + 1, dtype=np.int64)
    return steps if period == 1.0 else steps[steps % period < 1]


class _Presentations(NamedTuple):
    """The labelled inputs a ``PresentInput`` node shows."""

    labels: np.ndarray
    n_inputs: int
    presentation_time: float
    node: str


class _ProbeConverter:
    """Turns one probe's data for a range of steps into trace rows."""

    def __init__(self, probe: nengo.Probe, name: str, kind: str, **target: Any):
        self.probe, self.name, self.kind = probe, name, kind
        self.target = target

    def write(self, writer: TraceWriter, data: np.ndarray, steps: np.ndarray, dt: float) -> int:
        """Write the probe's ``data`` (one row per entry of ``steps``) and return the number of rows written."""
        return getattr(self, f"_write_{self.kind}")(writer, data, steps, dt)

    def _write_spikes(self, writer, data, steps, dt):
        rows, columns = np.nonzero(data)  # spikes are sparse: scale and check only the non-zero entries
        scaled = data[rows, columns] * (dt / self.target["amplitude"])
        counts = np.rint(scaled)
        if counts.size and (np.abs(scaled - counts).max() > _COUNT_TOLERANCE or counts.min() < 1):
            raise NengoAdapterError(
                f"probe {self.name!r}: values are not whole multiples of amplitude/dt, so they are not spike counts",
                code="NG002",
            )
        writer.write_spikes(
            steps[rows], self.target["population"], self.target["neurons"][columns], count=counts.astype(np.uint16)
        )
        return len(rows)

    def _write_states(self, writer, data, steps, dt):
        neurons = self.target["neurons"]
        writer.write_states(
            np.repeat(steps, len(neurons)),
            self.target["population"],
            np.tile(neurons, len(steps)),
            self.target["variable"],
            data.reshape(-1),
        )
        return data.size

    def _write_weights(self, writer, data, steps, dt):
        layout = self.target["layout"]
        if layout.elementwise:
            pre, post = layout.pre, layout.post
            values = np.broadcast_to(data.reshape(len(steps), -1), (len(steps), len(pre)))
        else:
            post, pre = (grid.reshape(-1) for grid in np.meshgrid(layout.post, layout.pre, indexing="ij"))
            values = data.reshape(len(steps), -1)
        n = len(pre)
        writer.write_weights(
            np.repeat(steps, n),
            layout.projection,
            np.tile(pre, len(steps)),
            np.tile(post, len(steps)),
            values.reshape(-1),
        )
        return values.size

    def _write_metrics(self, writer, data, steps, dt):
        data = data.reshape(len(steps), -1)
        labels = self.target["labels"]
        for column, label in enumerate(labels):
            writer.write_metric(
                label,
                data[:, column],
                t=steps,
                population=self.target.get("population"),
                projection=self.target.get("projection"),
            )
        return data.size


class NengoRecorder:
    """Record a Nengo ``Simulator`` into a trace directory, in chunks or post hoc.

    Probe data held by the simulator always covers the steps after the last conversion: a new recorder converts a
    simulator that ran before (if its probes were never cleared), :meth:`run_steps` runs chunks and clears the probes
    after each, :meth:`record` converts what the probes hold now.

    Parameters
    ----------
    sim : nengo.Simulator
        An open simulator; its model's dt becomes the trace's time resolution (one tick per step).
    path : str or Path
        Trace directory to write.
    name : str, optional
        Run name (default: the network's label or ``"nengo"``).
    labels : sequence of int, optional
        Class label of each input of the model's ``PresentInput`` node; writes the ``samples`` table.
    present_input : nengo.Node, optional
        The node presenting the labelled inputs, when the model has more than one ``PresentInput`` node.
    split : str
        Sample split name (``train`` or ``test``).
    dataset : Dataset, optional
        The data set the inputs come from (names its classes; default: classes named "0".."max label").
    ignore : iterable of nengo.Probe
        Probes to leave out on purpose (listed in the manifest's annotations).
    chunk_steps : int
        Steps simulated between two conversions in :meth:`run_steps`.
    part_rows : dict, optional
        Rows per table after which the buffered rows are written as parts, checked after each chunk (so memory
        holds at most this plus one chunk); defaults are the writer's.
    overwrite : bool
        Replace an existing trace directory.
    """

    def __init__(
        self,
        sim: nengo.Simulator,
        path: str | os.PathLike,
        *,
        name: str | None = None,
        labels: Sequence[int] | None = None,
        present_input: nengo.Node | None = None,
        split: str = "train",
        dataset: Dataset | None = None,
        ignore: Iterable[nengo.Probe] = (),
        chunk_steps: int = DEFAULT_CHUNK_STEPS,
        part_rows: dict[str, int] | None = None,
        overwrite: bool = False,
    ):
        if int(chunk_steps) < 1:
            raise NengoAdapterError(f"chunk_steps must be at least 1, got {chunk_steps!r}", code="NG006")
        self.sim = sim
        self.dt = float(sim.dt)
        self.chunk_steps = int(chunk_steps)
        self.network = NetworkMap(sim.model)
        ignored = set(ignore)
        unknown = [p for p in ignored if p not in sim.model.probes]
        if unknown:
            raise NengoAdapterError(f"ignore= names probes that are not in this model: {unknown}", code="NG006")
        self._probe_names = self._name_probes(sim.model.probes)
        self._converters = [self._converter(p) for p in sim.model.probes if p not in ignored]
        self._samples = self._samples_source(labels, present_input)
        self._split = str(split)
        self._open_presentation: tuple[int, int] | None = None  # (presentation number, first step)
        self._last_step = 0
        self._check_covers(sim.n_steps)
        self._part_rows = {t: DEFAULT_PART_ROWS.get(t, OTHER_PART_ROWS) for t in _ROW_TABLES}
        self._part_rows.update({t: int(n) for t, n in (part_rows or {}).items() if t in self._part_rows})
        self._buffered = dict.fromkeys(self._part_rows, 0)
        toplevel = sim.model.toplevel
        if self._samples is not None and dataset is None:
            # Labels index classes; without a dataset from the caller, name the classes by their numbers.
            n_classes = int(self._samples.labels.max()) + 1
            dataset = Dataset(f"{self._samples.node} inputs", classes=tuple(str(c) for c in range(n_classes)))
        populations = self.network.populations()
        self._sizes = {p.name: p.size for p in populations}
        probes = {
            self._probe_names[p]: {
                "target": self.network.object_name(p.target),
                "attribute": p.attr,
                "synapse": None if p.synapse is None else repr(p.synapse),
                "sample_every": p.sample_every,
            }
            for p in sim.model.probes
        }
        annotations = {"nengo": {"dt": self.dt, "seed": int(sim.seed), "probes": probes}}
        if ignored:
            annotations["nengo"]["ignored_probes"] = sorted(self._probe_names[p] for p in ignored)
        self.writer = TraceWriter(
            path,
            name=name or toplevel.label or "nengo",
            time_resolution=self.dt,
            populations=populations,
            projections=self.network.projections(),
            dataset=dataset,
            simulator=Software("nengo", nengo.__version__),
            annotations=annotations,
            # The recorder decides when parts are written: a part written between two probes of one chunk would
            # leave the second probe's earlier ticks after a part that ended later (the writer refuses that).
            part_rows=dict.fromkeys(("spikes", "states", "weights", "samples", "metrics", "events"), _NEVER),
            overwrite=overwrite,
        )
        self._declare()

    # -- set-up ----------------------------------------------------------------------------------------------------------
    def _name_probes(self, probes: Sequence[nengo.Probe]) -> dict[nengo.Probe, str]:
        names: dict[nengo.Probe, str] = {}
        used: set[str] = set()
        for probe in probes:
            base = probe.label or f"{self.network.object_name(probe.target)}.{probe.attr}"
            name, k = base, 2
            while name in used:
                name, k = f"{base}#{k}", k + 1
            used.add(name)
            names[probe] = name
        return names

    def _converter(self, probe: nengo.Probe) -> _ProbeConverter:
        name = self._probe_names[probe]
        obj, attr = _base(probe.target), probe.attr
        shape = tuple(self.sim.model.sig[probe]["in"].shape)
        if isinstance(obj, Neurons):
            ensemble, neuron_type = obj.ensemble, obj.ensemble.neuron_type
            population = self.network.names[ensemble]
            neurons = _view_indices(probe.target, ensemble.n_neurons)
            if attr in ("output", "spikes") and neuron_type.spiking:
                if probe.synapse is not None or _period(probe, self.dt) != 1.0:
                    raise NengoAdapterError(
                        f"probe {name!r}: a spike probe with a synapse or sample_every does not hold spike counts "
                        "(Nengo filters or drops spikes); probe the neurons without them",
                        code="NG002",
                    )
                return _ProbeConverter(
                    probe,
                    name,
                    "spikes",
                    population=population,
                    neurons=neurons,
                    amplitude=float(getattr(neuron_type, "amplitude", 1.0)),
                )
            if probe.synapse is not None:
                raise NengoAdapterError(
                    f"probe {name!r}: a filtered neuron probe holds smoothed values, not the neurons' {attr!r}; "
                    "probe without a synapse (or ignore this probe)",
                    code="NG002",
                )
            # "v" is the membrane potential every snntrace producer and the report use; Nengo's is normalised
            # (threshold 1), hence no unit.
            variable = {"output": "rate", "spikes": "rate", "rates": "rate", "voltage": "v"}.get(attr, attr)
            return _ProbeConverter(probe, name, "states", population=population, neurons=neurons, variable=variable)
        if isinstance(obj, nengo.Connection) and attr == "weights":
            if probe.synapse is not None:
                raise NengoAdapterError(
                    f"probe {name!r}: a filtered weights probe holds smoothed weights, not the weights at each "
                    "snapshot; probe with synapse=None (or ignore this probe)",
                    code="NG003",
                )
            layout = self.network.weight_layout(obj, shape, name)
            return _ProbeConverter(probe, name, "weights", layout=layout)
        if len(shape) > 1:
            raise NengoAdapterError(
                f"probe {name!r}: {attr!r} of {self.network.object_name(probe.target)!r} is a {shape} matrix, which "
                "has no place in a trace (weights go through Probe(connection, 'weights')); pass it in ignore=",
                code="NG001",
            )
        target: dict[str, Any] = {}
        if isinstance(obj, (nengo.Ensemble, nengo.Node)):
            target["population"] = self.network.names[obj]
        elif isinstance(obj, (nengo.Connection, LearningRule)):
            connection = obj if isinstance(obj, nengo.Connection) else obj.connection
            target["projection"] = self.network.names[connection]
        else:  # pragma: no cover - Nengo only probes the types above
            raise NengoAdapterError(f"probe {name!r}: cannot probe a {type(obj).__name__}", code="NG001")
        size = int(np.prod(shape))
        target["labels"] = [name] if size == 1 else [f"{name}[{i}]" for i in range(size)]
        return _ProbeConverter(probe, name, "metrics", **target)

    def _samples_source(self, labels, present_input):
        if labels is None:
            return None
        nodes = [n for n in self.sim.model.toplevel.all_nodes if isinstance(n.output, nengo.processes.PresentInput)]
        if present_input is None:
            if len(nodes) != 1:
                raise NengoAdapterError(
                    f"labels need exactly one PresentInput node, the model has {len(nodes)}; pass present_input=",
                    code="NG004",
                )
            present_input = nodes[0]
        if present_input not in nodes:
            raise NengoAdapterError(
                f"present_input {present_input!r} is not a PresentInput node of this model", code="NG004"
            )
        process = present_input.output
        n_inputs = len(process.inputs)
        labels = np.asarray(labels)
        if labels.shape != (n_inputs,) or labels.dtype.kind not in "iu" or labels.min() < 0:
            raise NengoAdapterError(
                f"labels must be {n_inputs} non-negative integers (one per input of {self.network.names[present_input]!r}), "
                f"got shape {labels.shape} of {labels.dtype}",
                code="NG004",
            )
        return _Presentations(labels, n_inputs, float(process.presentation_time), self.network.names[present_input])

    def _declare(self) -> None:
        for converter in self._converters:
            target = converter.target
            if converter.kind == "spikes":
                self.writer.record_spikes([target["population"]])
            elif converter.kind == "states":
                period = _period(converter.probe, self.dt)
                self.writer.record_states(
                    target["population"],
                    target["variable"],
                    neurons=None if len(target["neurons"]) == self._sizes[target["population"]] else target["neurons"],
                    interval=int(period) if float(period).is_integer() else None,
                )
            elif converter.kind == "weights":
                self.writer.record_weights(target["layout"].projection, snapshot="full")

    # -- conversion ------------------------------------------------------------------------------------------------------
    def _check_covers(self, last: int) -> None:
        if last < self._last_step:
            raise NengoAdapterError(
                f"the simulator is at step {last} but the trace already holds step {self._last_step}: it was reset "
                "outside the recorder; record each run into its own trace",
                code="NG005",
            )
        for converter in self._converters:
            expected = len(_sampled_steps(self._last_step, last, _period(converter.probe, self.dt)))
            held = len(self.sim.data[converter.probe])
            if held != expected:
                raise NengoAdapterError(
                    f"probe {converter.name!r} holds {held} samples but steps {self._last_step + 1}..{last} give "
                    f"{expected}: its data was cleared or the simulator was reset outside the recorder",
                    code="NG005",
                )

    def record(self, *, clear: bool = True) -> None:
        """Convert what the probes hold (the steps since the last conversion) and clear them unless ``clear=False``."""
        last = int(self.sim.n_steps)
        self._check_covers(last)
        for converter in self._converters:
            steps = _sampled_steps(self._last_step, last, _period(converter.probe, self.dt))
            if len(steps):
                self._buffered[converter.kind] += converter.write(
                    self.writer, np.asarray(self.sim.data[converter.probe]), steps, self.dt
                )
        self._record_samples(self._last_step, last)
        self.writer.advance(last)
        self._last_step = last
        if any(self._buffered[t] >= self._part_rows[t] for t in self._buffered):
            self.writer.flush()
            self._buffered = dict.fromkeys(self._buffered, 0)
        if clear:
            self.sim.clear_probes()

    def _record_samples(self, first: int, last: int) -> None:
        if self._samples is None or last <= first:
            return
        presentation_time = self._samples.presentation_time
        steps = np.arange(first + 1, last + 1)
        # The presentation PresentInput shows at step s, where Nengo's time is t = s * dt.
        # Nengo's own formula and float operations (elementwise numpy does the same IEEE steps as Python floats).
        shown = ((steps * self.dt - self.dt) / presentation_time + 1e-7).astype(np.int64)
        starts = np.flatnonzero(np.diff(shown, prepend=shown[0] - 1))
        for position in starts:
            number, step = int(shown[position]), int(steps[position])
            if self._open_presentation is not None and self._open_presentation[0] != number:
                self._close_presentation(step)
            if self._open_presentation is None:
                self._open_presentation = (number, step)

    def _close_presentation(self, end_step: int) -> None:
        """Write the open presentation as a sample covering ticks [first step, ``end_step``)."""
        number, start = self._open_presentation
        index = number % self._samples.n_inputs
        self.writer.write_samples(index, start, end_step, label=int(self._samples.labels[index]), split=self._split)
        self._open_presentation = None

    # -- running ---------------------------------------------------------------------------------------------------------
    def run_steps(self, steps: int) -> None:
        """Simulate ``steps`` steps in chunks of ``chunk_steps``, converting and clearing the probes after each."""
        if int(steps) < 0:
            raise NengoAdapterError(f"cannot run a negative number of steps ({steps})", code="NG006")
        if self.sim.closed:
            raise NengoAdapterError(
                "the simulator is closed; it can only be converted (convert_simulator)", code="NG006"
            )
        remaining = int(steps)
        self.record()  # whatever ran before this call
        while remaining > 0:
            chunk = min(self.chunk_steps, remaining)
            self.sim.run_steps(chunk, progress_bar=False)
            self.record()
            remaining -= chunk

    def run(self, time_in_seconds: float) -> None:
        """Simulate for a time in seconds (rounded to whole steps as ``Simulator.run`` does), in chunks."""
        self.run_steps(int(np.round(float(time_in_seconds) / self.dt)))

    def close(self, *, complete: bool = True) -> None:
        """Write the last (possibly partial) presentation and close the trace."""
        if self._open_presentation is not None:
            self._close_presentation(self._last_step + 1)
        self.writer.close(complete=complete)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(complete=exc_type is None)


def convert_simulator(sim: nengo.Simulator, path: str | os.PathLike, **options: Any) -> None:
    """Write the probe data a finished (open or closed) ``Simulator`` holds as a trace, leaving it unchanged."""
    with NengoRecorder(sim, path, **options) as recorder:
        recorder.record(clear=False)


def record_model(
    network: nengo.Network,
    path: str | os.PathLike,
    duration: float,
    *,
    dt: float = 0.001,
    seed: int | None = None,
    **options: Any,
) -> None:
    """Build ``network``, simulate it for ``duration`` seconds in chunks and write the trace to ``path``."""
    with (
        nengo.Simulator(network, dt=dt, seed=seed, progress_bar=False) as sim,
        NengoRecorder(sim, path, **options) as recorder,
    ):
        recorder.run(duration)
