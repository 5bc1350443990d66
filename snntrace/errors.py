"""Exceptions raised by snntrace; each carries a stable code documented in spec/SPEC.md."""

from __future__ import annotations


class SnntraceError(Exception):
    """Base of every snntrace error: a stable ``code``, a message and an optional location."""

    code = "E000"

    def __init__(self, message: str, *, code: str | None = None, location: str | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.location = location

    def __str__(self) -> str:
        where = f" at {self.location}" if self.location else ""
        return f"{self.code}{where}: {self.message}"


class TraceNotFoundError(SnntraceError, FileNotFoundError):
    """The path is not an snntrace trace directory."""

    code = "IO001"


class ManifestError(SnntraceError, ValueError):
    """manifest.json is missing, unreadable or does not follow the schema."""

    code = "MF001"


class TraceWriteError(SnntraceError, ValueError):
    """A writer was given data it cannot store, or the disk refused it."""

    code = "WR001"


class TraceLockedError(SnntraceError, RuntimeError):
    """Another writer holds the trace directory."""

    code = "WR002"


class TraceReadError(SnntraceError, ValueError):
    """A table part cannot be read."""

    code = "RD001"


class UsageError(SnntraceError, ValueError):
    """An argument or configuration value is not acceptable."""

    code = "US001"
