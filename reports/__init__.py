"""The interactive HTML report: aggregates -> view models (one module per question) -> Altair specs -> one page.

:func:`build_report` is what ``snntrace report`` and :func:`snntrace.report` call.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import polars as pl
import pyarrow as pa

from snntrace.reports import checks, comparison, compression, neurons, overview, synapses
from snntrace.reports._charts import BRUSH, TIME, WINDOW
from snntrace.reports._embed import dumps
from snntrace.reports._model import Context, Omission, Plan, Section
from snntrace.reports._page import render_page
from snntrace.reports._still import StillRenderer

from snntrace import aggregate
from snntrace.errors import ManifestError, SnntraceError, TraceReadError, UsageError
from snntrace.reader import Trace, open_trace

DEFAULT_MAX_SIZE_MB = 5.0

__all__ = ["DEFAULT_MAX_SIZE_MB", "ReportTooLargeError", "build_report", "render_comparison", "render_report"]


class ReportTooLargeError(SnntraceError, ValueError):
    """The report cannot be made to fit the requested size."""

    code = "RP003"


_TOLERATED = frozenset({"additionalProperties", "maxLength", "minLength", "pattern", "format"})


def check_manifest(trace: Trace) -> None:
    """Raise a coded error when the manifest does not follow the schema (the report reads it without guards)."""
    import jsonschema

    from snntrace.format import manifest_schema

    validator = jsonschema.Draft202012Validator(manifest_schema())
    # Only what the report relies on (types, required keys, ranges) stops it; unknown keys (a newer 1.y manifest),
    # over-long or oddly formatted strings are the validator's business and render as text.
    errors = (e for e in validator.iter_errors(trace.manifest) if e.validator not in _TOLERATED)
    error = jsonschema.exceptions.best_match(errors)
    if error is not None:
        pointer = "/" + "/".join(str(p) for p in error.absolute_path)
        raise ManifestError(
            f"the manifest does not follow the schema at {pointer}: {error.message[:300]}; run `snntrace validate`",
            code="RP005",
            location=f"{trace.path / 'manifest.json'}#{pointer}",
        )
    populations = {p["id"] for p in trace.populations}
    for index, projection in enumerate(trace.projections):
        for end in ("pre", "post"):
            if projection[end] not in populations:
                raise ManifestError(
                    f"projection {projection['name']!r} names {end} population {projection[end]}, which is not declared",
                    code="RP005",
                    location=f"{trace.path / 'manifest.json'}#/projections/{index}/{end}",
                )


def _initial_window(trace: Trace, bin_ticks: int) -> tuple[float, float]:
    """Return the brush's first value: the middle third of the run, on bin edges."""
    ticks = max(trace.duration_ticks, 1)
    start = ticks // 3 // bin_ticks * bin_ticks
    end = max(start + bin_ticks, (2 * ticks) // 3 // bin_ticks * bin_ticks)
    return (round(start * trace.resolution, 9), round(end * trace.resolution, 9))


def _sections(
    context: Context, progress: Callable[[str], None], on_overview: Callable[[dict], None]
) -> tuple[list[Section], list[Omission]]:
    trace = context.trace
    sections: list[Section] = []
    omissions: list[Omission] = []
    progress("overview")
    sections.append(overview.build(context))
    on_overview(sections[0].charts[0].spec)
    progress("neurons")
    if trace.has_rows("spikes"):
        found = neurons.build(context)
        sections.extend(found)
        if not found:
            omissions.append(Omission("Neurons", "the shown populations did not spike."))
    elif trace.recorded.get("spikes"):
        # The manifest tells "recorded, nobody fired" apart from "not recorded".
        omissions.append(Omission("Neurons", "spikes were recorded, but no neuron fired."))
    else:
        omissions.append(Omission("Neurons", "spikes were not recorded."))
    progress("synapses")
    found = synapses.build(context) if trace.has_rows("weights") else []
    sections.extend(found)
    if not found:
        omissions.append(Omission("Synapses", "weight snapshots were not recorded."))
    progress("compression")
    section = compression.build(context)
    if section is None:
        omissions.append(Omission("Compression", "no prune events or compression metrics were recorded."))
    else:
        sections.append(section)
    return sections, omissions


def render_report(
    trace: Trace,
    *,
    title: str | None = None,
    time_bin: float | None = None,
    populations: Sequence[str | int] | None = None,
    max_size: float = DEFAULT_MAX_SIZE_MB,
    static: bool = True,
    progress: Callable[[str], None] | None = None,
    rules: Sequence[str] = (),
) -> tuple[str, list[Section]]:
    """Return the report's HTML text and its sections, shrinking embedded data until it fits ``max_size`` MB;
    with ``rules``, a table of their results (as ``snntrace check`` evaluates them) ends the page."""
    progress = progress or (lambda step: None)
    check_manifest(trace)
    extra = [checks.build(trace, rules)] if rules else []
    try:
        shown = aggregate.population_ids(trace, populations)
    except KeyError as exc:
        raise UsageError(str(exc.args[0]), code="RP004", location="--populations") from exc
    if time_bin is not None and not time_bin > 0:
        raise UsageError(f"the time bin must be positive, got {time_bin!r} s", code="RP004", location="--time-bin")
    limit = int(max_size * 1_000_000)
    plan = Plan(bin_ticks=aggregate.bin_ticks_for(trace, time_bin))
    # Raw spikes cost about 24 bytes a row: allow them at most 40% of what the bundle and image leave.
    plan.raw_spikes = max(0, min(plan.raw_spikes, int(0.4 * (limit - 1_500_000) / 24)))
    context = Context(trace=trace, populations=shown, plan=plan, window=_initial_window(trace, plan.bin_ticks))
    png_cache: dict[str, Future] = {}
    # The still image renders in a child process started now (its JavaScript engine takes about a second to
    # start) while the modules aggregate; a thread waits for it, so building the page does not.
    renderer = StillRenderer()
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            if static:
                renderer.start()
            while True:
                html, sections, static = _attempt(
                    context, pool, renderer, png_cache, static, title, limit, max_size, progress, extra
                )
                if html is not None:
                    return html, sections
    finally:
        renderer.close()


def _attempt(
    context: Context,
    pool: ThreadPoolExecutor,
    renderer: StillRenderer,
    png_cache: dict[str, Future],
    static: bool,
    title,
    limit: int,
    max_size: float,
    progress,
    extra: list[Section],
):
    """Build the page once under the current plan; return (html or None when too large, sections, static)."""
    trace, plan = context.trace, context.plan

    def on_overview(spec: dict) -> None:
        key = dumps(spec)
        if static and key not in png_cache:
            png_cache[key] = pool.submit(renderer.render, spec)

    sections, omissions = _sections(context, progress, on_overview)
    sections = sections + extra
    image, note = None, None
    if static:
        progress("static image")
        try:
            image = png_cache[dumps(sections[0].charts[0].spec)].result()
        except ValueError as exc:  # vl-convert reports a rendering failure as ValueError: keep the page, say why
            note = f"The still image of the overview could not be rendered ({str(exc).splitlines()[0][:200]})."
    page_data = {
        "master": overview.CHART_KEY,
        "timeField": TIME,
        "brushParam": BRUSH,
        "windowParam": WINDOW,
        "fullWindow": [0, context.duration],
    }
    progress("page")
    html = render_page(
        title=title or trace.name,
        sections=sections,
        omissions=omissions,
        page_data=page_data,
        static_png=image,
        static_note=note,
    )
    size = len(html.encode("utf-8"))
    if size <= limit:
        return html, sections, static
    if static and image and size - len(image) <= limit and plan.level >= 3:
        return None, sections, False  # the still image goes once data has been thinned a few times
    # Dropping raw spikes when none were embedded (too many) would rebuild the same page: take the next step too.
    raw_embedded = any(isinstance(key, tuple) and key[0] == "raw" for key in context.cache)
    for _ in range(1 if raw_embedded or not plan.raw_spikes else 2):
        if not plan.relax():
            raise ReportTooLargeError(
                f"the smallest report of this trace is {size / 1e6:.2f} MB, more than --max-size {max_size:g} MB",
                location=str(trace.path),
            )
    # Coarser time bins only once thinner views were not enough: they change the overview, hence its still image.
    if plan.level >= 3 and trace.duration_ticks // plan.bin_ticks > 100:
        plan.bin_ticks *= 2
        context.window = _initial_window(trace, plan.bin_ticks)
        if static:
            renderer.start()  # the overview changes with the bin: its engine starts while the page is rebuilt
    return None, sections, static


def render_comparison(
    base: Trace,
    other: Trace,
    *,
    title: str | None = None,
    time_bin: float | None = None,
    max_size: float = DEFAULT_MAX_SIZE_MB,
    static: bool = True,
    progress: Callable[[str], None] | None = None,
    mapping: dict[str, str] | None = None,
    rules: Sequence[str] = (),
) -> tuple[str, list[Section]]:
    """Return the HTML text and sections of a report comparing two traces (activity, accuracy, compression,
    per-neuron rate differences, receptive fields); ``mapping`` pairs base population names with other ones."""
    progress = progress or (lambda step: None)
    check_manifest(base)
    check_manifest(other)
    if time_bin is not None and not time_bin > 0:
        raise UsageError(f"the time bin must be positive, got {time_bin!r} s", code="RP004", location="--time-bin")
    progress("overview")
    renderer = StillRenderer()
    if static:
        renderer.start()  # its JavaScript engine starts while both traces are aggregated
    image, note = None, None
    try:
        section = comparison.build((base, other), time_bin=time_bin, mapping=mapping)
        if static:
            try:
                image = renderer.render(section.charts[0].spec)
            except ValueError as exc:  # keep the page and say why, as for a single run
                note = f"The still image of the comparison could not be rendered ({str(exc).splitlines()[0][:200]})."
    finally:
        renderer.close()
    extra = (
        [
            checks.build(base, rules, key="checks-base", run="base"),
            checks.build(other, rules, key="checks-other", run="other"),
        ]
        if rules
        else []
    )
    progress("page")
    page_data = {
        "master": comparison.CHART_KEY,
        "timeField": TIME,
        "brushParam": BRUSH,
        "windowParam": WINDOW,
        "fullWindow": [0, max(base.duration, other.duration)],
    }
    html = render_page(
        title=title or f"{base.name} vs {other.name}",
        sections=[section, *extra],
        omissions=[],
        page_data=page_data,
        static_png=image,
        static_note=note,
    )
    if len(html.encode("utf-8")) > max_size * 1_000_000:
        raise ReportTooLargeError(
            f"the comparison report is larger than --max-size {max_size:g} MB; give a larger --time-bin",
            location=str(base.path),
        )
    return html, [section, *extra]


def build_report(
    trace: Trace | str | os.PathLike,
    output: str | os.PathLike,
    *,
    force: bool = False,
    other: Trace | str | os.PathLike | None = None,
    **options,
) -> Path:
    """Write the interactive HTML report of a trace to ``output`` and return its path.

    Options: ``title``, ``time_bin`` (seconds), ``populations`` (names or ids), ``max_size`` (MB), ``static``
    (embed a PNG of the overview for readers without scripts), ``progress`` (called with each step's name),
    ``rules`` (``snntrace check`` rules whose results are shown in a table; of both runs when comparing).
    With ``other``, the page compares the two traces instead (``populations`` does not apply; ``mapping`` pairs
    base population names with other ones when they differ).
    The file is written under a temporary name and renamed; an existing file is replaced only with ``force``.
    """
    opened = trace if isinstance(trace, Trace) else open_trace(trace)
    second = None if other is None else other if isinstance(other, Trace) else open_trace(other)
    target = Path(output)
    source = opened.path.resolve()
    resolved = target.resolve()
    sources = [source] + ([second.path.resolve()] if second is not None else [])
    if any(resolved == s or s in resolved.parents for s in sources):
        raise UsageError(
            f"the report would be written into the trace {opened.path}; choose another output",
            code="RP002",
            location=str(target),
        )
    if target.exists() and not force:
        raise UsageError(
            f"{target} exists; pass --force (force=True) to replace it", code="RP001", location=str(target)
        )
    if target.is_dir():
        raise UsageError(f"{target} is a directory", code="RP001", location=str(target))
    try:
        if second is None:
            options.pop("mapping", None)
            html, _ = render_report(opened, **options)
        else:
            options.pop("populations", None)
            html, _ = render_comparison(opened, second, **options)
    except (pl.exceptions.PolarsError, pa.ArrowException) as exc:
        # A part whose footer reads but whose data does not (bad UTF-8, a damaged page) fails only when collected.
        raise TraceReadError(
            f"a table part cannot be read ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
            "run `snntrace validate` to locate it",
            location=str(opened.path),
        ) from exc
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_text(html, encoding="utf-8", newline="\n")
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target
