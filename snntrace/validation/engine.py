"""Run the registered checks over a trace directory, streaming every table part by record batches.

Memory stays bounded by one record batch per table (about a million rows), whatever the trace's size. A check
that raises becomes a ``CK001`` finding and is switched off for the rest of that table; it never aborts the run.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from snntrace._files import list_parts
from snntrace.errors import ManifestError
from snntrace.format import MANIFEST_FILE, TABLES, arrow_schema
from snntrace.reader import read_manifest
from snntrace.validation import checks_events, checks_ids, checks_layout, checks_manifest, checks_tables, checks_values
from snntrace.validation._context import Batch, Context, Part
from snntrace.validation._model import Finding, Location, Problem, Rule, Severity, ValidationResult
from snntrace.validation._registry import Check, collect
from snntrace.validation.checks_manifest import KNOWN_MAJOR

# The check modules, named explicitly: importing them only defines functions.
CHECK_MODULES = (checks_manifest, checks_layout, checks_tables, checks_ids, checks_values, checks_events)

# Findings the engine itself reports (not a check function).
MANIFEST_UNREADABLE = Rule("MF002", Severity.ERROR, "manifest.json is not a UTF-8 JSON object")
PART_UNREADABLE = Rule("TB001", Severity.ERROR, "a table part cannot be read as Parquet")
CHECK_CRASHED = Rule("CK001", Severity.ERROR, "a check failed with an internal error (a validator bug, reported as data)")
ENGINE_RULES = (MANIFEST_UNREADABLE, PART_UNREADABLE, CHECK_CRASHED)

BATCH_ROWS = 1 << 20
DEFAULT_MAX_PER_CODE = 50


def registered_checks() -> list[Check]:
    """Return every check the engine runs, in order."""
    return collect(CHECK_MODULES)


def rules() -> dict[str, Rule]:
    """Return every finding code the validator can report (engine rules and registered checks)."""
    table = {rule.code: rule for rule in ENGINE_RULES}
    for registered in registered_checks():
        table[registered.rule.code] = registered.rule
    return dict(sorted(table.items()))


def _finding(rule: Rule, problem: Problem, **where) -> Finding:
    location = Location(
        file=problem.file or where.get("file"),
        pointer=problem.pointer,
        table=problem.table or where.get("table"),
        part=problem.part or where.get("part"),
        row=problem.row if problem.row is None else int(problem.row) + where.get("offset", 0),
        column=problem.column,
    )
    return Finding(rule.code, rule.severity, problem.message, location)


def _crash(registered: Check, exc: BaseException, **where) -> Finding:
    message = f"check {registered.name} ({registered.rule.code}) failed: {type(exc).__name__}: {exc}; other checks ran"
    return Finding(CHECK_CRASHED.code, CHECK_CRASHED.severity, message, Location(file=where.get("file"), table=where.get("table"), part=where.get("part")))


def _run(registered: Check, args: tuple, **where) -> tuple[list[Finding], bool]:
    """Run one check call; return its findings and whether it crashed."""
    findings = []
    try:
        for problem in registered.function(*args) or ():
            findings.append(_finding(registered.rule, problem, **where))
    except Exception as exc:  # a buggy check must not hide the other findings
        findings.append(_crash(registered, exc, **where))
        return findings, True
    return findings, False


def _iter_all(root: Path) -> Iterator[Finding]:
    try:
        manifest = read_manifest(root)
    except ManifestError as exc:
        manifest = None
        yield Finding(MANIFEST_UNREADABLE.code, MANIFEST_UNREADABLE.severity, exc.message, Location(file=MANIFEST_FILE))
    ctx = Context(root, manifest)
    checks = registered_checks()
    for registered in (c for c in checks if c.scope == "trace"):
        yield from _run(registered, (ctx,))[0]
    if not ctx.usable or (ctx.version is not None and ctx.version[0] != KNOWN_MAJOR):
        return  # without a manifest of a known major version there is nothing to compare rows against
    for table in TABLES:
        yield from _iter_table(ctx, table, [c for c in checks if c.scope != "trace" and (c.tables is None or table in c.tables)])


def _iter_table(ctx: Context, table: str, checks: list[Check]) -> Iterator[Finding]:
    spec = arrow_schema(table)
    states: dict[int, dict] = {id(c): {} for c in checks}
    crashed: set[int] = set()
    for path in list_parts(ctx.root / table):
        where = {"file": f"{table}/{path.name}", "table": table, "part": path.name}
        try:
            parquet = pq.ParquetFile(path)
            schema = parquet.schema_arrow
        except Exception as exc:  # truncated, garbled or not Parquet at all
            yield Finding(PART_UNREADABLE.code, PART_UNREADABLE.severity, f"cannot read the Parquet footer: {exc}", Location(**where))
            continue
        part = Part(table, path, schema, parquet.metadata.num_rows)
        for registered in (c for c in checks if c.scope == "part" and id(c) not in crashed):
            findings, failed = _run(registered, (ctx, part), **where)
            crashed.update({id(registered)} if failed else set())
            yield from findings
        # Read only spec columns of the spec type: the part checks reported the others.
        columns = [f.name for f in spec if schema.get_field_index(f.name) >= 0 and schema.field(f.name).type == f.type]
        row_checks = [c for c in checks if c.scope == "rows"]
        offset = 0
        try:
            batches = parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False)
            for data in batches:
                for column in data.columns:
                    if pa.types.is_string(column.type) or pa.types.is_dictionary(column.type):
                        # pyarrow reads strings without checking them; invalid UTF-8 would crash checks and Polars.
                        column.validate(full=True)
                batch = Batch(part, offset, data)
                for registered in row_checks:
                    if id(registered) in crashed:
                        continue
                    findings, failed = _run(registered, (ctx, batch, states[id(registered)]), offset=offset, **where)
                    crashed.update({id(registered)} if failed else set())
                    yield from findings
                offset += data.num_rows
        except Exception as exc:  # a damaged page: the rows before it were checked
            yield Finding(
                PART_UNREADABLE.code,
                PART_UNREADABLE.severity,
                f"cannot read rows from row {offset} on: {type(exc).__name__}: {exc}",
                Location(row=offset, **where),
            )
        finally:
            parquet.close()


def iter_findings(path: str | os.PathLike, *, max_per_code: int | None = DEFAULT_MAX_PER_CODE) -> Iterator[Finding]:
    """Return an iterator over the findings of a trace, streaming its tables (at most ``max_per_code`` per code).

    Raises
    ------
    TraceNotFoundError
        ``path`` is not a directory holding ``manifest.json`` (raised at once, not on first iteration).
    """
    root = Path(path)
    _require_trace(root)
    return _limited(_iter_all(root), max_per_code, Counter())


def _limited(findings: Iterator[Finding], max_per_code: int | None, counts: Counter) -> Iterator[Finding]:
    for finding in findings:
        counts[finding.code] += 1
        if max_per_code is None or counts[finding.code] <= max_per_code:
            yield finding


def _require_trace(root: Path) -> None:
    try:
        read_manifest(root)  # raises TraceNotFoundError without a manifest
    except ManifestError:
        pass  # an unreadable manifest is a finding, not a reason to stop


def validate(path: str | os.PathLike, *, strict: bool = False, max_per_code: int | None = DEFAULT_MAX_PER_CODE) -> ValidationResult:
    """Validate a trace directory against the spec and return every finding.

    Parameters
    ----------
    path : str or Path
        The trace directory.
    strict : bool
        Count warnings as failures: ``result.ok`` is then true only without any finding.
    max_per_code : int or None
        Report at most this many findings of one code (the rest are counted in ``result.suppressed``).

    Raises
    ------
    TraceNotFoundError
        ``path`` is not a directory holding ``manifest.json``.
    """
    root = Path(path)
    _require_trace(root)
    counts: Counter[str] = Counter()
    kept = list(_limited(_iter_all(root), max_per_code, counts))
    suppressed = {code: n - max_per_code for code, n in counts.items() if max_per_code is not None and n > max_per_code}
    try:
        complete = read_manifest(root).get("complete") is True
    except ManifestError:
        complete = None
    return ValidationResult(str(root), kept, strict=strict, complete=complete, suppressed=suppressed)


__all__ = ["CHECK_MODULES", "ENGINE_RULES", "iter_findings", "registered_checks", "rules", "validate"]
