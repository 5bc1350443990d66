"""Write a trace's spikes as a spec-exact SONATA spike file (and its regular state samples as frame reports)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from snntrace.adapters._sonata_common import MAGIC, SONATA_VERSION, SORTING_ENUM, SonataError, _h5py
from snntrace.adapters._sonata_time import choose_resolution


@dataclass(frozen=True)
class SonataExport:
    """The result of :func:`export_sonata`: spikes written per population and what SONATA could not hold."""

    path: Path
    spikes: dict[str, int]
    losses: list[str]
    reports: dict[str, Path] = field(default_factory=dict)


def _ms_times(ticks: np.ndarray, resolution: float) -> np.ndarray:
    """Return tick times in ms, computed as k / n when a ms holds a whole number n of ticks (exact decimals)."""
    per_ms = 1e-3 / resolution
    if per_ms >= 1 and abs(per_ms - round(per_ms)) < 1e-9 * per_ms:
        return ticks.astype(np.float64) / round(per_ms)
    return ticks.astype(np.float64) * (resolution * 1e3)


def _reimported_tick(ticks: np.ndarray, resolution: float) -> float:
    """Return the tick a reimport of these ticks written in ms would choose."""
    exponent = next((e for e in range(13) if abs(resolution * 10**e - 1) < 1e-12), None)
    if exponent is None:
        chosen = choose_resolution([(_ms_times(ticks, resolution), 3)])
        return chosen.seconds if chosen.exact else float("nan")
    # Powers of ten: the reimport drops the trailing decimal zeros every tick shares (never coarser than 1 ms).
    common = int(np.gcd.reduce(ticks.astype(np.int64))) if ticks.size else 0
    zeros = 0
    while common and common % 10 ** (zeros + 1) == 0 and exponent - zeros > 3:
        zeros += 1
    return 10.0 ** -max(3, exponent - zeros) if common else 10.0**-3


def _h5_name(name: str, losses: list[str]) -> str:
    safe = re.sub(r"[/.]", "_", name) if (name in (".", "..") or "/" in name) else name
    if safe != name:
        losses.append(f"population name {name!r} written as {safe!r} (HDF5 names cannot hold '/')")
    return safe


def export_sonata(
    trace: str | os.PathLike,
    output: str | os.PathLike,
    *,
    sorting: str = "by_time",
    reports: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> SonataExport:
    """Write the spikes of a trace as a SONATA spike file; return counts and what SONATA cannot hold.

    With ``reports`` (a directory), regularly sampled state variables are also written there as SONATA frame
    reports, one ``<variable>.h5`` per variable.
    """
    import polars as pl

    from snntrace.reader import open_trace

    h5py = _h5py()
    if sorting not in SORTING_ENUM:
        raise SonataError(f"sorting must be one of {', '.join(SORTING_ENUM)}, got {sorting!r}", code="SN006")
    output = Path(output)
    if output.exists() and not overwrite:
        raise SonataError(f"{output} exists; pass --force to replace it", code="SN006", location=str(output))
    opened = open_trace(trace)
    losses = _losses(opened, states_exported=reports is not None)
    recorded = set(opened.recorded.get("spikes", []))
    spikes = opened.spikes.select("t", "population", "neuron", "count").collect()
    present = set(spikes["population"].unique().to_list())
    repeated = bool(spikes.height) and int(spikes["count"].max() or 1) > 1
    if repeated:
        losses.append(
            "spike counts above 1 are written as repeated (time, node) pairs; a reimport has one row per spike"
        )
    counts: dict[str, int] = {}
    temporary = output.with_name(f".{output.name}.tmp")
    enum = h5py.enum_dtype(SORTING_ENUM, basetype=np.int8)
    try:
        with h5py.File(temporary, "w") as h5:
            h5.attrs.create("magic", np.uint32(MAGIC), dtype=np.uint32)
            h5.attrs.create("version", np.array(SONATA_VERSION, dtype=np.uint32), dtype=np.uint32)
            root = h5.create_group("spikes")
            for population in opened.populations:
                pid, pname = int(population["id"]), str(population["name"])
                if pid not in recorded and pid not in present:
                    continue
                keys = ["t", "neuron"] if sorting == "by_time" else ["neuron", "t"]
                rows = spikes.filter(pl.col("population") == pid)
                if sorting != "none":
                    rows = rows.sort(keys)
                ticks, nodes = rows["t"].to_numpy(), rows["neuron"].to_numpy().astype(np.uint64)
                if repeated:
                    repeats = rows["count"].to_numpy().astype(np.int64)
                    ticks, nodes = np.repeat(ticks, repeats), np.repeat(nodes, repeats)
                group = root.create_group(_h5_name(pname, losses))
                group.attrs.create("sorting", SORTING_ENUM[sorting], dtype=enum)
                stamps = group.create_dataset("timestamps", data=_ms_times(ticks, opened.resolution), dtype=np.float64)
                stamps.attrs["units"] = "ms"
                group.create_dataset("node_ids", data=nodes, dtype=np.uint64)
                counts[pname] = int(ticks.size)
                largest = int(nodes.max()) + 1 if nodes.size else 0
                if largest < int(population["size"]):
                    losses.append(
                        f"population {pname!r}: size {population['size']} (a reimport infers {largest} from node ids; pass --size {pname}={population['size']})"
                    )
        os.replace(temporary, output)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise SonataError(f"cannot write {output}: {exc}", code="SN006", location=str(output)) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    reimported = _reimported_tick(spikes["t"].to_numpy(), opened.resolution) if spikes.height else None
    if reimported is not None and reimported != opened.resolution:
        losses.append(
            f"time resolution {opened.resolution:g} s (SONATA stores float ms; a reimport infers {reimported:g} s)"
        )
    last_spike = int(spikes["t"].max()) if spikes.height else 0
    if opened.duration_ticks > last_spike:
        losses.append(
            f"run duration {opened.duration:g} s (a reimport ends at the last spike, {last_spike * opened.resolution:g} s)"
        )
    report_files: dict[str, Path] = {}
    if reports is not None:
        from snntrace.adapters._sonata_reports import export_frame_reports

        report_files, report_losses = export_frame_reports(opened, reports, overwrite=overwrite)
        losses += report_losses
    return SonataExport(output, counts, losses, report_files)


def _losses(trace, *, states_exported: bool) -> list[str]:
    """List what a trace holds beyond spikes (and states, when exported as frame reports) that SONATA cannot hold."""
    import polars as pl

    losses = []
    for table in ("states", "weights", "samples", "metrics", "events"):
        if table == "states" and states_exported:
            continue
        if trace.has_rows(table):
            rows = trace.table(table).select(pl.len()).collect().item()
            hint = " (pass --reports DIR to write them as SONATA frame reports)" if table == "states" else ""
            losses.append(f"{table} table ({rows} rows){hint}")
    if trace.projections:
        losses.append(f"{len(trace.projections)} projection declaration(s)")
    if trace.manifest.get("dataset"):
        losses.append("dataset description and class names")
    described = [p["name"] for p in trace.populations if any(k in p for k in ("role", "shape", "model"))]
    if described:
        losses.append("population roles, shapes and models of " + ", ".join(described))
    unrecorded = [p["name"] for p in trace.populations if p["id"] not in set(trace.recorded.get("spikes", []))]
    if unrecorded:
        losses.append("populations whose spikes were not recorded: " + ", ".join(unrecorded))
    losses.append("run name, simulator, producer, creation time and annotations")
    return losses
