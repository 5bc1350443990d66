"""Atomic file operations and part naming shared by the writer and the reader."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from snntrace.format import PART_PREFIX, PART_SUFFIX, TMP_SUFFIX

_PART_RE = re.compile(rf"^{re.escape(PART_PREFIX)}(\d{{6,}}){re.escape(PART_SUFFIX)}$")


def part_name(sequence: int) -> str:
    """Return the file name of part number ``sequence``."""
    return f"{PART_PREFIX}{sequence:06d}{PART_SUFFIX}"


def part_sequence(name: str) -> int | None:
    """Return the sequence number of a part file name, or None if ``name`` is not a part."""
    match = _PART_RE.match(name)
    return int(match.group(1)) if match else None


def list_parts(table_dir: Path) -> list[Path]:
    """Return the complete parts of a table folder in sequence order (temporary files are skipped).

    A table folder that is a symlink is not followed, nor is a part that is one: nothing outside the trace is read.
    """
    if table_dir.is_symlink() or not table_dir.is_dir():
        return []
    found = []
    for entry in os.scandir(table_dir):
        sequence = part_sequence(entry.name)
        if sequence is not None and entry.is_file(follow_symlinks=False):
            found.append((sequence, Path(entry.path)))
    return [path for _, path in sorted(found)]


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def temporary_path(final: Path) -> Path:
    """Return the hidden temporary name a file is written under before its atomic rename."""
    return final.with_name(f".{final.name}{TMP_SUFFIX}")


def publish(temporary: Path, final: Path) -> None:
    """Flush ``temporary`` to disk and rename it to ``final`` atomically."""
    fd = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, final)
    fsync_dir(final.parent)


def write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """Write ``document`` as pretty, key-sorted JSON under a temporary name, then rename it to ``path``."""
    temporary = temporary_path(path)
    temporary.write_text(json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    publish(temporary, path)
