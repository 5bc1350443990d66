"""Layout checks: completeness, and files in the trace directory that the spec does not define."""

from __future__ import annotations

import os
from collections.abc import Iterator

from snntrace._files import list_parts, part_sequence
from snntrace.format import MANIFEST_FILE, TABLES, TMP_SUFFIX
from snntrace.validation._context import Context
from snntrace.validation._model import Problem, Severity
from snntrace.validation._registry import check

LOCK_FILE = ".lock"


def _temporary(name: str) -> bool:
    # Writers publish files by renaming ".NAME.tmp"; a crash may leave one behind, and readers ignore it.
    return name.startswith(".") and name.endswith(TMP_SUFFIX)


@check("TR001", Severity.WARNING, "the trace is incomplete: the producer did not close it after a finished run")
def trace_is_complete(ctx: Context) -> Iterator[Problem]:
    """Warn when ``complete`` is not true: the run was interrupted, and the tables end at the last complete part."""
    if ctx.usable and ctx.get("complete") is False:
        yield Problem("complete is false: the run did not finish; tables hold every part written before it stopped", pointer="/complete", file=MANIFEST_FILE)


@check("TR002", Severity.WARNING, "an entry in the trace directory is neither the manifest, a table folder nor a temporary")
def no_unknown_root_entries(ctx: Context) -> Iterator[Problem]:
    """Warn about files and folders a 1.x reader ignores (a newer minor version's table, or a stray file)."""
    for entry in sorted(os.scandir(ctx.root), key=lambda e: e.name):
        name = entry.name
        if name in (MANIFEST_FILE, LOCK_FILE) or _temporary(name):
            continue
        if name in TABLES and entry.is_dir(follow_symlinks=False):
            continue
        kind = "folder" if entry.is_dir() else "file"
        yield Problem(f"unknown {kind} {name!r} is ignored by readers (tables: {', '.join(TABLES)})", file=name)


@check("TR003", Severity.WARNING, "a table folder holds a file that is not a part")
def no_unknown_table_files(ctx: Context) -> Iterator[Problem]:
    """Warn about files in a table folder that are not ``part-NNNNNN.parquet`` (readers skip them)."""
    for table in TABLES:
        folder = ctx.root / table
        if not folder.is_dir():
            continue
        for entry in sorted(os.scandir(folder), key=lambda e: e.name):
            if _temporary(entry.name):
                continue
            if part_sequence(entry.name) is None or not entry.is_file(follow_symlinks=False):
                yield Problem(f"{entry.name!r} is not a part file (part-NNNNNN.parquet) and is ignored by readers", file=f"{table}/{entry.name}")


@check("TB008", Severity.WARNING, "part numbers of a table are not consecutive from 000000 (a part may be missing)")
def parts_are_numbered_consecutively(ctx: Context) -> Iterator[Problem]:
    """Warn about a gap in part numbers: writers number parts 0, 1, 2..., so a gap means a part was removed."""
    for table in TABLES:
        expected = 0
        for path in list_parts(ctx.root / table):
            sequence = part_sequence(path.name)
            if sequence != expected:
                missing = f"part {expected}" if sequence == expected + 1 else f"parts {expected}..{sequence - 1}"
                yield Problem(f"{missing} missing before {path.name}", file=f"{table}/{path.name}", table=table, part=path.name)
            expected = sequence + 1
