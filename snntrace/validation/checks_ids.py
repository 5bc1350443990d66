"""Id checks: rows refer to declared populations and projections, and to neurons within their sizes."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from snntrace.validation._context import Batch, Context
from snntrace.validation._model import Problem, Severity
from snntrace.validation._registry import check

ERROR = Severity.ERROR
_MAX_ID = 1 << 16  # ids are uint16


def _lookup(mapping: dict[int, int | None]) -> np.ndarray:
    """Return an array indexed by id holding the mapped value, -1 where the id is unknown or the value missing."""
    table = np.full(_MAX_ID, -1, dtype=np.int64)
    for key, value in mapping.items():
        if 0 <= key < _MAX_ID and value is not None:
            table[key] = value
    return table


def _unknown(batch: Batch, column: str, known: dict) -> Iterator[Problem]:
    values = batch.values(column)
    if values is None or not len(values):
        return
    declared = np.zeros(_MAX_ID, dtype=bool)
    declared[[k for k in known if 0 <= k < _MAX_ID]] = True
    bad = np.flatnonzero(~declared[values])  # ids are uint16: a lookup table beats a set test per row
    if len(bad):
        ids = sorted(set(int(v) for v in np.unique(values[bad])))
        declared = ", ".join(map(str, sorted(known))) or "none"
        yield Problem(
            f"{len(bad)} row(s) refer to undeclared {column} id(s) {ids[:10]} (declared: {declared})",
            row=int(batch.rows_of(column)[bad[0]]),
            column=column,
        )


@check("ID001", ERROR, "a row refers to a population id the manifest does not declare", scope="rows", tables=("spikes", "states", "metrics", "events"))
def population_ids_declared(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require every population id in rows to be a manifest population."""
    yield from _unknown(batch, "population", ctx.population_sizes)


@check("ID002", ERROR, "a neuron index is not below its population's size", scope="rows", tables=("spikes", "states"))
def neurons_within_population(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require 0 <= neuron < size of the row's population."""
    population, neuron = batch.values("population"), batch.values("neuron")
    if population is None or neuron is None or len(population) != len(neuron) or not len(neuron):
        return
    sizes = _lookup(ctx.population_sizes)[population]
    bad = np.flatnonzero((sizes >= 0) & (neuron >= sizes))
    if len(bad):
        first = bad[0]
        yield Problem(
            f"{len(bad)} row(s) have a neuron beyond its population; first: neuron {neuron[first]} of population "
            f"{population[first]} (size {sizes[first]})",
            row=int(first),
            column="neuron",
        )


@check("ID003", ERROR, "a row refers to a projection id the manifest does not declare", scope="rows", tables=("weights", "metrics", "events"))
def projection_ids_declared(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require every projection id in rows to be a manifest projection."""
    yield from _unknown(batch, "projection", ctx.projection_ends)


@check("ID004", ERROR, "a synapse's pre or post index is not below the size of the projection's end population", scope="rows", tables=("weights",))
def synapses_within_projection_ends(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require pre < size(pre population) and post < size(post population) of the row's projection."""
    projection = batch.values("projection")
    if projection is None or not len(projection):
        return
    sizes = ctx.population_sizes
    for end, position in (("pre", 0), ("post", 1)):
        index = batch.values(end)
        if index is None or len(index) != len(projection):
            continue
        limit = _lookup({p: sizes.get(ends[position]) for p, ends in ctx.projection_ends.items()})[projection]
        bad = np.flatnonzero((limit >= 0) & (index >= limit))
        if len(bad):
            first = bad[0]
            yield Problem(
                f"{len(bad)} row(s) have {end} beyond the {end} population of their projection; first: {end} "
                f"{index[first]} in projection {projection[first]} ({end} population size {limit[first]})",
                row=int(first),
                column=end,
            )
