"""SONATA files built with h5py in each layout seen in the wild (the spec repository's own .h5 files are binary and
were not available offline; these mimic their layouts: current, legacy ``gids``, string ``sorting``, unit spellings,
frame reports with ``index_pointer`` or ``index_pointers``)."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

SORTING = h5py.enum_dtype({"none": 0, "by_id": 1, "by_time": 2}, basetype=np.int8)


def random_spikes(seed: int, n: int, neurons: int, *, dt_ms: float = 0.1, steps: int = 10_000):
    """Return (times in ms as a simulator computes i * dt, node ids), time-sorted."""
    rng = np.random.default_rng(seed)
    steps_taken = np.sort(rng.integers(0, steps, n))
    return steps_taken * dt_ms, rng.integers(0, neurons, n).astype(np.uint64)


def write_population(
    group: h5py.Group, times, ids, *, sorting="by_time", as_string=False, units="ms", ids_name="node_ids"
):
    """Write one population's datasets and attributes into ``group``."""
    if sorting is not None:
        if as_string:
            group.attrs["sorting"] = sorting
        else:
            group.attrs.create("sorting", {"none": 0, "by_id": 1, "by_time": 2}[sorting], dtype=SORTING)
    stamps = group.create_dataset("timestamps", data=np.asarray(times, dtype=np.float64))
    if units is not None:
        stamps.attrs["units"] = units
    group.create_dataset(ids_name, data=np.asarray(ids, dtype=np.uint64))


def current_file(path: Path, populations: dict[str, tuple], **options) -> Path:
    """Write /spikes/<pop>/{timestamps, node_ids} for each population, with spec attributes."""
    with h5py.File(path, "w") as h5:
        h5.attrs.create("magic", np.uint32(0x0A7A), dtype=np.uint32)
        h5.attrs.create("version", np.array([0, 1], dtype=np.uint32), dtype=np.uint32)
        for name, (times, ids) in populations.items():
            write_population(h5.create_group(f"spikes/{name}"), times, ids, **options)
    return path


def legacy_file(path: Path, times, ids, *, units="ms") -> Path:
    """Write the legacy /spikes/{gids, timestamps} layout (no population, no magic)."""
    with h5py.File(path, "w") as h5:
        spikes = h5.create_group("spikes")
        spikes.create_dataset("gids", data=np.asarray(ids, dtype=np.int64))
        stamps = spikes.create_dataset("timestamps", data=np.asarray(times, dtype=np.float64))
        if units is not None:
            stamps.attrs["units"] = units
    return path


def frame_report(
    path: Path,
    population: str,
    node_ids,
    data,
    *,
    start=0.0,
    stop=None,
    dt=0.1,
    elements=None,
    pointer_name="index_pointers",
    units="mV",
    variable=None,
) -> Path:
    """Write /report/<pop>/{data, mapping/...}; ``elements`` gives the element count per node (default 1)."""
    data = np.asarray(data, dtype=np.float32)
    elements = np.ones(len(node_ids), dtype=np.int64) if elements is None else np.asarray(elements)
    pointers = np.concatenate([[0], np.cumsum(elements)]).astype(np.uint64)
    with h5py.File(path, "w") as h5:
        h5.attrs.create("magic", np.uint32(0x0A7A), dtype=np.uint32)
        h5.attrs.create("version", np.array([0, 1], dtype=np.uint32), dtype=np.uint32)
        group = h5.create_group(f"report/{population}")
        values = group.create_dataset("data", data=data)
        if units is not None:
            values.attrs["units"] = units
        if variable is not None:
            values.attrs["variable_name"] = variable
        mapping = group.create_group("mapping")
        mapping.create_dataset("node_ids", data=np.asarray(node_ids, dtype=np.uint64))
        mapping.create_dataset(pointer_name, data=pointers)
        mapping.create_dataset("element_ids", data=np.concatenate([np.arange(k) for k in elements]).astype(np.uint32))
        stop = start + dt * data.shape[0] if stop is None else stop
        mapping.create_dataset("time", data=np.array([start, stop, dt])).attrs["units"] = "ms"
    return path


def bmtk_like_files(folder: Path, rng: np.random.Generator) -> tuple[Path, Path, dict]:
    """Write a spike file and a membrane report laid out as bmtk 1.2 writes them (checked against its writers):
    string ``sorting``, int64 node ids; float64 report data with ``units``/``variable`` attributes, ``index_pointer``,
    ``element_pos`` and a ``time`` dataset without units."""
    v1_ids, v1_times = rng.integers(0, 50, 400), np.round(rng.uniform(0, 1000, 400) / 0.1) * 0.1
    lgn_ids, lgn_times = rng.integers(0, 9, 60), np.round(rng.uniform(0, 1000, 60) / 0.1) * 0.1
    spikes = folder / "spikes.h5"
    with h5py.File(spikes, "w") as h5:
        h5.attrs["magic"] = np.uint32(0x0A7A)
        h5.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        for name, ids, times in (("lgn", lgn_ids, lgn_times), ("v1", v1_ids, v1_times)):
            order = np.argsort(times, kind="stable")
            group = h5.create_group(f"spikes/{name}")
            group.attrs["sorting"] = "by_time"
            group.create_dataset("node_ids", data=ids[order].astype(np.int64))
            group.create_dataset("timestamps", data=times[order]).attrs["units"] = "ms"
    values = -65.0 + rng.normal(0, 1, (1000, 4))
    report = folder / "membrane_potential.h5"
    with h5py.File(report, "w") as h5:
        h5.attrs["magic"] = np.uint32(0x0A7A)
        h5.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        data = h5.create_dataset("report/v1/data", data=values)
        data.attrs["units"], data.attrs["variable"] = "mV", "v"
        mapping = h5["report/v1"].create_group("mapping")
        mapping.create_dataset("element_ids", data=np.zeros(4, dtype=np.uint64))
        mapping.create_dataset("element_pos", data=np.full(4, 0.5))
        mapping.create_dataset("index_pointer", data=np.arange(5, dtype=np.uint64))
        mapping.create_dataset("node_ids", data=np.arange(4, dtype=np.uint64))
        mapping.create_dataset("time", data=np.array([0.0, 100.0, 0.1]))
    return spikes, report, {"v1": (v1_times, v1_ids), "lgn": (lgn_times, lgn_ids), "values": values}
