"""The one helper that puts JSON into HTML, and the Content-Security-Policy built from the page's inline scripts."""

from __future__ import annotations

import html as html_module
import json
import re

from snntrace.reports._embed import content_security_policy, csp_hash, dumps, json_script, round_value


def test_json_script_escapes_everything_that_could_end_or_open_markup():
    payload = {"name": "</script><script>alert(1)</script><!-- & \u2028"}
    element = str(json_script(payload, element_id="x"))
    body = element[element.index(">") + 1 : element.rindex("</script>")]
    assert "<" not in body and ">" not in body and "&" not in body and "\u2028" not in body
    assert json.loads(body) == payload


def test_json_script_attributes_are_html_escaped():
    element = str(json_script([], element_id="a", chart='x" onload="y'))
    assert 'data-chart="x&#34; onload=&#34;y"' in element


def test_dumps_is_deterministic_and_turns_non_finite_numbers_into_null():
    assert dumps({"b": 1, "a": [float("nan"), float("inf"), 0.5]}) == '{"a":[null,null,0.5],"b":1}'


def test_round_value_keeps_six_significant_digits():
    assert round_value(0.123456789) == 0.123457
    assert round_value(123456789.0) == 123457000.0
    assert round_value(float("nan")) is None


def test_csp_allows_exactly_the_inline_scripts_of_a_report(synthetic_trace):
    from snntrace.reports import render_report

    import snntrace

    html, _ = render_report(snntrace.open_trace(synthetic_trace), static=False)
    policy = html_module.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html).group(1))
    executable = re.findall(r"<script>(.*?)</script>", html, re.DOTALL)
    assert len(executable) == 2  # the Vega bundle and the page script; specs are application/json
    for script in executable:
        assert csp_hash(script) in policy
    assert policy == content_security_policy(executable)
    assert "default-src 'none'" in policy and "connect-src 'none'" in policy
