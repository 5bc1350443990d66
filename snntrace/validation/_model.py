"""Findings as data: severity, structured location, the finding itself and the result of a validation run."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


class Severity(str, enum.Enum):
    """How bad a finding is: an error makes a trace invalid, a warning does not (unless validation is strict)."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Location:
    """Where a finding is: a file of the trace, a JSON Pointer into the manifest, or a table part, row and column.

    ``file`` is relative to the trace directory (``manifest.json``, ``spikes/part-000002.parquet``); ``row`` counts
    from 0 within the part.
    """

    file: str | None = None
    pointer: str | None = None
    table: str | None = None
    part: str | None = None
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        if self.file is None and self.table is None:
            return "trace"
        text = self.file or self.table or ""
        if self.pointer is not None:
            text += f"#{self.pointer}"
        if self.row is not None:
            text += f" row {self.row}"
        if self.column is not None:
            text += f" column {self.column}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """Return the location as a JSON-ready dict (unset fields omitted)."""
        return {k: v for k, v in asdict(self).items() if v is not None}


@dataclass(frozen=True)
class Finding:
    """One problem found in a trace: a stable code, its severity, what is wrong and where."""

    code: str
    severity: Severity
    message: str
    location: Location = field(default_factory=Location)

    def __str__(self) -> str:
        return f"{self.location}: {self.code} {self.severity}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """Return the finding as a JSON-ready dict."""
        return {"code": self.code, "severity": str(self.severity), "message": self.message, "location": self.location.to_dict()}


@dataclass(frozen=True)
class Rule:
    """A finding code: its severity and a one-line summary (SPEC.md documents each)."""

    code: str
    severity: Severity
    summary: str


@dataclass(frozen=True)
class Problem:
    """What a check reports: a message and whatever part of the location only the check knows.

    The registry adds the code and severity; the engine adds the file, table and part.
    """

    message: str
    row: int | None = None
    column: str | None = None
    pointer: str | None = None
    file: str | None = None
    table: str | None = None
    part: str | None = None


@dataclass
class ValidationResult:
    """The findings of one validation run.

    ``ok`` is true when there is no error (no finding at all when ``strict``). ``suppressed`` counts findings of a
    code left out after the per-code limit, so a systematically broken 50M-row table does not print 50M lines.
    """

    path: str
    findings: list[Finding]
    strict: bool = False
    complete: bool | None = None
    suppressed: dict[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> list[Finding]:
        """Return the error findings."""
        return [f for f in self.findings if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        """Return the warning findings."""
        return [f for f in self.findings if f.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        """Return whether the trace is valid (strict: also free of warnings)."""
        return not self.findings if self.strict else not self.errors

    @property
    def codes(self) -> list[str]:
        """Return the sorted distinct codes found."""
        return sorted({f.code for f in self.findings})

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __len__(self) -> int:
        return len(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Return the result as a JSON-ready dict."""
        return {
            "trace": self.path,
            "ok": self.ok,
            "strict": self.strict,
            "complete": self.complete,
            "counts": {"error": len(self.errors), "warning": len(self.warnings)},
            "suppressed": dict(sorted(self.suppressed.items())),
            "findings": [f.to_dict() for f in self.findings],
        }
