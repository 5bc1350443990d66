#!/usr/bin/env python3
"""Run every benchmark (benchmarks/bench_*.py) and write one JSON result per benchmark to benchmarks/results/.

    python3 dev.py bench [--quick] [NAME ...]

Each bench_<name>.py is a script taking ``--out FILE`` and ``--quick`` (smaller sizes for a smoke run). Every
benchmark measures its baseline in the same run and reports ratios, so figures from different machines compare.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: all), e.g. writer report")
    parser.add_argument("--quick", action="store_true", help="small sizes: check the benchmarks run, not the figures")
    args = parser.parse_args()
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.names:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.names]
    failed = 0
    for script in scripts:
        out = HERE / "results" / f"{script.stem.removeprefix('bench_')}.json"
        command = [sys.executable, str(script), "--out", str(out)] + (["--quick"] if args.quick else [])
        print(f"== {script.name}", flush=True)
        failed += subprocess.call(command) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
