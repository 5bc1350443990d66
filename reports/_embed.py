"""Put data into HTML safely and deterministically: the one JSON-in-<script> helper, number rounding, CSP hashes."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

from markupsafe import Markup

# Characters that could end a <script> element or start an HTML construct inside it.
_SCRIPT_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026", 0x2028: "\\u2028", 0x2029: "\\u2029"}
SIGNIFICANT_DIGITS = 6


def dumps(value: Any) -> str:
    """Serialize ``value`` as deterministic JSON: sorted keys, no spaces, no NaN (becomes null)."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # a NaN or infinity somewhere: walk the value once to turn them into nulls
        return json.dumps(_finite(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def json_script(value: Any, *, element_id: str, **attributes: str) -> Markup:
    """Return a ``<script type="application/json">`` element holding ``value`` with ``<``, ``>``, ``&`` escaped.

    ``attributes`` become ``data-*`` attributes (underscores turn into dashes); their values are HTML-escaped.
    """
    text = dumps(value).translate(_SCRIPT_ESCAPES)
    extra = Markup("").join(
        Markup(' data-{}="{}"').format(k.replace("_", "-"), v) for k, v in sorted(attributes.items())
    )
    return Markup('<script type="application/json" id="{}"{}>{}</script>').format(element_id, extra, Markup(text))


def round_value(value: float) -> float | None:
    """Round a float to a fixed number of significant digits so output bytes do not depend on float noise."""
    if value is None or not math.isfinite(value):
        return None
    if value == 0:
        return 0.0
    digits = SIGNIFICANT_DIGITS - 1 - math.floor(math.log10(abs(value)))
    return round(value, digits)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return None if not math.isfinite(value) else value
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def csp_hash(script: str) -> str:
    """Return the CSP source expression (``'sha256-…'``) allowing one inline script body."""
    digest = hashlib.sha256(script.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


def content_security_policy(scripts: list[str]) -> str:
    """Return a policy allowing only the given inline scripts (Vega compiles expressions, hence 'unsafe-eval')."""
    hashes = " ".join(csp_hash(s) for s in scripts)
    return (
        "default-src 'none'; "
        f"script-src {hashes} 'unsafe-eval'; "
        "style-src 'unsafe-inline'; "
        "img-src data:; font-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'; object-src 'none'"
    )
