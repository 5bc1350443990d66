"""Write a trace's state samples as SONATA frame reports: one file per variable, ``/report/<population>`` inside.

A frame report holds one value per node per frame on a regular time grid, so only (population, variable) pairs
sampled at evenly spaced ticks for every recorded neuron are written; the others are listed as not exported.
Values are stored as float32, the type the spec gives ``data``; any change that causes is reported.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from snntrace.adapters._sonata_common import MAGIC, SONATA_VERSION, SonataError, _h5py


def _ms(ticks: np.ndarray, resolution: float) -> np.ndarray:
    per_ms = 1e-3 / resolution
    if per_ms >= 1 and abs(per_ms - round(per_ms)) < 1e-9 * per_ms:
        return np.asarray(ticks, dtype=np.float64) / round(per_ms)
    return np.asarray(ticks, dtype=np.float64) * (resolution * 1e3)


def _grid(rows, declared_interval: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray] | str:
    """Return (frame ticks, node ids, n_frames x n_nodes values) or why the samples are not a regular grid."""
    t, neuron, value = rows["t"].to_numpy(), rows["neuron"].to_numpy(), rows["value"].to_numpy()
    times, nodes = np.unique(t), np.unique(neuron)
    if len(t) != len(times) * len(nodes):
        return "not every recorded neuron is sampled at every sample time"
    steps = np.diff(times)
    if len(steps) and np.any(steps != steps[0]):
        return "sample times are not evenly spaced"
    grid = np.full((len(times), len(nodes)), np.nan)
    grid[np.searchsorted(times, t), np.searchsorted(nodes, neuron)] = value
    if np.isnan(grid).any() and not np.isnan(value).any():
        return "a neuron is sampled twice at one time"
    return times, nodes, grid


def export_frame_reports(
    trace, directory: str | os.PathLike, *, overwrite: bool = False
) -> tuple[dict[str, Path], list[str]]:
    """Write each regularly sampled state variable as ``DIRECTORY/<variable>.h5``; return files and what was left out."""
    import polars as pl

    h5py = _h5py()
    directory = Path(directory)
    losses: list[str] = []
    files: dict[str, Path] = {}
    if not trace.has_rows("states"):
        return files, losses
    declared = {(s["population"], s["variable"]): s for s in trace.recorded.get("states", [])}
    states = trace.states.with_columns(pl.col("variable").cast(pl.String)).collect()
    directory.mkdir(parents=True, exist_ok=True)
    for variable in sorted(states["variable"].unique().to_list()):
        path = directory / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', variable)}.h5"
        if path.exists() and not overwrite:
            raise SonataError(f"{path} exists; pass --force to replace it", code="SN006", location=str(path))
        of_variable = states.filter(pl.col("variable") == variable)
        temporary = path.with_name(f".{path.name}.tmp")
        written = []
        try:
            with h5py.File(temporary, "w") as h5:
                h5.attrs.create("magic", np.uint32(MAGIC), dtype=np.uint32)
                h5.attrs.create("version", np.array(SONATA_VERSION, dtype=np.uint32), dtype=np.uint32)
                for population in trace.populations:
                    rows = of_variable.filter(pl.col("population") == population["id"]).sort("t", "neuron")
                    if rows.height == 0:
                        continue
                    entry = declared.get((population["id"], variable), {})
                    grid = _grid(rows, entry.get("interval"))
                    where = f"states {variable!r} of {population['name']!r}"
                    if isinstance(grid, str):
                        losses.append(f"{where}: {grid}; not exported")
                        continue
                    _write_population(h5, population["name"], variable, entry.get("unit"), *grid, trace, losses, where)
                    written.append(population["name"])
            if written:
                os.replace(temporary, path)
                files[variable] = path
            else:
                temporary.unlink(missing_ok=True)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise SonataError(f"cannot write {path}: {exc}", code="SN006", location=str(path)) from exc
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
    return files, losses


def _write_population(h5, name, variable, unit, times, nodes, grid, trace, losses, where) -> None:
    stored = grid.astype(np.float32)
    changed = stored.astype(np.float64) != grid
    if changed.any():
        error = float(np.max(np.abs(stored.astype(np.float64) - grid)))
        losses.append(f"{where}: values stored as float32, as the spec types frame data (largest change {error:.3g})")
    group = h5.create_group(f"report/{name.replace('/', '_')}")
    data = group.create_dataset("data", data=stored, dtype=np.float32, chunks=True)
    if unit is not None:
        data.attrs["units"] = unit
    data.attrs["variable_name"] = variable
    mapping = group.create_group("mapping")
    ids = mapping.create_dataset("node_ids", data=nodes.astype(np.uint64), dtype=np.uint64)
    ids.attrs.create("sorted", np.int8(1), dtype=np.int8)
    mapping.create_dataset("index_pointers", data=np.arange(len(nodes) + 1, dtype=np.uint64), dtype=np.uint64)
    # One element per node: its soma, section 0 in SONATA's section numbering.
    mapping.create_dataset("element_ids", data=np.zeros(len(nodes), dtype=np.uint32), dtype=np.uint32)
    step = int(times[1] - times[0]) if len(times) > 1 else 1
    start, dt = _ms(np.array([times[0], step]), trace.resolution)
    time = mapping.create_dataset("time", data=np.array([start, start + dt * len(times), dt]), dtype=np.float64)
    time.attrs["units"] = "ms"
