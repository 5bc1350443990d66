"""Shared pieces of the SONATA adapter: spec constants, the error class and the lazy h5py import."""

from __future__ import annotations

from snntrace.errors import SnntraceError

SORTING_ENUM = {"none": 0, "by_id": 1, "by_time": 2}
# Spellings seen in other tools (bmtk, Brion) for the spec's sorting values.
SORTING_SYNONYMS = {
    "none": "none",
    "na": "none",
    "unknown": "none",
    "by_id": "by_id",
    "id": "by_id",
    "by_gid": "by_id",
    "gid": "by_id",
    "node_id": "by_id",
    "by_node_id": "by_id",
    "by_time": "by_time",
    "time": "by_time",
}
# Time unit spelling -> power of ten below one second.
TIME_UNITS = {
    "s": 0,
    "sec": 0,
    "second": 0,
    "seconds": 0,
    "ms": 3,
    "msec": 3,
    "millisecond": 3,
    "milliseconds": 3,
    "us": 6,
    "usec": 6,
    "µs": 6,
    "microsecond": 6,
    "microseconds": 6,
}
# Report value unit -> (SI unit, factor).
VALUE_UNITS = {
    "mv": ("V", 1e-3),
    "v": ("V", 1.0),
    "uv": ("V", 1e-6),
    "na": ("A", 1e-9),
    "pa": ("A", 1e-12),
    "a": ("A", 1.0),
    "mm": ("mol/m^3", 1.0),
}
MAGIC = 0x0A7A
SONATA_VERSION = (0, 1)


class SonataError(SnntraceError, ValueError):
    """A SONATA file cannot be read or written."""

    code = "SN001"


def _h5py():
    try:
        import h5py
    except ImportError as exc:  # pragma: no cover - h5py is installed in the test environment
        raise SonataError(
            "reading and writing SONATA needs h5py: pip install 'snntrace[sonata]'", code="SN000"
        ) from exc
    return h5py
