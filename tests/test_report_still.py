"""The still image renderer: a vl-convert child process per render, errors as ValueError, no process left behind."""

from __future__ import annotations

import base64

import pytest

from snntrace.reports._still import StillRenderer

POINT = {"data": {"values": [{"a": 1}]}, "mark": "point", "encoding": {"x": {"field": "a", "type": "quantitative"}}}


def test_a_spec_renders_to_a_base64_png_and_the_child_is_gone():
    renderer = StillRenderer()
    renderer.start()
    child = renderer._child
    png = base64.b64decode(renderer.render(POINT))
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert child.poll() == 0 and renderer._child is None


def test_a_spec_vl_convert_refuses_raises_value_error_with_its_message():
    broken = {**POINT, "encoding": {"x": {**POINT["encoding"]["x"], "scale": {"domain": {"expr": "nosuchfn()"}}}}}
    with pytest.raises(ValueError, match="Unrecognized function: nosuchfn"):
        StillRenderer().render(broken)


def test_an_unused_child_is_stopped_on_close():
    renderer = StillRenderer()
    renderer.start()
    child = renderer._child
    renderer.close()
    assert child.poll() is not None and renderer._child is None


def test_modules_in_the_working_directory_do_not_shadow_the_childs(tmp_path, monkeypatch):
    (tmp_path / "json.py").write_text("raise SystemExit('the json.py of the working directory ran')\n")
    monkeypatch.chdir(tmp_path)
    assert base64.b64decode(StillRenderer().render(POINT)).startswith(b"\x89PNG")
