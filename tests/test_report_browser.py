"""The report in headless Chromium: offline, no console error, every chart drawn, the brush drives the other views,
and hostile strings from a trace show as text without running."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from _browser import ROWS_WITH, drag_on_timeline, launched

import snntrace
from snntrace.model import Dataset, Population, Projection

pytestmark = pytest.mark.browser

SCRIPT_PAYLOAD = "</script><script>window.pwned=1</script>"
IMG_PAYLOAD = "<img src=x onerror=window.pwned=2>"


@pytest.fixture(scope="module")
def browser(chromium_path):
    with launched(chromium_path) as browser:
        yield browser


class Opened:
    """A loaded report page with everything it tried to fetch and every console message."""

    def __init__(self, browser, path, tmp_path):
        self.context = browser.new_context(viewport={"width": 1280, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.route("**/*", self._route)
        self.page.goto(path.as_uri())
        self.page.wait_for_selector("body[data-ready]", timeout=60_000)

    def _route(self, route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            self.requests.append(route.request.url)
            route.abort()

    def rows_with(
        self, key: str, fields: set[str], *, exact: bool = False, absent: set[str] = frozenset()
    ) -> list[dict]:
        """Return the rows of the first derived dataset of view ``key`` whose rows have ``fields`` (not ``absent``)."""
        rows = self.page.evaluate(ROWS_WITH, [key, sorted(fields), exact, sorted(absent)])
        assert rows is not None, f"{key}: no dataset with fields {sorted(fields)}"
        return rows

    def close(self):
        self.context.close()


@pytest.fixture(scope="module")
def report(synthetic_trace, tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "report.html"
    snntrace.report(synthetic_trace, out)
    return out


@pytest.fixture(scope="module")
def opened(browser, report, tmp_path_factory):
    page = Opened(browser, report, tmp_path_factory.mktemp("page"))
    yield page
    page.close()


def test_report_loads_offline_without_console_errors(opened):
    assert opened.page.get_attribute("body", "data-ready") == "true"
    assert opened.requests == []
    assert opened.errors == []


def test_every_chart_is_drawn(opened):
    keys = opened.page.evaluate("Array.from(document.querySelectorAll('div.chart')).map(d => d.id)")
    assert keys == ["chart-overview", "chart-neurons-1", "chart-synapses-0", "chart-compression"]
    sizes = opened.page.evaluate(
        "Array.from(document.querySelectorAll('div.chart')).map(d => { const c = d.querySelector('canvas'); return c ? [c.width, c.height] : null; })"
    )
    assert all(size and size[0] > 100 and size[1] > 100 for size in sizes), sizes
    assert sorted(opened.page.evaluate("Object.keys(window.snntraceViews)")) == sorted(keys)


def test_a_mouse_drag_on_the_overview_moves_every_time_view(opened, synthetic_trace):
    page = opened.page
    before_win = page.evaluate("window.snntraceViews['chart-neurons-1'].signal('win')")
    before_classes = opened.rows_with("chart-overview", {"class", "samples"})
    before_raster = opened.rows_with("chart-neurons-1", {"t", "n"}, exact=True)
    before_rates = opened.rows_with("chart-neurons-1", {"n", "c", "spikes", "shown", "rate"})
    # Start outside the initial brush (middle third) so the drag draws a new one over the first fifth of the run.
    drag_on_timeline(page, "chart-overview", 0.02, 0.2)
    page.wait_for_function(
        "() => { const b = window.snntraceViews['chart-overview'].signal('brush').t; const w = window.snntraceViews['chart-neurons-1'].signal('win');"
        " return b && Math.min(...b) === w[0] && Math.max(...b) === w[1]; }",
        timeout=60_000,
    )

    brush = page.evaluate("window.snntraceViews['chart-overview'].signal('brush')")
    t0, t1 = sorted(brush["t"])
    duration = snntrace.open_trace(synthetic_trace).duration
    assert 0 <= t0 < 0.05 * duration and 0.15 * duration < t1 < 0.25 * duration
    for key in ("chart-neurons-1", "chart-synapses-0", "chart-compression"):
        assert page.evaluate(f"window.snntraceViews['{key}'].signal('win')") == pytest.approx([t0, t1])
    assert before_win != [t0, t1]

    raster = opened.rows_with("chart-neurons-1", {"t", "n"}, exact=True)
    assert raster != before_raster
    assert all(t0 <= row["t"] <= t1 for row in raster)
    trace = snntrace.open_trace(synthetic_trace)
    ticks = trace.spikes.select("t").collect()["t"].to_numpy() * trace.resolution
    assert len(raster) == int(np.count_nonzero((ticks >= t0) & (ticks <= t1)))

    classes = opened.rows_with("chart-overview", {"class", "samples"})
    assert classes != before_classes
    starts = trace.samples.select("t_start").collect()["t_start"].to_numpy()
    bin_seconds = float(re.search(r"Time bin</dt><dd>([0-9.e-]+) s", page.content()).group(1))
    bins = np.floor(starts * trace.resolution / bin_seconds) * bin_seconds
    assert sum(row["samples"] for row in classes) == int(np.count_nonzero((bins >= t0 - 1e-9) & (bins <= t1 + 1e-9)))

    rates = opened.rows_with("chart-neurons-1", {"n", "c", "spikes", "shown", "rate"})
    assert rates != before_rates
    assert all(row["rate"] == pytest.approx(row["spikes"] / row["shown"]) for row in rates)


def test_html_references_no_remote_script_or_stylesheet(report):
    html = report.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src\s*=", html, re.IGNORECASE)
    assert not re.search(r"<link[^>]+href\s*=\s*[\"']?https?://", html, re.IGNORECASE)
    assert not re.search(r"@import\s+url\(\s*[\"']?https?://", html, re.IGNORECASE)
    assert "Content-Security-Policy" in html


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    """A trace whose every free-text field carries an HTML or script payload."""
    root = tmp_path_factory.mktemp("hostile")
    path = root / "hostile.trace"
    with snntrace.TraceWriter(
        path,
        name=f"run {SCRIPT_PAYLOAD}",
        time_resolution=1e-3,
        populations=[Population(f"in{IMG_PAYLOAD}", 4, shape=(2, 2)), Population(f"out{SCRIPT_PAYLOAD}", 3)],
        projections=[Projection(f"proj{SCRIPT_PAYLOAD}", 0, 1, synapses=12)],
        dataset=Dataset(f"data{IMG_PAYLOAD}", classes=(f"c0{SCRIPT_PAYLOAD}", f"c1{IMG_PAYLOAD}")),
        annotations={f"note{IMG_PAYLOAD}": SCRIPT_PAYLOAD},
        duration=1000,
    ) as writer:
        writer.record_spikes([0, 1])
        rng = np.random.default_rng(3)
        t = np.sort(rng.integers(0, 1000, 300))
        writer.write_spikes(t, 1, rng.integers(0, 3, 300))
        writer.record_weights(0)
        for k, tick in enumerate((300, 900)):
            writer.write_weights(tick, 0, np.repeat(np.arange(4), 3), np.tile(np.arange(3), 4), rng.random(12) + k)
        writer.write_samples(np.arange(10), np.arange(10) * 100, np.arange(10) * 100 + 100, np.arange(10) % 2)
        writer.write_metric(f"acc{SCRIPT_PAYLOAD}", [0.5, 0.6], t=[300, 900], step=[0, 1])
        writer.write_metric("compression_rate", [0.1, 0.2], t=[300, 900], step=[0, 1], projection=0)
        writer.write_event(f"ev{IMG_PAYLOAD}", 500, {"x": SCRIPT_PAYLOAD})
    out = root / "hostile.html"
    snntrace.report(path, out, title=f"title {SCRIPT_PAYLOAD}{IMG_PAYLOAD}")
    return out


def test_hostile_names_show_as_text_and_nothing_runs(browser, hostile_report, tmp_path):
    html = hostile_report.read_text(encoding="utf-8")
    assert SCRIPT_PAYLOAD not in html and IMG_PAYLOAD not in html
    assert html.count("<script") == html.count("</script>")
    opened = Opened(browser, hostile_report, tmp_path)
    try:
        page = opened.page
        assert page.get_attribute("body", "data-ready") == "true"
        assert page.evaluate("window.pwned") is None
        assert page.evaluate("document.querySelectorAll('img:not(.static)').length") == 0
        assert page.title() == f"title {SCRIPT_PAYLOAD}{IMG_PAYLOAD}"
        text = page.inner_text("body")
        for shown in (f"run {SCRIPT_PAYLOAD}", f"out{SCRIPT_PAYLOAD}", f"note{IMG_PAYLOAD}", f"proj{SCRIPT_PAYLOAD}"):
            assert shown in text
        # Names also reach the charts intact (drawn as canvas text, never parsed as HTML).
        overview = page.evaluate("JSON.parse(document.getElementById('spec-chart-overview').textContent)")
        assert any(c.get("title") == f"Metric: acc{SCRIPT_PAYLOAD}" for c in overview["vconcat"])
        assert opened.requests == []
        assert opened.errors == []
    finally:
        opened.close()


CONFORMANCE = sorted((Path(__file__).parents[1] / "spec" / "conformance" / "valid").glob("*/trace"))


@pytest.mark.parametrize("trace", CONFORMANCE, ids=[p.parent.name for p in CONFORMANCE])
def test_report_of_every_valid_conformance_trace_draws_without_errors(browser, trace, tmp_path):
    out = tmp_path / "report.html"
    snntrace.report(trace, out, static=False)
    opened = Opened(browser, out, tmp_path)
    try:
        assert opened.page.get_attribute("body", "data-ready") == "true"
        assert opened.requests == [] and opened.errors == []
        drawn = opened.page.evaluate(
            "Array.from(document.querySelectorAll('div.chart')).map(d => !!d.querySelector('canvas') && d.querySelector('canvas').width > 0)"
        )
        assert drawn and all(drawn)
        # Whatever a module could not show is said in words.
        omitted = opened.page.locator("#omitted li").all_inner_texts()
        assert len(drawn) + len(omitted) >= 4
    finally:
        opened.close()


def test_comparison_report_draws_both_runs_and_its_brush_filters(browser, synthetic_trace, tmp_path):
    from snntrace.synthetic import write_synthetic_trace

    other = write_synthetic_trace(tmp_path / "other.trace", spikes=5_000, samples=20, seed=5, name="other")
    out = tmp_path / "compare.html"
    snntrace.report(synthetic_trace, out, other=other, static=False)
    opened = Opened(browser, out, tmp_path)
    try:
        assert opened.requests == [] and opened.errors == []
        in_window = opened.rows_with("chart-comparison", {"run", "pop", "spikes"}, absent={"t"})
        assert sorted(row["run"] for row in in_window) == ["base", "other"]
        # The initial brush covers the first third of the longer run: fewer spikes than each run's total.
        assert {row["run"]: row["spikes"] for row in in_window}["other"] < 5_000
    finally:
        opened.close()


def test_content_security_policy_blocks_a_script_injected_into_the_page(browser, report, tmp_path):
    """Defence in depth: even markup that escaped the escaping could not run."""
    tampered = tmp_path / "tampered.html"
    html = report.read_text(encoding="utf-8")
    head, tail = html.rsplit("</body>", 1)  # the last one: strings in the Vega bundle may contain it too
    injected = '<script>window.pwned = 3</script><img src=x onerror="window.pwned = 4">'
    tampered.write_text(head + injected + "</body>" + tail, encoding="utf-8")
    opened = Opened(browser, tampered, tmp_path)
    try:
        assert opened.page.get_attribute("body", "data-ready") == "true"  # the report's own scripts still run
        assert opened.page.evaluate("window.pwned") is None
        assert any("Content Security Policy" in message for message in opened.errors)
    finally:
        opened.close()
