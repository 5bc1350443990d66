"""Sample presentation windows as the spike aggregates join them: clipped windows, time buckets, class lookup.

Giving each spike the class of the presentation it fell in is an interval join. The general form explodes windows
into fixed-width time buckets and joins spikes on the bucket (:func:`bucketed_windows`). When presentations do not
overlap and their edges share a common divisor, as in any simulator run, each bucket of that divisor lies in one
window or in none, and the class is a lookup in a dense table (:class:`ClassLookup`): an equi-join with no extra
candidate rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from snntrace.reader import Trace

# Largest class table a lookup builds (Int32 labels: 16 MB, a few times that while it is built).
MAX_LOOKUP_BUCKETS = 1 << 22


def run_end(trace: Trace) -> int:
    """Return the tick where the run ends (at least 1): windows are clipped to it."""
    return max(trace.duration_ticks, 1)


def sample_windows(trace: Trace) -> pl.LazyFrame:
    """Return ``t_start, t_end, label`` of every non-empty presentation, clipped to the run.

    A window reaching far past the run (invalid, but seen) would otherwise explode into billions of buckets.
    """
    end = run_end(trace)
    return trace.samples.select(pl.col("t_start").clip(0, end), pl.col("t_end").clip(0, end), "label").filter(
        pl.col("t_end") > pl.col("t_start")
    )


def bucketed_windows(trace: Trace) -> tuple[int, pl.LazyFrame]:
    """Return a bucket width near the median presentation length and the windows exploded into the buckets they
    touch (column ``bucket``), for a range join on ``t // width``."""
    lengths = sample_windows(trace).select((pl.col("t_end") - pl.col("t_start")).median()).collect()
    width = max(1, int(lengths.item() or 1)) if lengths.height else 1
    buckets = (
        sample_windows(trace)
        .with_columns(pl.int_ranges(pl.col("t_start") // width, (pl.col("t_end") - 1) // width + 1).alias("bucket"))
        .explode("bucket")
        .with_columns(pl.col("bucket").cast(pl.Int64))
    )
    return width, buckets


@dataclass(frozen=True)
class ClassLookup:
    """The class shown in each ``width``-tick bucket of the run (null where nothing labelled was shown)."""

    width: int
    labels: pl.Series  # one per bucket; the last one, past the run, is null
    end: int

    def label(self) -> pl.Expr:
        """Return the expression giving each spike row its class (``label``); spikes outside the run get null."""
        t = pl.col("t")
        past = self.labels.len() - 1
        return pl.lit(self.labels).gather(pl.when((t >= 0) & (t < self.end)).then(t // self.width).otherwise(past))


def class_lookup(trace: Trace) -> ClassLookup | None:
    """Return the lookup when labelled presentations are disjoint and their edges inside the run share a divisor
    that cuts the run into at most :data:`MAX_LOOKUP_BUCKETS` buckets; None otherwise (use the range join)."""
    end = run_end(trace)
    windows = sample_windows(trace).filter(pl.col("label").is_not_null()).sort("t_start").collect()
    if windows.height == 0:
        return None
    starts, stops = windows["t_start"].to_numpy(), windows["t_end"].to_numpy()
    if (starts[1:] < np.maximum.accumulate(stops)[:-1]).any():
        return None
    # A window ending at the run's end needs no aligned edge there: spikes from the end on look up the last bucket.
    edges = np.concatenate([starts, stops[stops < end]])
    width = int(np.gcd.reduce(edges)) or end  # 0 only for one window starting at 0 and ending with the run
    buckets = math.ceil(end / width) + 1
    if buckets > MAX_LOOKUP_BUCKETS:
        return None
    shown = (
        windows.lazy()
        .select(
            pl.int_ranges(pl.col("t_start") // width, (pl.col("t_end") + width - 1) // width).alias("bucket"), "label"
        )
        .explode("bucket")
        .select(pl.col("bucket").cast(pl.Int64), "label")
    )
    every = pl.LazyFrame({"bucket": np.arange(buckets, dtype=np.int64)})
    labels = every.join(shown, on="bucket", how="left", maintain_order="left").collect()["label"]
    return ClassLookup(width, labels, end)
