"""Render the view models into one self-contained HTML document (Jinja2, autoescaped)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import jinja2
from markupsafe import Markup
from snntrace.reports._embed import content_security_policy, json_script
from snntrace.reports._model import Page, Section

from snntrace._version import SPEC_VERSION, __version__

VEGA_LITE_VERSION = "6.4"  # the Vega-Lite release Altair 6 writes specs for; vl-convert bundles the same


@dataclass(frozen=True)
class RenderedChart:
    """A chart ready for the template: its container id, label and escaped spec element."""

    key: str
    title: str
    element: Markup


def _bundle_cache() -> Path:
    from importlib.metadata import version  # importing vl_convert itself takes a second

    root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(root) / "snntrace" / f"vega-bundle-{version('vl-convert-python')}-vl{VEGA_LITE_VERSION}.js"


@functools.cache
def javascript_bundle() -> str:
    """Return Vega, Vega-Lite and vega-embed as one script.

    vl-convert takes seconds to build it, so the result is kept per process and in the user's cache directory,
    keyed by the vl-convert and Vega-Lite versions (the bundle is a pure function of both).
    """
    cache = _bundle_cache()
    try:
        bundle = cache.read_text(encoding="utf-8")
    except OSError:
        import vl_convert

        bundle = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION)
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
            temporary.write_text(bundle, encoding="utf-8")
            os.replace(temporary, cache)
        except OSError:
            pass  # a read-only home only costs the rebuild next time
    if "</script" in bundle.lower():  # would end the inline element early; vl-convert never emits it
        raise RuntimeError("the Vega bundle contains </script and cannot be inlined")
    return bundle


@functools.cache
def _asset(name: str) -> str:
    return resources.files("snntrace.templates").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: _asset(name)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def render_page(
    *, title: str, sections: list[Section], omissions, page_data: dict, static_png: str | None, static_note: str | None
) -> str:
    """Return the HTML text of the report."""
    rendered = []
    for section in sections:
        charts = [
            RenderedChart(
                chart.key,
                chart.title,
                json_script(
                    chart.spec,
                    element_id=f"spec-{chart.key}",
                    chart=chart.key,
                    follows=str(chart.follows_window).lower(),
                ),
            )
            for chart in section.charts
        ]
        rendered.append(replace(section, charts=charts))
    bundle, script = javascript_bundle(), _asset("report.js")
    page = Page(
        title=title,
        version=__version__,
        spec_version=SPEC_VERSION,
        sections=rendered,
        omissions=list(omissions),
        page_data=page_data,
        static_png=static_png,
        static_note=static_note,
        bundle=Markup(bundle),
        script=Markup(script),
        style=Markup(_asset("report.css")),
        csp=content_security_policy([bundle, script]),
    )
    return (
        _environment()
        .get_template("report.html.j2")
        .render(page=page, page_json=json_script(page_data, element_id="snntrace-page"))
    )
