"""Shared fixtures: small traces written through the public writer, and the browser."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from snntrace.synthetic import write_synthetic_trace

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def synthetic_trace(tmp_path_factory) -> Path:
    """A small complete trace with every table filled (do not modify it; copy it first)."""
    return write_synthetic_trace(tmp_path_factory.mktemp("synthetic") / "run.trace", spikes=20_000, samples=50)


@pytest.fixture
def trace_copy(synthetic_trace, tmp_path) -> Path:
    """A private copy of the synthetic trace that a test may change."""
    return Path(shutil.copytree(synthetic_trace, tmp_path / "copy.trace"))


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's Chromium, which `python3 dev.py test` installs; tests needing it fail loudly without it in CI."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is not installed: run `python3 dev.py test`, which installs it")
    return CHROMIUM
