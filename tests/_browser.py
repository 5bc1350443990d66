"""What every browser test shares: Chromium's flags for an offline headless run, and page-geometry JS."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Debian's Chromium as root, with no background traffic (the machine's network is closed).
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@contextmanager
def launched(chromium_path: Path) -> Iterator:
    """Yield a Playwright Chromium browser, closed on exit."""
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def timeline_box(chart_id: str) -> str:
    """Return JS giving the page rectangle of the chart's brushed timeline plot (its group named timeline_group)."""
    return """() => {
  const view = window.snntraceViews['%(id)s'];
  let found = null;
  (function walk(item, x, y) {
    if (found) return;
    if (item.mark && item.mark.name === 'timeline_group') { found = {x: x + item.x, y: y + item.y, width: item.width, height: item.height}; return; }
    const dx = item.mark && item.mark.marktype === 'group' ? (item.x || 0) : 0;
    const dy = item.mark && item.mark.marktype === 'group' ? (item.y || 0) : 0;
    (item.items || []).forEach(child => walk(child, x + dx, y + dy));
  })(view.scenegraph().root, 0, 0);
  const canvas = document.querySelector('#%(id)s canvas').getBoundingClientRect();
  const origin = view.origin();
  return {x: canvas.left + origin[0] + found.x, y: canvas.top + origin[1] + found.y, width: found.width, height: found.height};
}""" % {"id": chart_id}


def drag_on_timeline(page, chart_id: str, start: float, end: float) -> None:
    """Drag the mouse across the chart's timeline plot from fraction ``start`` to ``end`` of its width."""
    box = page.evaluate(timeline_box(chart_id))
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + start * box["width"], y)
    page.mouse.down()
    page.mouse.move(box["x"] + (start + end) / 2 * box["width"], y, steps=3)
    page.mouse.move(box["x"] + end * box["width"], y, steps=3)
    page.mouse.up()


# JS: the rows of the first derived dataset (Vega-Lite names them data_0, data_1, ...) of a view whose rows carry
# the given fields (exactly them if `exact`): the rows a chart draws after its window filters and aggregates.
ROWS_WITH = """([key, fields, exact, absent]) => {
  const view = window.snntraceViews[key];
  const plain = row => Object.fromEntries(Object.entries(row).filter(([, v]) => v === null || typeof v !== 'object'));
  for (let i = 0; i < 200; i++) {
    let rows;
    try { rows = view.data('data_' + i); } catch (e) { continue; }
    if (!rows.length) continue;
    const keys = Object.keys(plain(rows[0]));
    const match = (exact ? keys.length === fields.length : true) && fields.every(f => keys.includes(f)) && !absent.some(f => keys.includes(f));
    if (match) return rows.map(plain);
  }
  return null;
}"""
