"""Injection payloads in every string field a trace can carry: in headless Chromium none runs, all show as text,
nothing is fetched, and the Content-Security-Policy blocks an inline script even if one got into the page.

Fields: run name, title, population / projection / dataset / class names, population model name, state variable,
metric names, event kinds and payloads, annotation keys and values, simulator and producer names. Every field
carries every payload (plus a field tag), so one page load tries each payload in each place. Each payload sets its
own ``window.pwned`` value, loads a file (``x``) or opens a dialog if it runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _browser import launched
from test_report_browser import Opened

import snntrace
from snntrace.model import Dataset, Population, Projection, Software

pytestmark = pytest.mark.browser

PAYLOADS = [
    "</script><script>window.pwned=1</script>",
    '<img src=x onerror="window.pwned=2">',
    "<svg onload=window.pwned=3>",
    '"><script>window.pwned=4</script>',
    "';window.pwned=5;//",
    "javascript:window.pwned=6",
    "{{constructor.constructor('window.pwned=7')()}}",
    "${window.pwned=8}",
    '<iframe srcdoc="<script>parent.pwned=9</script>"></iframe>',
    "<!--<script>window.pwned=10</script>-->",
    "]]></style><style>body{display:none}</style>",
    '<a href="javascript:window.pwned=11">click</a>',
    "datum['x'] + (window.pwned=12)",
    '"]}; window.pwned=13; x={"a":["',
    "<math><mtext><table><mglyph><style><img src=x onerror=window.pwned=14>",
    # U+2028/U+2029 in names: tests/regressions/report_line_separator_in_a_class_name.json (the report draws them as spaces).
    "</script ><script>window.pwned=15</script >",
    "<object data=x></object><embed src=x>",
    "<link rel=stylesheet href=x><meta http-equiv=refresh content='0;url=x'>",
    "&lt;script&gt;window.pwned=16&lt;/script&gt;",
    "\u202eevil\u202c <b>bold</b>",
]
ALL = " ".join(PAYLOADS)


def _field(tag: str) -> str:
    return f"{tag}{ALL}"


@pytest.fixture(scope="module")
def browser(chromium_path):
    with launched(chromium_path) as browser:
        yield browser


@pytest.fixture(scope="module")
def payload_report(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("payloads")
    trace = root / "payloads.trace"
    rng = np.random.default_rng(5)
    with snntrace.TraceWriter(
        trace,
        name=_field("RUN"),
        time_resolution=1e-3,
        populations=[
            Population(_field("POPA"), 4, shape=(2, 2), role="input"),
            Population(_field("POPB"), 3, role="output", model={"name": _field("MODEL")}),
        ],
        projections=[Projection(_field("PROJ"), 0, 1, synapses=12, plastic=True, learning_rule=_field("RULE"))],
        dataset=Dataset(_field("DATA"), classes=(_field("CLS0"), _field("CLS1"))),
        simulator=Software(_field("SIM"), _field("SIMV")),
        producer=Software(_field("PROD"), "1"),
        annotations={_field("ANNK"): _field("ANNV"), "nested": {_field("NK"): [_field("NV")]}},
    ) as writer:
        writer.record_states(1, _field("VAR"), unit=_field("UNIT"), neurons=range(2), interval=10)
        t = np.sort(rng.integers(0, 1000, 300))
        writer.write_spikes(t, 1, rng.integers(0, 3, 300))
        writer.write_spikes(np.sort(rng.integers(0, 1000, 200)), 0, rng.integers(0, 4, 200))
        ticks = np.repeat(np.arange(0, 1000, 10), 2)
        writer.write_states(ticks, 1, np.tile([0, 1], 100), _field("VAR"), rng.normal(0, 1, 200))
        pre, post = np.meshgrid(np.arange(4), np.arange(3), indexing="ij")
        for tick in (0, 500, 999):
            writer.write_weights(tick, 0, pre.ravel(), post.ravel(), rng.uniform(0, 1, 12))
        writer.write_samples(np.arange(4), [0, 250, 500, 750], [200, 450, 700, 950], label=[0, 1, 0, 1], split="train")
        writer.write_metric(_field("METRIC"), [0.2, 0.4, 0.6], t=[300, 600, 999], step=[0, 1, 2])
        writer.write_metric("accuracy", [0.5, 0.7], t=[500, 999], step=[0, 1])
        writer.write_event(
            "prune",
            500,
            {"threshold": 0.1, "before": 12, "remaining": 10, "strategy": _field("STRATEGY")},
            projection=0,
        )
        writer.write_event(_field("EVENT"), 700, {_field("PK"): _field("PV")})
    output = root / "payloads.html"
    snntrace.report(trace, output, title=_field("TITLE"))
    return output


def test_no_payload_survives_unescaped_in_the_html(payload_report):
    html = payload_report.read_text(encoding="utf-8")
    for payload in PAYLOADS:
        if "<" in payload or ">" in payload:
            assert payload not in html, f"payload written raw: {payload!r}"
    assert html.count("<script") == html.count("</script>")
    assert "window.pwned" not in html.replace("window.pwned=", "")  # the only occurrences are the payloads' own text


def test_no_payload_runs_loads_anything_or_opens_a_dialog_and_all_show_as_text(browser, payload_report, tmp_path):
    opened = Opened(browser, payload_report, tmp_path)
    dialogs: list[str] = []
    opened.page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    fetched: list[str] = []
    opened.page.on("request", lambda r: fetched.append(r.url) if r.url != payload_report.as_uri() else None)
    try:
        page = opened.page
        assert page.get_attribute("body", "data-ready") == "true"
        # Hover the charts and brush the overview: tooltips and linked views re-render names.
        for chart in page.query_selector_all("div.chart canvas"):
            box = chart.bounding_box()
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=3)
        page.wait_for_timeout(300)
        assert page.evaluate("window.pwned") is None
        assert page.evaluate("parent.pwned") is None
        assert dialogs == []
        assert fetched == [] and opened.requests == []
        assert (
            page.evaluate("document.querySelectorAll('iframe, object, embed, svg:not([class]) script, math').length")
            == 0
        )
        assert page.evaluate("document.querySelectorAll('img:not(.static)').length") == 0
        assert page.is_visible("body")
        assert page.title() == _field("TITLE")
        text = page.inner_text("body")
        shown = [
            tag
            for tag in ("RUN", "POPA", "POPB", "PROJ", "DATA", "CLS0", "ANNK", "ANNV", "SIM", "EVENT", "METRIC")
            if _field(tag) in text
        ]
        assert {"RUN", "POPA", "POPB", "PROJ", "ANNK", "ANNV"} <= set(shown), f"shown as text: {shown}"
        specs = page.evaluate(
            "Array.from(document.querySelectorAll('script[type=\"application/json\"]')).map(s => s.textContent)"
        )
        joined = json.dumps([json.loads(s) for s in specs])
        assert json.dumps(_field("METRIC"))[1:-1] in joined  # metric names reach the charts' data intact
        assert opened.errors == []
    finally:
        opened.close()


def test_the_content_security_policy_blocks_an_inline_script_that_got_into_the_page(browser, payload_report, tmp_path):
    opened = Opened(browser, payload_report, tmp_path)
    try:
        page = opened.page
        policy = page.get_attribute("meta[http-equiv='Content-Security-Policy']", "content")
        directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
        assert directives["default-src"] == ["'none'"]
        assert "'unsafe-inline'" not in directives["script-src"]
        assert all(source.startswith("'sha256-") or source == "'unsafe-eval'" for source in directives["script-src"])
        assert (
            directives["connect-src"] == ["'none'"]
            and directives["object-src"] == ["'none'"]
            and directives["base-uri"] == ["'none'"]
        )
        violations = page.evaluate(
            """() => new Promise(resolve => {
                 const seen = [];
                 document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
                 const s = document.createElement('script');
                 s.textContent = 'window.cspProbe = 1';
                 document.body.appendChild(s);
                 const i = document.createElement('img');
                 i.src = 'https://example.invalid/x.png';
                 document.body.appendChild(i);
                 setTimeout(() => resolve(seen), 300);
               })"""
        )
        assert page.evaluate("window.cspProbe") is None
        assert any(v.startswith("script-src") for v in violations), violations
        assert any(v.startswith("img-src") for v in violations), violations
    finally:
        opened.close()
