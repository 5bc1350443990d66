"""Benchmark ``snntrace report``: time, peak RSS and HTML size for traces of 1M, 10M and 50M spikes.

Baseline measured in the same run: the time pyarrow takes just to read the spike columns of the same trace. The
target is report time <= 3x that. Each report runs in a fresh process so peak RSS is its own.

    .venv/bin/python benchmarks/bench_report.py --out benchmarks/results/report.json [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = """
import json, resource, sys, time
import snntrace
t = time.perf_counter()
snntrace.report(sys.argv[1], sys.argv[2], force=True)
elapsed = time.perf_counter() - t
print(json.dumps({"seconds": elapsed, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

READ = """
import json, sys, time
import pyarrow.parquet as pq
from snntrace.reader import open_trace
trace = open_trace(sys.argv[1])
t = time.perf_counter()
rows = sum(pq.read_table(p, columns=["t", "population", "neuron"]).num_rows for p in trace.parts("spikes"))
print(json.dumps({"seconds": time.perf_counter() - t, "rows": rows}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--quick", action="store_true", help="small traces (100k and 1M spikes) for a smoke run")
    parser.add_argument(
        "--sizes", type=lambda text: tuple(int(float(x)) for x in text.split(",")), help="spike counts, e.g. 1e6,1e7"
    )
    args = parser.parse_args()
    from snntrace.synthetic import write_synthetic_trace

    sizes = args.sizes or ((100_000, 1_000_000) if args.quick else (1_000_000, 10_000_000, 50_000_000))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for spikes in sizes:
            trace = Path(tmp) / f"t{spikes}.trace"
            write_synthetic_trace(trace, spikes=spikes, samples=max(200, spikes // 5000), neurons=400, overwrite=True)
            read = min((run(READ, str(trace)) for _ in range(2)), key=lambda r: r["seconds"])
            report = run(CHILD, str(trace), str(Path(tmp) / "r.html"))
            html_mb = (Path(tmp) / "r.html").stat().st_size / 1e6
            row = {
                "spikes": spikes,
                "report_seconds": round(report["seconds"], 2),
                "peak_rss_mb": round(report["peak_rss_mb"], 1),
                "html_mb": round(html_mb, 2),
                "pyarrow_read_seconds": round(read["seconds"], 3),
                "ratio": round(report["seconds"] / max(read["seconds"], 1e-9), 1),
            }
            print(json.dumps(row), flush=True)
            results.append(row)
            shutil.rmtree(trace)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "report", "quick": args.quick, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
