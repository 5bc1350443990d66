"""Value checks: finite numbers, times within the run, spike counts, well-known metric ranges, sample windows."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from snntrace.validation._arrays import as_strings, first_true
from snntrace.validation._context import Batch, Context
from snntrace.validation._model import Problem, Severity
from snntrace.validation._registry import check

ERROR, WARNING = Severity.ERROR, Severity.WARNING
TIME_COLUMNS = {"spikes": ("t",), "states": ("t",), "weights": ("t",), "samples": ("t_start", "t_end"), "metrics": ("t",), "events": ("t",)}
FLOAT_COLUMNS = {"states": "value", "weights": "weight", "metrics": "value"}
# Well-known metrics with a bounded range (spec section "Well-known names"); others are unconstrained.
METRIC_RANGES = {
    "accuracy": (0.0, 1.0),
    "compression_rate": (0.0, 1.0),
    "remaining_synapses": (0.0, float("inf")),
    "firing_rate": (0.0, float("inf")),
    "weight_updates": (0.0, float("inf")),
    "mean_abs_dw": (0.0, float("inf")),
}


@check("VL001", ERROR, "a float value is NaN or infinite", scope="rows", tables=tuple(FLOAT_COLUMNS))
def values_are_finite(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require finite state values, weights and metric values."""
    column = FLOAT_COLUMNS[batch.table]
    array = batch.column(column)
    if array is None:
        return
    count, row = first_true(pc.invert(pc.is_finite(array)))
    if count:
        yield Problem(f"{count} non-finite value(s) in {column!r}; first: {array[row].as_py()}", row=row, column=column)


def _times(ctx: Context, batch: Batch, *, incomplete_late: bool) -> Iterator[Problem]:
    duration = ctx.duration
    for column in TIME_COLUMNS[batch.table]:
        array = batch.column(column)
        if array is None:
            continue
        if incomplete_late:
            if ctx.complete or duration is None:
                continue
            count, row = first_true(pc.greater(array, duration))
            if count:
                yield Problem(
                    f"{count} {column} value(s) after the manifest duration {duration}; first: {array[row].as_py()} "
                    "(the run was interrupted between writing a part and updating the manifest)",
                    row=row,
                    column=column,
                )
            continue
        late = pc.greater(array, duration) if ctx.complete and duration is not None else pc.less(array, 0)
        count, row = first_true(pc.or_(pc.less(array, 0), late))
        if count:
            within = f"[0, {duration}]" if ctx.complete and duration is not None else ">= 0"
            yield Problem(f"{count} {column} value(s) outside the run {within}; first: {array[row].as_py()}", row=row, column=column)


@check("VL002", ERROR, "a time is negative, or after the duration of a complete trace", scope="rows")
def times_within_run(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require 0 <= t <= time.duration (complete traces) and t >= 0 (all traces)."""
    yield from _times(ctx, batch, incomplete_late=False)


@check("VL003", WARNING, "a time is after the manifest duration of an incomplete trace", scope="rows")
def times_within_incomplete_run(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Warn (not fail) when an interrupted run's last part outlasts the duration its manifest recorded."""
    yield from _times(ctx, batch, incomplete_late=True)


@check("VL004", ERROR, "a spike count is 0", scope="rows", tables=("spikes",))
def spike_counts_positive(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require count >= 1 (a row is a spike; a neuron that did not fire has no row)."""
    array = batch.column("count")
    if array is not None:
        count, row = first_true(pc.equal(array, 0))
        if count:
            yield Problem(f"{count} row(s) with count 0", row=row, column="count")


@check("VL005", ERROR, "a well-known metric is outside its defined range", scope="rows", tables=("metrics",))
def well_known_metrics_in_range(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require accuracy and compression_rate in [0, 1], and counts and rates >= 0."""
    names, values = batch.column("name"), batch.column("value")
    if names is None or values is None:
        return
    names = as_strings(names)
    for name, (low, high) in METRIC_RANGES.items():
        is_name = pc.equal(names, name)
        outside = pc.and_(is_name, pc.or_(pc.less(values, low), pc.greater(values, high)))
        count, row = first_true(outside)
        if count:
            yield Problem(f"{count} {name} value(s) outside [{low}, {high}]; first: {values[row].as_py()}", row=row, column="value")


@check("SM001", ERROR, "a sample window ends before it starts", scope="rows", tables=("samples",))
def sample_windows_ordered(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require t_end >= t_start."""
    start, end = batch.column("t_start"), batch.column("t_end")
    if start is None or end is None:
        return
    count, row = first_true(pc.less(end, start))
    if count:
        yield Problem(f"{count} sample(s) with t_end < t_start; first: [{start[row].as_py()}, {end[row].as_py()})", row=row, column="t_end")


@check("SM002", ERROR, "a sample label or prediction is not an index into dataset.classes", scope="rows", tables=("samples",))
def labels_within_classes(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require 0 <= label, prediction < len(dataset.classes) when the manifest names the classes."""
    if ctx.classes is None:
        return
    n = len(ctx.classes)
    for column in ("label", "prediction"):
        array = batch.column(column)
        if array is None:
            continue
        count, row = first_true(pc.or_(pc.less(array, 0), pc.greater_equal(array, n)))
        if count:
            yield Problem(f"{count} {column}(s) outside 0..{n - 1} (dataset.classes has {n}); first: {array[row].as_py()}", row=row, column=column)


@check("SM003", WARNING, "samples carry labels but the manifest names no dataset classes", scope="rows", tables=("samples",))
def labels_have_classes(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Warn that labels cannot be named (reports show the bare index) without dataset.classes."""
    array = batch.column("label")
    if ctx.classes is not None or array is None or state.get("reported"):
        return
    count, row = first_true(pa.compute.is_valid(array))
    if count:
        state["reported"] = True
        yield Problem("samples have labels but manifest dataset.classes is missing", row=row, column="label")
