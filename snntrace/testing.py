"""Helpers for simulator authors' own test suites: assert that a trace their code wrote follows the spec.

    from snntrace.testing import assert_valid_trace

    def test_my_simulator_writes_a_valid_trace(tmp_path):
        run_my_simulation(tmp_path / "run.trace")
        assert_valid_trace(tmp_path / "run.trace")
"""

from __future__ import annotations

import os


def assert_valid_trace(path: str | os.PathLike, *, allow_warnings: bool = True) -> None:
    """Assert that ``path`` is a valid trace; the AssertionError lists every finding with code and location.

    Parameters
    ----------
    path : str or Path
        The trace directory.
    allow_warnings : bool
        If false, warnings (an incomplete run, unknown files or columns...) fail the assertion too.
    """
    __tracebackhide__ = True  # pytest shows the assertion, not this helper's frames
    from snntrace.errors import SnntraceError
    from snntrace.validation import validate

    try:
        result = validate(path, strict=not allow_warnings)
    except SnntraceError as exc:
        raise AssertionError(f"{path} is not a readable trace: {exc}") from None
    if not result.ok:
        failing = result.findings if not allow_warnings else result.errors
        lines = "\n".join(f"  {finding}" for finding in failing)
        more = "".join(f"\n  ... and {n} more {code}" for code, n in result.suppressed.items())
        kind = "findings" if not allow_warnings else "errors"
        raise AssertionError(f"{path} is not a valid snntrace trace ({len(failing)} {kind}):\n{lines}{more}")


__all__ = ["assert_valid_trace"]
