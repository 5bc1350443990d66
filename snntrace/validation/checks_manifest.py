"""Manifest checks: JSON Schema, spec version, id uniqueness and references between manifest entries."""

from __future__ import annotations

import datetime as _dt
import functools
import math
from collections.abc import Iterator

from jsonschema import Draft202012Validator, FormatChecker

from snntrace._version import SPEC_VERSION
from snntrace.format import MANIFEST_FILE, manifest_schema
from snntrace.validation._context import Context
from snntrace.validation._model import Problem, Severity
from snntrace.validation._registry import check

ERROR, WARNING = Severity.ERROR, Severity.WARNING
KNOWN_MAJOR = int(SPEC_VERSION.split(".")[0])


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _problem(message: str, *path) -> Problem:
    return Problem(message, pointer=_pointer(path), file=MANIFEST_FILE)


def _rfc3339(value: object) -> bool:
    # jsonschema checks "date-time" only with an optional package; RFC 3339 needs a date, a time and an offset.
    if not isinstance(value, str):
        return True  # the "type" keyword reports it
    if "T" not in value.upper():
        return False
    try:
        parsed = _dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


@functools.cache
def _validator() -> Draft202012Validator:
    checker = FormatChecker(formats=())
    checker.checks("date-time")(_rfc3339)
    return Draft202012Validator(manifest_schema(), format_checker=checker)


def _schema_errors(ctx: Context):
    if not ctx.usable:
        return []
    return sorted(_validator().iter_errors(ctx.manifest), key=lambda e: (list(map(str, e.absolute_path)), e.validator))


def _version_error(error) -> bool:
    return list(error.absolute_path)[:1] == ["snntrace"]


def _unknown_key_error(ctx: Context, error) -> bool:
    # A newer 1.x minor may add optional keys anywhere: this reader reports them as warnings (MF006), not errors.
    return ctx.newer_minor and error.validator == "additionalProperties"


@check("MF003", ERROR, "manifest.json does not follow the manifest JSON Schema")
def manifest_follows_schema(ctx: Context) -> Iterator[Problem]:
    """Report every schema violation with the JSON Pointer of the offending value."""
    if ctx.version is not None and ctx.version[0] != KNOWN_MAJOR:
        return  # MF004: a different major version follows different rules
    for error in _schema_errors(ctx):
        if _version_error(error) or _unknown_key_error(ctx, error):
            continue
        yield _problem(error.message, *error.absolute_path)


@check("MF004", ERROR, "the spec version is missing, malformed or of an unsupported major version")
def spec_version_is_supported(ctx: Context) -> Iterator[Problem]:
    """Require snntrace = "1.MINOR"; a 2.x trace cannot be validated by a 1.x reader."""
    if not ctx.usable:
        return
    value = ctx.get("snntrace")
    if ctx.version is None:
        yield _problem(f"'snntrace' must be the spec version as \"MAJOR.MINOR\" (this reader: {SPEC_VERSION}), got {value!r}", "snntrace")
    elif ctx.version[0] != KNOWN_MAJOR:
        yield _problem(f"trace follows spec {value}; this reader supports {KNOWN_MAJOR}.x only, so no other check ran", "snntrace")


@check("MF005", WARNING, "the trace follows a newer 1.x minor version than this reader")
def spec_minor_is_known(ctx: Context) -> Iterator[Problem]:
    """Warn that fields added by a newer minor version are reported as warnings and otherwise ignored."""
    if ctx.newer_minor:
        yield _problem(f"trace follows spec {ctx.get('snntrace')}, newer than this reader's {SPEC_VERSION}; unknown fields are ignored", "snntrace")


@check("MF006", WARNING, "a manifest key unknown to this reader, in a trace of a newer 1.x minor version")
def unknown_keys_of_newer_minor(ctx: Context) -> Iterator[Problem]:
    """Report keys a newer minor version added, which this reader ignores."""
    if not ctx.newer_minor:
        return
    for error in _schema_errors(ctx):
        if _unknown_key_error(ctx, error):
            known = set(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - known):
                yield _problem(f"unknown key {key!r} (ignored)", *error.absolute_path, key)


def _duplicates(ctx: Context, key: str, field: str):
    seen: dict[object, int] = {}
    for index, entry in enumerate(ctx.get(key) or []):
        if not isinstance(entry, dict) or field not in entry:
            continue
        value = entry[field]
        if isinstance(value, (dict, list)):
            continue
        if value in seen:
            yield index, value, seen[value]
        else:
            seen[value] = index


@check("MF007", ERROR, "two populations share an id or a name")
def population_ids_are_unique(ctx: Context) -> Iterator[Problem]:
    """Require unique population ids and names, so rows refer to one population."""
    if not isinstance(ctx.get("populations"), list):
        return
    for field in ("id", "name"):
        for index, value, first in _duplicates(ctx, "populations", field):
            yield _problem(f"population {field} {value!r} is already used by populations[{first}]", "populations", index, field)


@check("MF008", ERROR, "two projections share an id or a name")
def projection_ids_are_unique(ctx: Context) -> Iterator[Problem]:
    """Require unique projection ids and names."""
    if not isinstance(ctx.get("projections"), list):
        return
    for field in ("id", "name"):
        for index, value, first in _duplicates(ctx, "projections", field):
            yield _problem(f"projection {field} {value!r} is already used by projections[{first}]", "projections", index, field)


@check("MF009", ERROR, "a projection's pre or post is not a declared population id")
def projection_ends_exist(ctx: Context) -> Iterator[Problem]:
    """Require both ends of every projection to be declared populations."""
    projections = ctx.get("projections")
    if not isinstance(projections, list):
        return
    known = ctx.population_sizes
    for index, entry in enumerate(projections):
        if not isinstance(entry, dict):
            continue
        for end in ("pre", "post"):
            value = entry.get(end)
            if isinstance(value, int) and not isinstance(value, bool) and value not in known:
                ids = ", ".join(map(str, sorted(known))) or "none"
                yield _problem(f"projection {entry.get('name')!r}: {end} {value} is not a population id (declared: {ids})", "projections", index, end)


@check("MF010", ERROR, "a population's shape does not multiply to its size")
def population_shape_matches_size(ctx: Context) -> Iterator[Problem]:
    """Require prod(shape) == size when a shape is given."""
    populations = ctx.get("populations")
    if not isinstance(populations, list):
        return
    for index, entry in enumerate(populations):
        if not isinstance(entry, dict):
            continue
        shape, size = entry.get("shape"), entry.get("size")
        if isinstance(shape, list) and shape and all(isinstance(s, int) for s in shape) and isinstance(size, int):
            if math.prod(shape) != size:
                yield _problem(f"population {entry.get('name')!r}: shape {shape} holds {math.prod(shape)} neurons, size is {size}", "populations", index, "shape")


@check("MF011", ERROR, "'recorded' names a population or projection that is not declared, or a neuron beyond its size")
def recorded_refers_to_declared_entries(ctx: Context) -> Iterator[Problem]:
    """Require every id in ``recorded`` to be declared (and recorded state neurons within the population)."""
    recorded = ctx.recorded
    sizes, projections = ctx.population_sizes, ctx.projection_ends
    spikes = recorded.get("spikes")
    if isinstance(spikes, list):
        for index, pid in enumerate(spikes):
            if isinstance(pid, int) and not isinstance(pid, bool) and pid not in sizes:
                yield _problem(f"recorded spikes of population {pid}, which is not declared", "recorded", "spikes", index)
    states = recorded.get("states") if isinstance(recorded.get("states"), list) else []
    for index, entry in enumerate(states):
        if not isinstance(entry, dict) or not isinstance(entry.get("population"), int) or isinstance(entry.get("population"), bool):
            continue
        pid = entry["population"]
        if pid not in sizes:
            yield _problem(f"recorded states of population {pid}, which is not declared", "recorded", "states", index, "population")
            continue
        neurons = entry.get("neurons")
        if isinstance(neurons, list):
            beyond = [n for n in neurons if isinstance(n, int) and sizes[pid] is not None and n >= sizes[pid]]
            if beyond:
                yield _problem(f"recorded neuron {beyond[0]} is beyond population {pid} of size {sizes[pid]}", "recorded", "states", index, "neurons")
    weights = recorded.get("weights") if isinstance(recorded.get("weights"), list) else []
    for index, entry in enumerate(weights):
        if isinstance(entry, dict) and isinstance(entry.get("projection"), int) and entry["projection"] not in projections:
            yield _problem(f"recorded weights of projection {entry['projection']}, which is not declared", "recorded", "weights", index, "projection")
