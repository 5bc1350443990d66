"""`import snntrace` and validation load only what they need (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("altair", "brian2", "nengo", "pyNN", "vl_convert", "numba")
FULL = Path(__file__).resolve().parents[1] / "spec" / "conformance" / "valid" / "full" / "trace"


def loaded_modules(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter and return the names in sys.modules afterwards."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    return set(json.loads(output.splitlines()[-1]))


def top_level(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_import_snntrace_loads_no_simulator_chart_or_jit_library():
    loaded = top_level(loaded_modules("import snntrace"))
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_validation_never_imports_reports_or_heavy_libraries():
    modules = loaded_modules(f"import snntrace\nassert snntrace.validate({str(FULL)!r}).ok")
    assert "snntrace.validation" in modules
    assert not any(name.startswith("snntrace.reports") for name in modules)
    assert top_level(modules).isdisjoint(HEAVY)


def test_the_validate_command_never_imports_reports():
    code = (
        "from click.testing import CliRunner\nfrom snntrace.cli import cli\n"
        f"assert CliRunner().invoke(cli, ['validate', {str(FULL)!r}]).exit_code == 0"
    )
    modules = loaded_modules(code)
    assert not any(name.startswith("snntrace.reports") for name in modules)
    assert top_level(modules).isdisjoint(HEAVY)
