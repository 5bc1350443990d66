"""Benchmark ``snntrace report``: time, peak RSS and HTML size for traces of 1M, 10M and 50M spikes.

Baseline measured in the same run: the time pyarrow takes just to read the spike columns of the same trace. The
target is report time <= 3x that. Each report runs in a fresh process so peak RSS is its own (the still image's
vl-convert child is reported apart); times are the faster of two runs. ``marginal_ratio`` compares what a larger
trace adds over the smallest one: (report - smallest report) / (read - smallest read), the per-spike cost once the
fixed costs (imports, charts, page, still image) are set aside.

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
print(json.dumps({
    "seconds": elapsed,
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "renderer_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
}))
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

# The least a Polars report can do with the spikes: one group-by of every spike by time bin and neuron.
FLOOR = """
import json, sys, time
import polars as pl
from snntrace import aggregate
from snntrace.reader import open_trace
trace = open_trace(sys.argv[1])
bin_ticks = aggregate.auto_bin(trace)
t = time.perf_counter()
trace.spikes.group_by(pl.col("t") // bin_ticks, "population", "neuron").len().collect(engine="streaming")
print(json.dumps({"seconds": time.perf_counter() - t}))
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
            floor = min(run(FLOOR, str(trace))["seconds"] for _ in range(2))
            reports = [run(CHILD, str(trace), str(Path(tmp) / "r.html")) for _ in range(2)]
            report = min(reports, key=lambda r: r["seconds"])
            html_mb = (Path(tmp) / "r.html").stat().st_size / 1e6
            row = {
                "spikes": spikes,
                "report_seconds": round(report["seconds"], 2),
                "peak_rss_mb": round(max(r["peak_rss_mb"] for r in reports), 1),
                "renderer_peak_rss_mb": round(max(r["renderer_peak_rss_mb"] for r in reports), 1),
                "html_mb": round(html_mb, 2),
                "pyarrow_read_seconds": round(read["seconds"], 3),
                "ratio": round(report["seconds"] / max(read["seconds"], 1e-9), 1),
                "polars_group_by_seconds": round(floor, 3),
                "group_by_ratio": round(floor / max(read["seconds"], 1e-9), 1),
            }
            if results:
                first = results[0]
                added_read = read["seconds"] - first["pyarrow_read_seconds"]
                added_report = report["seconds"] - first["report_seconds"]
                row["marginal_ratio"] = round(added_report / added_read, 1) if added_read > 0 else None
            print(json.dumps(row), flush=True)
            results.append(row)
            shutil.rmtree(trace)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"benchmark": "report", "quick": args.quick, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
