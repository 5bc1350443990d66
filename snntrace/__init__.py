"""snntrace: a trace format, producers and interactive reports for spiking neural network simulations.

``import snntrace`` loads the format, writer and reader only; validation, reports, the simulator and the adapters
load when first used.
"""

from __future__ import annotations

from typing import Any

from snntrace._version import SPEC_VERSION, __version__
from snntrace.errors import (
    ManifestError,
    SnntraceError,
    TraceLockedError,
    TraceNotFoundError,
    TraceReadError,
    TraceWriteError,
    UsageError,
)
from snntrace.model import Dataset, Population, Projection, Software
from snntrace.reader import Trace, open_trace, read_manifest
from snntrace.writer import TraceWriter


def validate(path: Any, **options: Any):
    """Validate a trace directory and return its findings (see :func:`snntrace.validation.validate`)."""
    from snntrace.validation import validate as _validate

    return _validate(path, **options)


def report(trace: Any, output: Any, **options: Any):
    """Write the interactive HTML report of a trace (see :func:`snntrace.reports.build_report`)."""
    from snntrace.reports import build_report

    return build_report(trace, output, **options)


__all__ = [
    "SPEC_VERSION",
    "Dataset",
    "ManifestError",
    "Population",
    "Projection",
    "SnntraceError",
    "Software",
    "Trace",
    "TraceLockedError",
    "TraceNotFoundError",
    "TraceReadError",
    "TraceWriteError",
    "TraceWriter",
    "UsageError",
    "__version__",
    "open_trace",
    "read_manifest",
    "report",
    "validate",
]
