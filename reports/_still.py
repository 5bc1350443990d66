"""Render the overview's still PNG (the ``<noscript>`` fallback) with vl-convert in a child process.

vl-convert holds the GIL for the whole render, and its first render also starts a JavaScript engine (about a
second): in a thread it would stall the aggregation and chart building instead of overlapping them. A child
process starts the engine as soon as the report begins, then waits for the overview spec on its stdin.
"""

from __future__ import annotations

import subprocess
import sys

from snntrace.reports._embed import dumps
from snntrace.reports._page import VEGA_LITE_VERSION

RENDER_TIMEOUT_S = 300
_FAILED = 3  # the child's exit status when vl-convert refuses the spec

_CHILD = f"""
import sys
if sys.path and sys.path[0] == "":
    del sys.path[0]  # -c puts the working directory first: a json.py there must not run in its place
import base64, json
import vl_convert
version = sys.argv[1]
tiny = {{"data": {{"values": [{{"a": 1}}]}}, "mark": "point", "encoding": {{"x": {{"field": "a", "type": "quantitative"}}}}}}
vl_convert.vegalite_to_png(tiny, vl_version=version, scale=1)
spec = json.loads(sys.stdin.buffer.read())
try:
    png = vl_convert.vegalite_to_png(spec, vl_version=version, scale=1)
except ValueError as exc:
    sys.stdout.write(str(exc))
    sys.exit({_FAILED})
sys.stdout.write(base64.b64encode(png).decode("ascii"))
"""


class StillRenderer:
    """One warm vl-convert child per render: :meth:`start` early, :meth:`render` when the spec is known."""

    def __init__(self) -> None:
        self._child: subprocess.Popen | None = None

    def start(self) -> None:
        """Start a child (and its JavaScript engine) unless one is already waiting."""
        if self._child is None:
            self._child = subprocess.Popen(
                [sys.executable, "-c", _CHILD, VEGA_LITE_VERSION],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )

    def render(self, spec: dict) -> str:
        """Return the spec's PNG as base64; a spec vl-convert cannot render raises ValueError with its message."""
        self.start()
        child, self._child = self._child, None
        try:
            out, err = child.communicate(dumps(spec).encode("utf-8"), timeout=RENDER_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _stop(child)
            raise ValueError(f"vl-convert did not finish within {RENDER_TIMEOUT_S} s") from None
        except BaseException:  # e.g. KeyboardInterrupt: the child must not outlive the report
            _stop(child)
            raise
        if child.returncode == _FAILED:  # vl-convert's message is on stdout, apart from any warning on stderr
            raise ValueError(out.decode("utf-8", "replace").strip() or "vl-convert could not render the chart")
        if child.returncode != 0:
            lines = err.decode("utf-8", "replace").strip().splitlines()
            raise ValueError(
                f"the vl-convert process failed (exit status {child.returncode}: {lines[-1] if lines else 'no message'})"
            )
        return out.decode("ascii")

    def close(self) -> None:
        """Stop a child that was started but not used."""
        child, self._child = self._child, None
        if child is not None:
            _stop(child)


def _stop(child: subprocess.Popen) -> None:
    child.kill()
    child.communicate()
