"""Stream rows into a trace directory: bounded buffers, atomic Parquet parts, a manifest finalised on close."""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from snntrace._files import list_parts, part_name, publish, temporary_path, write_json_atomically
from snntrace._version import SPEC_VERSION, __version__
from snntrace.errors import TraceLockedError, TraceWriteError
from snntrace.format import MANIFEST_FILE, TABLES, arrow_schema, parquet_options, table_spec
from snntrace.model import Dataset, Population, Projection, Recorded, Software

LOCK_FILE = ".lock"
DEFAULT_PART_ROWS = {"spikes": 1 << 22, "states": 1 << 21, "weights": 1 << 21}
OTHER_PART_ROWS = 1 << 18


def _software(value: Software | tuple[str, str] | dict | None, default: Software) -> Software:
    if value is None:
        return default
    if isinstance(value, Software):
        return value
    if isinstance(value, dict):
        return Software(str(value["name"]), str(value.get("version", "")))
    name, version = value
    return Software(str(name), str(version))


class TraceWriter:
    """Write an snntrace trace directory while a simulation runs.

    Rows are buffered per table and written as Parquet *parts* that appear atomically, so a process killed at any
    moment leaves a trace readable up to its last complete part. Use as a context manager; ``close()`` writes the
    remaining rows and marks the manifest complete. Times are int64 ticks of ``time_resolution`` seconds
    (:meth:`to_ticks` converts seconds).

    Parameters
    ----------
    path : str or Path
        Trace directory to create. An existing non-empty directory is refused unless ``overwrite=True``.
    name : str
        Human-readable name of the run.
    time_resolution : float
        Seconds per tick.
    populations, projections : sequences of Population / Projection
        Network description; rows refer to them by name or by id (their position unless ``id`` is given).
    part_rows : dict, optional
        Rows buffered per table before a part is written (bounds memory).
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        name: str,
        time_resolution: float,
        populations: Sequence[Population],
        projections: Sequence[Projection] = (),
        dataset: Dataset | None = None,
        simulator: Software | tuple[str, str] | dict | None = None,
        producer: Software | tuple[str, str] | dict | None = None,
        annotations: dict[str, Any] | None = None,
        duration: int = 0,
        part_rows: dict[str, int] | None = None,
        overwrite: bool = False,
        created: str | None = None,
    ):
        if not time_resolution or not np.isfinite(time_resolution) or time_resolution <= 0:
            raise TraceWriteError(f"time_resolution must be a positive number of seconds, got {time_resolution!r}", code="WR010")
        if not populations:
            raise TraceWriteError("a trace needs at least one population", code="WR010")
        self.path = Path(path)
        self.resolution = float(time_resolution)
        self._populations = self._number_populations(populations)
        self._population_ids = {p["name"]: p["id"] for p in self._populations}
        self._population_sizes = {p["id"]: p["size"] for p in self._populations}
        self._projections = self._number_projections(projections)
        self._projection_ids = {p["name"]: p["id"] for p in self._projections}
        self._projection_ends = {p["id"]: (p["pre"], p["post"]) for p in self._projections}
        self._manifest: dict[str, Any] = {
            "snntrace": SPEC_VERSION,
            "name": str(name),
            "created": created or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
            "simulator": _software(simulator, Software("unknown", "")).to_manifest(),
            "producer": _software(producer, Software("snntrace", __version__)).to_manifest(),
            "time": {"resolution": self.resolution, "duration": int(duration)},
            "complete": False,
            "populations": self._populations,
        }
        if self._projections:
            self._manifest["projections"] = self._projections
        if dataset is not None:
            self._manifest["dataset"] = dataset.to_manifest()
        self._manifest["annotations"] = dict(annotations or {})
        self.recorded = Recorded()
        self._part_rows = {t: DEFAULT_PART_ROWS.get(t, OTHER_PART_ROWS) for t in TABLES}
        self._part_rows.update(part_rows or {})
        self._buffers: dict[str, list[pa.RecordBatch]] = {t: [] for t in TABLES}
        self._buffered_rows = dict.fromkeys(TABLES, 0)
        self._next_part = dict.fromkeys(TABLES, 0)
        self._last_time: dict[str, int] = {}
        self._max_tick = int(duration)
        self._closed = False
        self._holds = 0
        self._lock_fd: int | None = None
        self._open_directory(overwrite)

    # -- set-up -------------------------------------------------------------------------------------------------
    @staticmethod
    def _number_populations(populations: Sequence[Population]) -> list[dict[str, Any]]:
        entries, seen_names, seen_ids = [], set(), set()
        for position, population in enumerate(populations):
            id_ = position if population.id is None else int(population.id)
            if population.name in seen_names or id_ in seen_ids:
                raise TraceWriteError(f"population {population.name!r} (id {id_}) is declared twice", code="WR011")
            if population.shape is not None and int(np.prod(population.shape)) != population.size:
                raise TraceWriteError(
                    f"population {population.name!r}: shape {tuple(population.shape)} does not hold size {population.size}",
                    code="WR011",
                )
            seen_names.add(population.name)
            seen_ids.add(id_)
            entries.append(population.to_manifest(id_))
        return entries

    def _number_projections(self, projections: Sequence[Projection]) -> list[dict[str, Any]]:
        entries, seen = [], set()
        for position, projection in enumerate(projections):
            id_ = position if projection.id is None else int(projection.id)
            if projection.name in seen:
                raise TraceWriteError(f"projection {projection.name!r} is declared twice", code="WR011")
            seen.add(projection.name)
            entry: dict[str, Any] = {
                "id": id_,
                "name": projection.name,
                "pre": self.population_id(projection.pre),
                "post": self.population_id(projection.post),
            }
            for key in ("synapses", "plastic", "learning_rule"):
                value = getattr(projection, key)
                if value is not None:
                    entry[key] = value
            entries.append(entry)
        return entries

    def _open_directory(self, overwrite: bool) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise TraceWriteError(f"{self.path} exists and is not a directory", code="WR003")
        if self.path.is_dir() and any(self.path.iterdir()):
            if not overwrite:
                raise TraceWriteError(f"{self.path} is not empty; pass overwrite=True (--force) to replace it", code="WR003")
            if not (self.path / MANIFEST_FILE).is_file():
                raise TraceWriteError(f"{self.path} is not empty and holds no trace; refusing to delete it", code="WR003")
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._lock_fd = os.open(self.path / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o644)
        except OSError as exc:
            raise TraceWriteError(f"cannot create trace directory {self.path}: {exc.strerror}", code="WR005") from exc
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(self._lock_fd)
            self._lock_fd = None
            raise TraceLockedError(f"another writer is writing {self.path}", location=str(self.path)) from exc
        if overwrite:
            for table in TABLES:
                if (self.path / table).is_symlink():  # rmtree refuses symlinks: unlink, never write through one
                    (self.path / table).unlink()
                shutil.rmtree(self.path / table, ignore_errors=True)
        self._write_manifest()

    # -- lookups --------------------------------------------------------------------------------------------------
    def population_id(self, population: str | int) -> int:
        """Return the id of a population given by name or id."""
        if isinstance(population, (int, np.integer)) and int(population) in self._population_sizes:
            return int(population)
        if isinstance(population, str) and population in self._population_ids:
            return self._population_ids[population]
        known = ", ".join(sorted(self._population_ids))
        raise TraceWriteError(f"unknown population {population!r}; declared: {known}", code="WR012")

    def projection_id(self, projection: str | int) -> int:
        """Return the id of a projection given by name or id."""
        if isinstance(projection, (int, np.integer)) and int(projection) in self._projection_ends:
            return int(projection)
        if isinstance(projection, str) and projection in self._projection_ids:
            return self._projection_ids[projection]
        known = ", ".join(sorted(self._projection_ids)) or "none"
        raise TraceWriteError(f"unknown projection {projection!r}; declared: {known}", code="WR012")

    def to_ticks(self, seconds: Any) -> np.ndarray:
        """Convert times in seconds to int64 ticks (rounded to the nearest tick)."""
        return np.rint(np.asarray(seconds, dtype=np.float64) / self.resolution).astype(np.int64)

    @property
    def manifest(self) -> dict[str, Any]:
        """Return a copy of the manifest as it will be written."""
        return json.loads(json.dumps(self._manifest))

    # -- declarations ---------------------------------------------------------------------------------------------
    def record_spikes(self, populations: Iterable[str | int]) -> None:
        """Declare that spikes of these populations are recorded (even if they never fire)."""
        self.recorded.spikes.update(self.population_id(p) for p in populations)

    def record_states(
        self,
        population: str | int,
        variable: str,
        *,
        unit: str | None = None,
        neurons: Iterable[int] | None = None,
        interval: int | None = None,
    ) -> None:
        """Declare a recorded state variable: its unit, which neurons, and the sampling interval in ticks."""
        pid = self.population_id(population)
        entry: dict[str, Any] = {"population": pid, "variable": str(variable)}
        if unit is not None:
            entry["unit"] = str(unit)
        if neurons is not None:
            entry["neurons"] = [int(n) for n in neurons]
        if interval is not None:
            entry["interval"] = int(interval)
        self.recorded.states[(pid, str(variable))] = entry

    def record_weights(self, projection: str | int, *, snapshot: str = "full", unit: str | None = None) -> None:
        """Declare weight snapshots of a projection: ``full`` (every synapse) or ``partial``."""
        if snapshot not in ("full", "partial"):
            raise TraceWriteError(f"snapshot must be 'full' or 'partial', got {snapshot!r}", code="WR010")
        pid = self.projection_id(projection)
        entry: dict[str, Any] = {"projection": pid, "snapshot": snapshot}
        if unit is not None:
            entry["unit"] = unit
        self.recorded.weights[pid] = entry

    # -- rows ------------------------------------------------------------------------------------------------------
    def write_spikes(self, t: Any, population: Any, neuron: Any, count: Any = None) -> None:
        """Add spikes: ticks ``t``, population (name, id or array of ids), neuron indices, optional counts."""
        t = self._ticks_array(t, "spikes")
        n = len(t)
        pop = self._id_column(population, n, self.population_id)
        neuron = self._index_array(neuron, n, "neuron", "spikes")
        self._check_neurons(pop, neuron, "spikes")
        self.recorded.spikes.update(int(p) for p in np.unique(pop))
        columns = {"t": t, "population": pop, "neuron": neuron}
        if count is not None:
            columns["count"] = np.broadcast_to(np.asarray(count, dtype=np.uint16), (n,))
        self._append("spikes", columns)

    def write_states(self, t: Any, population: Any, neuron: Any, variable: str, value: Any) -> None:
        """Add state samples of one variable (values in SI units)."""
        t = self._ticks_array(t, "states")
        n = len(t)
        pop = self._id_column(population, n, self.population_id)
        neuron = self._index_array(neuron, n, "neuron", "states")
        self._check_neurons(pop, neuron, "states")
        for pid in np.unique(pop):
            self.recorded.states.setdefault((int(pid), str(variable)), {"population": int(pid), "variable": str(variable)})
        values = np.broadcast_to(np.asarray(value, dtype=np.float64), (n,))
        variables = pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([str(variable)]))
        self._append("states", {"t": t, "population": pop, "neuron": neuron, "variable": variables, "value": values})

    def write_weights(self, t: Any, projection: str | int, pre: Any, post: Any, weight: Any) -> None:
        """Add a weight snapshot (or part of one) of one projection at tick ``t``."""
        pid = self.projection_id(projection)
        pre = np.asarray(pre)
        n = len(np.atleast_1d(pre))
        t = self._ticks_array(np.broadcast_to(np.asarray(t), (n,)), "weights")
        pre = self._index_array(pre, n, "pre", "weights")
        post = self._index_array(post, n, "post", "weights")
        pre_pop, post_pop = self._projection_ends[pid]
        if n and (pre.max() >= self._population_sizes[pre_pop] or post.max() >= self._population_sizes[post_pop]):
            raise TraceWriteError(f"weights of projection {pid}: pre or post index beyond its population size", code="WR013")
        self.recorded.weights.setdefault(pid, {"projection": pid, "snapshot": "full"})
        self._append(
            "weights",
            {
                "t": t,
                "projection": np.full(n, pid, dtype=np.uint16),
                "pre": pre,
                "post": post,
                "weight": np.broadcast_to(np.asarray(weight, dtype=np.float64), (n,)),
            },
        )

    def write_samples(self, index: Any, t_start: Any, t_end: Any, label: Any = None, split: str = "train", prediction: Any = None) -> None:
        """Add presented input samples: dataset index, presentation window in ticks, label and split."""
        index = np.atleast_1d(np.asarray(index, dtype=np.int64))
        n = len(index)
        t_start = self._ticks_array(np.broadcast_to(np.asarray(t_start), (n,)), "samples")
        t_end = self._ticks_array(np.broadcast_to(np.asarray(t_end), (n,)), "samples")
        self.recorded.samples = True
        columns = {
            "index": index,
            "t_start": t_start,
            "t_end": t_end,
            "label": self._nullable_int(label, n),
            "split": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([str(split)])),
        }
        if prediction is not None:
            columns["prediction"] = self._nullable_int(prediction, n)
        self._max_tick = max(self._max_tick, int(t_end.max()) if n else 0)
        self._append("samples", columns)

    def write_metric(
        self,
        name: str,
        value: Any,
        *,
        t: Any = None,
        step: Any = None,
        population: str | int | None = None,
        projection: str | int | None = None,
    ) -> None:
        """Add values of one named metric at ticks ``t`` and/or producer steps ``step``."""
        values = np.atleast_1d(np.asarray(value, dtype=np.float64))
        n = len(values)
        if t is None and step is None:
            raise TraceWriteError(f"metric {name!r} needs t or step", code="WR010")
        columns: dict[str, Any] = {
            "t": self._nullable_ticks(t, n),
            "step": self._nullable_int(step, n, pa.int64()),
            "name": pa.DictionaryArray.from_arrays(np.zeros(n, dtype=np.int32), pa.array([str(name)])),
            "value": values,
        }
        if population is not None:
            columns["population"] = np.full(n, self.population_id(population), dtype=np.uint16)
        if projection is not None:
            columns["projection"] = np.full(n, self.projection_id(projection), dtype=np.uint16)
        self.recorded.metrics.add(str(name))
        self._append("metrics", columns)

    def write_event(
        self,
        kind: str,
        t: int,
        payload: dict[str, Any] | None = None,
        *,
        population: str | int | None = None,
        projection: str | int | None = None,
    ) -> None:
        """Add one event (``prune``, ``reinforce``, ``epoch_end`` or a producer-specific kind) at tick ``t``."""
        t = self._ticks_array([t], "events")
        try:
            text = json.dumps(payload or {}, sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TraceWriteError(f"event {kind!r}: payload is not finite JSON ({exc})", code="WR010") from exc
        columns: dict[str, Any] = {
            "t": t,
            "kind": pa.DictionaryArray.from_arrays(np.zeros(1, dtype=np.int32), pa.array([str(kind)])),
            "payload": pa.array([text]),
        }
        if population is not None:
            columns["population"] = np.array([self.population_id(population)], dtype=np.uint16)
        if projection is not None:
            columns["projection"] = np.array([self.projection_id(projection)], dtype=np.uint16)
        self.recorded.events.add(str(kind))
        self._append("events", columns)

    def advance(self, tick: int) -> None:
        """Declare that the run has reached ``tick`` (the duration grows to at least this)."""
        self._max_tick = max(self._max_tick, int(tick))

    # -- column helpers ---------------------------------------------------------------------------------------------
    def _ticks_array(self, t: Any, table: str) -> np.ndarray:
        array = np.atleast_1d(np.asarray(t))
        if array.dtype.kind == "f":
            if not np.all(np.isfinite(array)) or np.any(array != np.rint(array)):
                raise TraceWriteError(f"{table}: t must be whole ticks; convert seconds with to_ticks()", code="WR014")
        elif array.dtype.kind not in "iu" and array.size:
            raise TraceWriteError(f"{table}: t must be integer ticks, got {array.dtype}", code="WR014")
        array = array.astype(np.int64, copy=False)
        if array.size:
            if array.min() < 0:
                raise TraceWriteError(f"{table}: negative tick {int(array.min())}", code="WR014")
            self._max_tick = max(self._max_tick, int(array.max()))
        return array

    @staticmethod
    def _index_array(values: Any, n: int, column: str, table: str) -> np.ndarray:
        array = np.broadcast_to(np.asarray(values), (n,))
        if array.dtype.kind == "f":
            if array.size and (not np.all(np.isfinite(array)) or np.any(array != np.rint(array))):
                raise TraceWriteError(f"{table}: {column} indices must be whole numbers", code="WR013")
        if array.size and array.min() < 0:
            raise TraceWriteError(f"{table}: negative {column} index {int(array.min())}", code="WR013")
        return array.astype(np.uint32)

    @staticmethod
    def _id_column(value: Any, n: int, lookup) -> np.ndarray:
        if isinstance(value, (str, int, np.integer)):
            return np.full(n, lookup(value), dtype=np.uint16)
        array = np.asarray(value)
        for id_ in np.unique(array):
            lookup(int(id_))
        return np.broadcast_to(array, (n,)).astype(np.uint16)

    def _check_neurons(self, pop: np.ndarray, neuron: np.ndarray, table: str) -> None:
        if not len(neuron):
            return
        for pid in np.unique(pop):
            size = self._population_sizes[int(pid)]
            largest = int(neuron[pop == pid].max()) if len(np.unique(pop)) > 1 else int(neuron.max())
            if largest >= size:
                raise TraceWriteError(f"{table}: neuron {largest} is beyond population {int(pid)} of size {size}", code="WR013")

    def _nullable_int(self, value: Any, n: int, type_: pa.DataType = pa.int32()) -> pa.Array:
        if value is None:
            return pa.nulls(n, type=type_)
        array = np.broadcast_to(np.asarray(value), (n,))
        if array.dtype == object:
            return pa.array(list(array), type=type_)
        return pa.array(array.astype(type_.to_pandas_dtype()), type=type_)

    def _nullable_ticks(self, value: Any, n: int) -> pa.Array:
        if value is None:
            return pa.nulls(n, type=pa.int64())
        return pa.array(self._ticks_array(np.broadcast_to(np.asarray(value), (n,)), "metrics"))

    # -- buffering and parts -------------------------------------------------------------------------------------------
    def _append(self, table: str, columns: dict[str, Any]) -> None:
        if self._closed:
            raise TraceWriteError("the writer is closed", code="WR006")
        schema = arrow_schema(table, optional=tuple(columns))
        # Copy numpy input: pa.array would keep a view, and a producer reusing its buffers would change buffered rows.
        arrays = [
            columns[f.name].cast(f.type) if isinstance(columns[f.name], pa.Array) else pa.array(np.array(columns[f.name], copy=True), type=f.type)
            for f in schema
        ]
        batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
        if batch.num_rows == 0:
            return
        self._buffers[table].append(batch)
        self._buffered_rows[table] += batch.num_rows
        if not self._holds and self._buffered_rows[table] >= self._part_rows[table]:
            self._flush_table(table)

    @contextlib.contextmanager
    def batch(self) -> Iterator[TraceWriter]:
        """Hold automatic part flushes while a producer writes one chunk of time in several calls.

        Rows of one chunk may come population by population, each starting back at the chunk's first tick; a part
        flushed in between would put later rows before earlier ones. Inside ``with writer.batch():`` parts are
        only written when the outermost block ends, so memory is bounded by one chunk.
        """
        self._holds += 1
        try:
            yield self
        finally:
            self._holds -= 1
        if not self._holds:
            for table in TABLES:
                if self._buffered_rows[table] >= self._part_rows[table]:
                    self._flush_table(table)

    def flush(self) -> None:
        """Write every buffered row as parts now (a crash after this loses nothing written so far)."""
        if any(self._buffers.values()):
            self._write_manifest()
        for table in TABLES:
            self._flush_table(table, update_manifest=False)

    def _flush_table(self, table: str, *, update_manifest: bool = True) -> bool:
        batches = self._buffers[table]
        if not batches:
            return False
        if len({b.schema for b in batches}) > 1:
            batches = self._unify(table, batches)
        data = pa.Table.from_batches(batches)
        sort_keys = table_spec(table)["sort"]
        if sort_keys:
            key = data.column(sort_keys[0])
            # Producers usually write in time order: sorting is only paid for when the rows are out of order.
            if data.num_rows > 1 and pc.any(pc.less(key.slice(1), key.slice(0, data.num_rows - 1))).as_py():
                data = data.take(pc.sort_indices(data, sort_keys=[(k, "ascending") for k in sort_keys]))
            first, last = int(data.column(sort_keys[0])[0].as_py()), int(data.column(sort_keys[0])[-1].as_py())
            previous = self._last_time.get(table)
            if previous is not None and first < previous:
                self._buffers[table], self._buffered_rows[table] = [], 0
                raise TraceWriteError(
                    f"{table}: rows at tick {first} arrive after a part that ended at tick {previous}; "
                    "write each table in time order (rows buffered together are sorted for you)",
                    code="WR004",
                )
            self._last_time[table] = last
        if update_manifest:
            # The manifest goes first, so a process killed between the two never leaves parts it does not cover.
            self._write_manifest()
        self._write_part(table, data)
        self._buffers[table], self._buffered_rows[table] = [], 0
        return True

    @staticmethod
    def _unify(table: str, batches: list[pa.RecordBatch]) -> list[pa.RecordBatch]:
        """Give every batch the optional columns any batch has: spike counts default to 1, the rest to null."""
        present = {name for batch in batches for name in batch.schema.names}
        schema = arrow_schema(table, optional=tuple(sorted(present)))
        unified = []
        for batch in batches:
            arrays = []
            for field in schema:
                if field.name in batch.schema.names:
                    arrays.append(batch.column(field.name))
                elif table == "spikes" and field.name == "count":
                    arrays.append(pa.array(np.ones(batch.num_rows, dtype=np.uint16)))
                else:
                    arrays.append(pa.nulls(batch.num_rows, type=field.type))
            unified.append(pa.RecordBatch.from_arrays(arrays, schema=schema))
        return unified

    def _write_part(self, table: str, data: pa.Table) -> None:
        folder = self.path / table
        final = folder / part_name(self._next_part[table])
        temporary = temporary_path(final)
        try:
            folder.mkdir(exist_ok=True)
            pq.write_table(data, temporary, row_group_size=1 << 20, **parquet_options(table, data.column_names))
            publish(temporary, final)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise TraceWriteError(
                f"cannot write {final}: {exc.strerror}; parts written before are intact", code="WR005", location=str(final)
            ) from exc
        self._next_part[table] += 1

    def _write_manifest(self) -> None:
        self._manifest["time"]["duration"] = self._max_tick
        recorded = self.recorded.to_manifest()
        if recorded:
            self._manifest["recorded"] = recorded
        try:
            write_json_atomically(self.path / "manifest.json", self._manifest)
        except OSError as exc:
            raise TraceWriteError(f"cannot write the manifest of {self.path}: {exc.strerror}", code="WR005") from exc

    # -- life cycle ------------------------------------------------------------------------------------------------------
    def close(self, *, complete: bool = True) -> None:
        """Write remaining rows and the final manifest; ``complete=False`` records an interrupted run."""
        if self._closed:
            return
        try:
            self.flush()
            self._manifest["complete"] = bool(complete)
            self._write_manifest()
        finally:
            self._closed = True
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
                self._lock_fd = None
                (self.path / LOCK_FILE).unlink(missing_ok=True)

    def __enter__(self) -> TraceWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        # Keep what was written when the run fails: flush it and leave the trace marked incomplete.
        self.close(complete=exc_type is None)

    def __del__(self):  # pragma: no cover - best effort if the caller forgot close()
        if not getattr(self, "_closed", True) and getattr(self, "_lock_fd", None) is not None:
            try:
                os.close(self._lock_fd)
            except OSError:
                pass


def existing_parts(path: str | os.PathLike, table: str) -> list[Path]:
    """Return the complete parts of ``table`` in a trace directory."""
    return list_parts(Path(path) / table)
