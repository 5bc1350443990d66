"""The comparison report in headless Chromium: offline, every chart drawn, and a mouse drag on the shared brush
changes what both runs show."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from _browser import ROWS_WITH, drag_on_timeline, launched

import snntrace
from snntrace.synthetic import write_synthetic_trace

pytestmark = pytest.mark.browser

KEY = "chart-comparison"


def simulated(path, *extra: str):
    """Run the included simulator briefly (200 training, 100 test images) and return the trace path."""
    from click.testing import CliRunner

    from snntrace.cli import cli

    args = ["simulate", "--train-samples", "200", "--test-samples", "100", "--neurons", "25", "--batches", "4"]
    result = CliRunner().invoke(cli, [*args, "--seed", "1", "-q", "-o", str(path), *extra])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module", params=["synthetic", "simulator"])
def compare(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    if request.param == "synthetic":
        base = write_synthetic_trace(root / "base.trace", spikes=20_000, samples=50, seed=0, name="baseline")
        other = write_synthetic_trace(root / "other.trace", spikes=8_000, samples=50, seed=7, name="pruned")
    else:
        # The case: a baseline and a PP & DSWR run of the same network and data.
        base = simulated(root / "base.trace")
        other = simulated(root / "other.trace", "--compression", "pp-dswr")
    out = root / "compare.html"
    snntrace.report(base, out, other=other, static=False)
    return out, [p["name"] for p in snntrace.open_trace(base).populations]


@pytest.fixture(scope="module")
def page(chromium_path, compare):
    with launched(chromium_path) as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        page = context.new_page()
        page.requests, page.errors = [], []
        page.on("console", lambda m: page.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: page.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                page.requests.append(r.request.url)
                r.abort()

        page.route("**/*", route)
        page.goto(compare[0].as_uri())
        page.wait_for_selector("body[data-ready]", timeout=60_000)
        yield page


def brushed_sums(page, t0: float, t1: float) -> dict[tuple[str, str], int]:
    """Return spikes per (run, population) of the embedded bins whose start lies in [t0, t1], computed in Python."""
    spec = json.loads(page.evaluate(f"document.getElementById('spec-{KEY}').textContent"))
    sums: dict[tuple[str, str], int] = defaultdict(int)
    for row in spec["datasets"]["spikes"]:
        if t0 <= row["t"] <= t1:
            sums[(row["run"], row["pop"])] += row["spikes"]
    return dict(sums)


def shown_sums(page) -> dict[tuple[str, str], int]:
    rows = page.evaluate(ROWS_WITH, [KEY, ["pop", "run", "spikes"], False, ["t", "total", "spikes_start"]])
    assert rows is not None, "no brushed per-run dataset in the comparison view"
    return {(row["run"], row["pop"]): row["spikes"] for row in rows}


def test_comparison_loads_offline_and_draws_every_chart(page):
    assert page.get_attribute("body", "data-ready") == "true"
    assert page.requests == [] and page.errors == []
    keys = page.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => d.id)")
    assert keys == [KEY, "chart-comparison-rates", "chart-comparison-fields"]
    sizes = page.evaluate(
        "Array.from(document.querySelectorAll('div.chart')).map(d => { const c = d.querySelector('canvas'); return c ? [c.width, c.height] : null; })"
    )
    assert all(size and size[0] > 100 and size[1] > 100 for size in sizes), sizes


def test_rate_and_receptive_field_views_hold_both_runs(page, compare):
    rates = page.evaluate("window.snntraceViews['chart-comparison-rates'].data('rates')")
    assert {row["pop"] for row in rates} == set(compare[1])
    # Rates are embedded with 4 significant digits, so the difference agrees to that precision of the larger rate.
    for row in rates:
        tolerance = 1e-3 * max(abs(row["base"]), abs(row["other"]), 1.0)
        assert row["diff"] == pytest.approx(row["other"] - row["base"], abs=tolerance), row
    fields = page.evaluate("window.snntraceViews['chart-comparison-fields'].data('fields')")
    assert {row["run"] for row in fields} == {"base", "other"}


def test_a_mouse_drag_on_the_shared_brush_changes_both_runs(page):
    before = shown_sums(page)
    brush = page.evaluate(f"window.snntraceViews['{KEY}'].signal('brush')")
    assert brush_window(brush) and before == brushed_sums(page, *brush_window(brush))
    # The initial brush covers the first third: drag a new one over roughly 50%..85% of the axis.
    drag_on_timeline(page, "chart-comparison", 0.5, 0.85)
    page.wait_for_function(
        f"() => {{ const b = window.snntraceViews['{KEY}'].signal('brush').t; return b && Math.min(...b) > 0; }}",
        timeout=30_000,
    )
    t0, t1 = brush_window(page.evaluate(f"window.snntraceViews['{KEY}'].signal('brush')"))
    duration = compare_duration(page)
    assert 0.4 * duration < t0 < 0.6 * duration and 0.75 * duration < t1 < 0.95 * duration
    after = shown_sums(page)
    assert after == brushed_sums(page, t0, t1)
    for run in ("base", "other"):
        # Both runs' bars follow the one brush: each run's numbers changed.
        assert {k: v for k, v in after.items() if k[0] == run} != {k: v for k, v in before.items() if k[0] == run}
        assert any(k[0] == run and v > 0 for k, v in after.items())
    assert page.errors == []


def compare_duration(page) -> float:
    """Return the shared time axis' length: the longer run's duration, which the page's full window holds."""
    return page.evaluate("JSON.parse(document.getElementById('snntrace-page').textContent).fullWindow[1]")


def brush_window(brush: dict) -> tuple[float, float] | None:
    """Return the brushed time interval (sorted), or None when there is no brush."""
    values = brush.get("t") if brush else None
    return (min(values), max(values)) if values else None
