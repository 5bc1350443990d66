"""The numbers CI gates compare: Polars lazy queries over a trace's tables (see :mod:`snntrace.gates`)."""

from __future__ import annotations

from typing import Any

import polars as pl

from snntrace.gates import MetricUnavailable
from snntrace.reader import Trace


def compute(trace: Trace, metric: str, subject: str | None) -> tuple[Any, str]:
    """Return (value, detail) of ``metric`` for ``subject`` (a population or projection name, or None)."""
    return _COMPUTE[metric](trace, subject)


def _population(trace: Trace, name: str | None) -> dict[str, Any] | None:
    if name is None:
        return None
    for entry in trace.populations:
        if entry["name"] == name:
            return entry
    known = ", ".join(p["name"] for p in trace.populations)
    raise MetricUnavailable(f"no population {name!r} in this trace (populations: {known})")


def _projection(trace: Trace, name: str | None) -> dict[str, Any]:
    if name is None:
        raise MetricUnavailable("the trace declares no projection")
    for entry in trace.projections:
        if entry["name"] == name:
            return entry
    known = ", ".join(p["name"] for p in trace.projections) or "none"
    raise MetricUnavailable(f"no projection {name!r} in this trace (projections: {known})")


def _recorded_spikes(trace: Trace, population: dict[str, Any] | None) -> pl.LazyFrame:
    """Return spikes of one population (or of every population when None), refusing unrecorded ones."""
    recorded = set(trace.recorded.get("spikes", []))
    if population is None:
        if not recorded:
            raise MetricUnavailable("the trace recorded no spikes")
        return trace.spikes
    if population["id"] not in recorded:
        raise MetricUnavailable(f"spikes of {population['name']!r} were not recorded")
    return trace.spikes.filter(pl.col("population") == population["id"])


def _valid(trace: Trace, subject: None) -> tuple[bool, str]:
    import snntrace

    result = snntrace.validate(trace.path)
    errors = [f for f in result.findings if str(f.severity) == "error"]
    if result.ok:
        return True, f"valid ({len(result.findings)} warning(s))" if result.findings else "valid"
    shown = "; ".join(f"{f.code} {f.location}: {f.message}" for f in errors[:3])
    more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
    return False, f"invalid: {len(errors)} error(s): {shown}{more}"


def _complete(trace: Trace, subject: None) -> tuple[bool, str]:
    return trace.complete, "complete" if trace.complete else "the producer did not close the trace (interrupted run)"


def _silent_fraction(trace: Trace, subject: str | None) -> tuple[float, str]:
    population = _population(trace, subject)
    if population is None:
        raise MetricUnavailable("no population recorded spikes")
    size = int(population["size"])
    if size == 0:
        raise MetricUnavailable(f"population {population['name']!r} has no neurons")
    active = (
        _recorded_spikes(trace, population)
        .filter(pl.col("count") > 0)
        .select(pl.col("neuron").n_unique())
        .collect()
        .item()
    )
    silent = size - int(active)
    return silent / size, f"{silent} of {size} neurons never spiked"


def _spike_total(trace: Trace, population: dict[str, Any] | None) -> int:
    return int(_recorded_spikes(trace, population).select(pl.col("count").cast(pl.Int64).sum()).collect().item() or 0)


def _firing_rate(trace: Trace, subject: str | None) -> tuple[float, str]:
    population = _population(trace, subject)
    if population is None:
        raise MetricUnavailable("no population recorded spikes")
    if trace.duration <= 0 or int(population["size"]) == 0:
        raise MetricUnavailable("the run has no duration or the population no neurons")
    spikes = _spike_total(trace, population)
    return spikes / (
        int(population["size"]) * trace.duration
    ), f"{spikes} spikes from {population['size']} neurons in {trace.duration:g} s"


def _spike_count(trace: Trace, subject: str | None) -> tuple[float, str]:
    return float(_spike_total(trace, _population(trace, subject))), ""


def _per_sample(trace: Trace, subject: str | None) -> pl.DataFrame:
    """Return spikes per presented sample (one row per samples-table row, zero when silent)."""
    spikes = _recorded_spikes(trace, _population(trace, subject))
    if not trace.has_rows("samples"):
        raise MetricUnavailable("the trace holds no samples")
    windows = trace.samples.select("t_start", "t_end").with_row_index("sample").sort("t_start")
    counted = (
        spikes.select("t", pl.col("count").cast(pl.Int64))
        .sort("t")
        .join_asof(windows, left_on="t", right_on="t_start", strategy="backward")
        .filter(pl.col("t") < pl.col("t_end"))
        .group_by("sample")
        .agg(pl.col("count").sum().alias("spikes"))
    )
    return windows.join(counted, on="sample", how="left").select(pl.col("spikes").fill_null(0)).collect()


def _spikes_per_sample(trace: Trace, subject: str | None) -> tuple[float, str]:
    frame = _per_sample(trace, subject)
    return float(frame["spikes"].mean()), f"over {frame.height} samples"


def _max_spikes_per_sample(trace: Trace, subject: str | None) -> tuple[float, str]:
    frame = _per_sample(trace, subject)
    return float(frame["spikes"].max()), f"over {frame.height} samples"


def _last_metric(trace: Trace, name: str, condition: pl.Expr, what: str) -> tuple[float, str]:
    rows = (
        trace.metrics.filter((pl.col("name").cast(pl.String) == name) & condition)
        .select("t", "step", "value")
        .sort("t", "step", nulls_last=False)
        .collect()
    )
    if rows.height == 0:
        raise MetricUnavailable(f"the trace has no {name!r} metric{what}")
    last = rows.row(-1, named=True)
    where = f"t={last['t']}" if last["t"] is not None else f"step {last['step']}"
    return float(last["value"]), f"last of {rows.height} values, at {where}"


def _final_accuracy(trace: Trace, subject: None) -> tuple[float, str]:
    return _last_metric(trace, "accuracy", pl.col("population").is_null() & pl.col("projection").is_null(), "")


def _final_loss(trace: Trace, subject: None) -> tuple[float, str]:
    return _last_metric(trace, "loss", pl.col("population").is_null() & pl.col("projection").is_null(), "")


def _compression(trace: Trace, subject: str | None) -> tuple[float, str]:
    projection = _projection(trace, subject)
    return _last_metric(
        trace, "compression_rate", pl.col("projection") == projection["id"], f" for projection {projection['name']!r}"
    )


def _final(trace: Trace, subject: str | None) -> tuple[float, str]:
    return _last_metric(trace, str(subject), pl.col("population").is_null() & pl.col("projection").is_null(), "")


_COMPUTE = {
    "final": _final,
    "valid": _valid,
    "complete": _complete,
    "silent_fraction": _silent_fraction,
    "firing_rate": _firing_rate,
    "spike_count": _spike_count,
    "spikes_per_sample": _spikes_per_sample,
    "max_spikes_per_sample": _max_spikes_per_sample,
    "final_accuracy": _final_accuracy,
    "final_loss": _final_loss,
    "compression": _compression,
}
