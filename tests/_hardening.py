"""Shared pieces of the hardening tests: the surfaces a hostile trace is fed to, the verdict on each, the fuzz budget.

A surface either succeeds or fails with a coded error (an :class:`~snntrace.errors.SnntraceError`, or findings for
``validate``); anything else -- a traceback, a hang, runaway memory -- is a *crash* and fails the test.

Budget: the CI profile keeps every fuzz test to a few seconds. ``SNNTRACE_FUZZ=long`` (optionally with
``SNNTRACE_FUZZ_EXAMPLES=N``) runs the long campaign outside CI, see docs/robustness.md.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import threading
import traceback
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from click.testing import CliRunner
from hypothesis import HealthCheck, settings

import snntrace
from snntrace.cli import cli
from snntrace.errors import SnntraceError
from snntrace.format import TABLES
from snntrace.model import Dataset, Population, Projection
from snntrace.writer import TraceWriter

LONG = os.environ.get("SNNTRACE_FUZZ", "") == "long"
SURFACE_SECONDS = 120 if LONG else 60  # one surface call on a tiny trace takes well under a second; a hang does not
MEMORY_GROWTH_BYTES = 1 << 30  # enormous declared sizes must not be allocated: peak RSS may not grow by a GiB

settings.register_profile(
    "hardening-ci",
    deadline=None,
    derandomize=True,  # the same examples every CI run: a red CI is reproducible
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
    database=None,
)
settings.register_profile(
    "hardening-long",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large],
)


def fuzz_settings(ci_examples: int) -> settings:
    """Return the hypothesis settings of one fuzz test: ``ci_examples`` in CI, the long budget in a campaign."""
    if LONG:
        return settings(
            settings.get_profile("hardening-long"), max_examples=int(os.environ.get("SNNTRACE_FUZZ_EXAMPLES", "2000"))
        )
    return settings(settings.get_profile("hardening-ci"), max_examples=ci_examples)


# -- tally: counted per test session and written to SNNTRACE_FUZZ_TALLY (the figures of docs/robustness.md) ---------
TALLY: Counter[str] = Counter()


def _dump_tally() -> None:
    target = os.environ.get("SNNTRACE_FUZZ_TALLY")
    if target and TALLY:
        previous = json.loads(Path(target).read_text()) if Path(target).exists() else {}
        for key, value in TALLY.items():
            previous[key] = previous.get(key, 0) + value
        Path(target).write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n")
        TALLY.clear()


import atexit

atexit.register(_dump_tally)


# -- verdicts ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    """What one surface did with one input: ``ok``, ``coded`` (with the code) or ``crash`` (with the traceback)."""

    surface: str
    kind: str
    detail: str = ""

    @property
    def crashed(self) -> bool:
        """Return whether the surface failed without a coded error."""
        return self.kind == "crash"


class SurfaceTimeout(BaseException):
    """A surface ran longer than SURFACE_SECONDS (a hang); BaseException so no ``except Exception`` swallows it."""


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Raise :class:`SurfaceTimeout` in the main thread after ``seconds``."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum, frame):
        raise SurfaceTimeout(f"no answer after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def peak_rss() -> int:
    """Return this process's peak resident set size in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def attempt(surface: str, call: Callable[[], Any]) -> Outcome:
    """Run one surface call and classify it."""
    TALLY[f"calls:{surface}"] += 1
    try:
        with time_limit(SURFACE_SECONDS):
            call()
    except SnntraceError as exc:
        if not exc.code or exc.code == "E000" or not str(exc):
            return Outcome(surface, "crash", f"uncoded SnntraceError: {exc!r}")
        TALLY[f"coded:{surface}"] += 1
        return Outcome(surface, "coded", exc.code)
    except SurfaceTimeout as exc:
        return Outcome(surface, "crash", f"hang: {exc}")
    except Exception:  # noqa: BLE001 - anything uncoded is exactly what this classifies as a crash
        TALLY[f"crash:{surface}"] += 1
        return Outcome(surface, "crash", traceback.format_exc(limit=-6))
    TALLY[f"ok:{surface}"] += 1
    return Outcome(surface, "ok")


def collect_tables(path: Path) -> None:
    """Open a trace and collect every table (what a user of the Python API does).

    ``Trace.table`` checks every part's footer and column types (RD001). Damage inside a data page can only show
    when the lazy frame is collected, as Polars' ``ComputeError``: that counts as an answer only if ``validate``
    locates the damage (TB001 on a part of that table); any other Polars error is a crash.
    """
    trace = snntrace.open_trace(path)
    for table in TABLES:
        frame = trace.table(table)
        try:
            frame.collect()
        except pl.exceptions.ComputeError as exc:
            located = [f for f in snntrace.validate(path).findings if f.code == "TB001" and f.location.table == table]
            if not located:
                raise AssertionError(
                    f"Polars failed on table {table} but validate finds no damaged part: {exc}"
                ) from exc
            TALLY["page-damage-located-by-validate"] += 1
            raise TableDamaged(f"{table}: {exc}", code="TB001", location=located[0].location.file) from exc


class TableDamaged(SnntraceError):
    """The test's record that a collect failed on data-page damage which validate located (TB001)."""


def validate_outcome(path: Path) -> Outcome:
    """Validate: findings are a coded answer; the validator must also never report CK001 (a check crashed)."""

    def call():
        result = snntrace.validate(path)
        crashed = [f for f in result.findings if f.code == "CK001"]
        if crashed:
            raise AssertionError(f"a validation check crashed: {crashed[0].message}")

    return attempt("validate", call)


def info_outcome(path: Path) -> Outcome:
    """Run ``snntrace info --format json`` through CliRunner: exit 0, or exit 2 with a coded ``Error:`` line."""

    def call():
        result = CliRunner().invoke(cli, ["info", "--format", "json", str(path)])
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        if result.exit_code == 0:
            json.loads(result.stdout)
            return
        if result.exit_code != 2 or not result.stderr.startswith("Error: "):
            raise AssertionError(f"info exited {result.exit_code}: {result.stderr!r}")
        raise SnntraceError(result.stderr.strip(), code=result.stderr.split()[1])

    return attempt("info", call)


def report_outcome(path: Path, output: Path, *, static: bool = False) -> Outcome:
    """Write the report (by default without the still image, which only adds vl-convert time) and check it is a
    whole HTML page."""

    def call():
        written = snntrace.report(path, output, force=True, static=static)
        text = Path(written).read_text(encoding="utf-8")
        if not text.rstrip().endswith("</html>"):
            raise AssertionError("the report is not a whole page")

    return attempt("report-static" if static else "report", call)


def outcomes(
    path: Path, *, report_to: Path | None = None, surfaces: tuple[str, ...] = ("validate", "info", "open")
) -> list[Outcome]:
    """Feed one trace directory to every named surface and return what each did."""
    TALLY["inputs"] += 1
    found = []
    for surface in surfaces:
        if surface == "validate":
            found.append(validate_outcome(path))
        elif surface == "info":
            found.append(info_outcome(path))
        elif surface == "open":
            found.append(attempt("open", lambda: collect_tables(path)))
        elif surface in ("report", "report-static"):
            found.append(
                report_outcome(path, report_to or path.parent / f"{path.name}.html", static=surface == "report-static")
            )
    return found


def assert_no_crash(found: list[Outcome], what: str) -> None:
    """Fail with the surface, the input and the traceback of the first crash."""
    for outcome in found:
        if outcome.crashed:
            raise AssertionError(f"{outcome.surface} crashed on {what}:\n{outcome.detail}")


# -- inputs ------------------------------------------------------------------------------------------------------------
def write_small_trace(path: Path, *, name: str = "small", seed: int = 0) -> Path:
    """Write a tiny trace with a row in every table (the valid starting point mutations work from)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    with TraceWriter(
        path,
        name=name,
        time_resolution=1e-4,
        populations=[Population("input", 16, shape=(4, 4), role="input"), Population("exc", 8, role="output")],
        projections=[Projection("input->exc", "input", "exc", synapses=128, plastic=True, learning_rule="stdp")],
        dataset=Dataset("digits", classes=("zero", "one", "two")),
        annotations={"note": "hardening"},
    ) as writer:
        writer.record_states("exc", "v", unit="V", neurons=range(2), interval=100)
        writer.record_weights("input->exc", snapshot="full")
        t = np.sort(rng.integers(0, 3000, 200))
        writer.write_spikes(t, "exc", rng.integers(0, 8, 200))
        writer.write_spikes(np.sort(rng.integers(0, 3000, 100)), "input", rng.integers(0, 16, 100))
        ticks = np.repeat(np.arange(0, 3000, 100), 2)
        writer.write_states(ticks, "exc", np.tile([0, 1], 30), "v", rng.normal(-0.06, 0.005, 60))
        pre, post = np.meshgrid(np.arange(16), np.arange(8), indexing="ij")
        for tick in (0, 1500, 2999):
            writer.write_weights(tick, "input->exc", pre.ravel(), post.ravel(), rng.uniform(0, 1, 128))
        writer.write_samples(np.arange(3), [0, 1000, 2000], [900, 1900, 2900], label=[0, 1, 2], prediction=[0, 2, 2])
        writer.write_metric("accuracy", [0.3, 0.6], t=[1000, 2999], step=[0, 1])
        writer.write_metric("compression_rate", [0.1], t=[2999], projection="input->exc")
        writer.write_event("prune", 2000, {"threshold": 0.1, "before": 128, "remaining": 116}, projection="input->exc")
        writer.write_event("epoch_end", 2999, {"epoch": 0})
        writer.advance(3000)
    return path


def fresh_copy(source: Path, target: Path) -> Path:
    """Copy a trace directory to ``target`` (replacing it) and return ``target``."""
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, symlinks=True)
    return target
