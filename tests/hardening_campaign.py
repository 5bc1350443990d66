"""Run the hardening tests as a long campaign outside CI and print what was tried and what failed.

    .venv/bin/python tests/hardening_campaign.py                      # 2000 examples a fuzz test, 20 kills a producer
    .venv/bin/python tests/hardening_campaign.py --examples 10000 --kills 50 --out campaign.json

The fuzz tests switch to the ``hardening-long`` hypothesis profile (random, not derandomized, with the example
database, so a failure found once is replayed first next time); the kill test kills each producer ``--kills``
times. The tally (calls, coded answers and crashes per surface, kills survived, parts kept) goes to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).parent
FUZZ = ["test_fuzz_manifest.py", "test_fuzz_tables.py", "test_fuzz_parts.py", "test_hardening_regressions.py"]
KILL = ["test_hardening_crash.py"]


def main() -> int:
    """Run the campaign and return pytest's exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=2000, help="hypothesis examples per fuzz test")
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs per producer")
    parser.add_argument("--no-kills", action="store_true", help="fuzz only")
    parser.add_argument("--out", type=Path, help="write the tally as JSON here")
    args = parser.parse_args()
    tally = Path(tempfile.mkstemp(suffix=".json")[1])
    tally.unlink()
    env = {
        **os.environ,
        "SNNTRACE_FUZZ": "long",
        "SNNTRACE_FUZZ_EXAMPLES": str(args.examples),
        "SNNTRACE_KILLS": str(args.kills),
        "SNNTRACE_FUZZ_TALLY": str(tally),
    }
    files = FUZZ + ([] if args.no_kills else KILL)
    status = subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *[str(HERE / f) for f in files]],
        cwd=HERE.parent,
        env=env,
    )
    counts = json.loads(tally.read_text()) if tally.exists() else {}
    text = json.dumps(counts, indent=2, sort_keys=True)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
