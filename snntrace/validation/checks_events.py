"""Event payload checks, and the agreement between table rows and the manifest's ``recorded`` declarations."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from jsonschema import Draft202012Validator

from snntrace.format import event_payload_schema
from snntrace.validation._arrays import as_strings, distinct_strings
from snntrace.validation._context import Batch, Context, ints, strings
from snntrace.validation._model import Problem, Severity
from snntrace.validation._registry import check

ERROR, WARNING = Severity.ERROR, Severity.WARNING


@functools.cache
def _payload_validator(kind: str) -> Draft202012Validator | None:
    schema = event_payload_schema(kind)
    return None if schema is None else Draft202012Validator(schema)


def _payloads(batch: Batch):
    kinds, payloads = batch.column("kind"), batch.column("payload")
    if kinds is None or payloads is None:
        return
    for row, (kind, text) in enumerate(zip(as_strings(kinds).to_pylist(), payloads.to_pylist())):
        if text is None:
            continue
        try:
            payload = json.loads(text)
        except (ValueError, RecursionError) as exc:
            yield row, kind, None, f"payload is not JSON: {exc}"
            continue
        yield row, kind, payload, None if isinstance(payload, dict) else f"payload must be a JSON object, got {type(payload).__name__}"


@check("EV001", ERROR, "an event payload is not a JSON object", scope="rows", tables=("events",))
def payloads_are_json_objects(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require every payload to be a JSON object (``{}`` when the event has no data)."""
    for row, _kind, _payload, problem in _payloads(batch):
        if problem:
            yield Problem(problem, row=row, column="payload")


@check("EV002", ERROR, "an event payload does not follow the JSON Schema of its kind", scope="rows", tables=("events",))
def payloads_follow_kind_schema(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Validate payloads of well-known kinds (prune, reinforce, epoch_end) against spec/schemas/events/."""
    for row, kind, payload, problem in _payloads(batch):
        validator = _payload_validator(kind) if kind is not None else None
        if problem or validator is None:
            continue
        errors = sorted(validator.iter_errors(payload), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            where = "".join(f"/{p}" for p in errors[0].absolute_path) or "/"
            yield Problem(f"{kind} payload at {where}: {errors[0].message}", row=row, column="payload")


def _hashable(*values) -> bool:
    return all(isinstance(v, (int, str, type(None))) for v in values)


def _undeclared_ids(batch: Batch, column: str, declared: set, what: str, new) -> Iterator[tuple[str, int, str]]:
    values = batch.values(column)
    if values is None or not len(values):
        return
    for pid in np.unique(values).tolist():  # a handful of distinct ids, however many rows
        if pid not in declared and new(pid):
            yield f"{what} {pid}", int(batch.rows_of(column)[int(np.argmax(values == pid))]), column


def _undeclared(ctx: Context, batch: Batch, state: dict) -> Iterator[tuple[str, int, str]]:
    """Yield (what, row, column) for data the manifest's ``recorded`` does not declare (once per distinct value)."""
    recorded = ctx.recorded
    reported = state.setdefault("reported", set())
    table = batch.table

    def new(key) -> bool:
        if key in reported:
            return False
        reported.add(key)
        return True

    if table == "spikes":
        yield from _undeclared_ids(batch, "population", ints(recorded.get("spikes")), "spikes of population", new)
    elif table == "states":
        declared = {(e.get("population"), e.get("variable")) for e in ctx.recorded_list("states") if _hashable(e.get("population"), e.get("variable"))}
        population, variable = batch.column("population"), batch.column("variable")
        if population is None or variable is None:
            return
        pairs = pa.table({"p": population, "v": as_strings(variable)}).group_by(["p", "v"]).aggregate([])
        for pid, name in sorted(zip(pairs["p"].to_pylist(), pairs["v"].to_pylist()), key=str):
            if (pid, name) not in declared and new((pid, name)):
                yield f"state variable {name!r} of population {pid}", None, "variable"
    elif table == "weights":
        declared = {e.get("projection") for e in ctx.recorded_list("weights") if _hashable(e.get("projection"))}
        yield from _undeclared_ids(batch, "projection", declared, "weights of projection", new)
    elif table == "samples":
        if recorded.get("samples") is not True and batch.num_rows and new("samples"):
            yield "samples (recorded.samples is not true)", 0, None
    elif table in ("metrics", "events"):
        column, key = ("name", "metrics") if table == "metrics" else ("kind", "events")
        array = batch.column(column)
        declared = strings(recorded.get(key))
        for name in sorted(distinct_strings(array) - declared if array is not None else ()):
            if new(name):
                row = int(pc.index(as_strings(array), name).as_py())
                yield f"{key[:-1]} {name!r}", row, column


def _message(what: str, ctx: Context) -> str:
    return f"{what} present but not declared in manifest 'recorded', so readers would treat it as not recorded"


@check("RC001", ERROR, "a complete trace holds data its manifest does not declare as recorded", scope="rows")
def data_declared_recorded(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Require every population, projection, state variable, metric and event kind with rows to be in ``recorded``."""
    if ctx.complete:
        for what, row, column in _undeclared(ctx, batch, state):
            yield Problem(_message(what, ctx), row=row, column=column)


@check("RC002", WARNING, "an incomplete trace holds data its manifest does not (yet) declare as recorded", scope="rows")
def data_declared_recorded_incomplete(ctx: Context, batch: Batch, state: dict) -> Iterator[Problem]:
    """Warn only: a writer killed between publishing a part and rewriting the manifest leaves this state."""
    if not ctx.complete:
        for what, row, column in _undeclared(ctx, batch, state):
            yield Problem(_message(what, ctx), row=row, column=column)
