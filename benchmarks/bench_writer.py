#!/usr/bin/env python3
"""Benchmark the trace writer: throughput and bytes per spike, against SONATA-style HDF5 in the same run.

    python benchmarks/bench_writer.py --out benchmarks/results/writer.json [--quick] [--spikes N]

A synthetic spike stream (1600 neurons firing as independent Poisson processes, 0.1 ms ticks, about 3.2 spikes per
tick) is written in 1M-spike chunks five ways, each from the same seeded chunks:

- snntrace: ``TraceWriter.write_spikes`` (int64 ticks DELTA_BINARY_PACKED, dictionary ids, zstd; the spec's
  encodings) including close();
- Parquet with pyarrow's default settings (snappy, dictionary everywhere, plain ticks), same columns, and the
  same with zstd (so the gain of the spec's per-column encodings shows apart from the codec);
- SONATA-style HDF5 as stored: ``/spikes/<population>/timestamps`` float64 (ms) + ``node_ids`` uint64, chunked
  datasets without a filter;
- the same with gzip + shuffle.

Only writing is timed (generating the chunks is not). Results are JSON with ratios to snntrace.
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from snntrace import Population, TraceWriter  # noqa: E402

NEURONS = 1600
RESOLUTION = 1e-4
RATE_PER_TICK = 3.2  # 1600 neurons at 20 Hz: 32,000 spikes/s = 3.2 per 0.1 ms tick
CHUNK = 1_000_000
TARGET_BYTES_PER_SPIKE = 1.7


def chunks(total: int, seed: int = 0):
    """Yield (ticks int64, neuron uint32) chunks of a seeded Poisson stream, about CHUNK spikes each."""
    rng = np.random.default_rng(seed)
    start, produced = 0, 0
    ticks_per_chunk = int(CHUNK / RATE_PER_TICK)
    while produced < total:
        counts = rng.poisson(RATE_PER_TICK, ticks_per_chunk)
        t = np.repeat(np.arange(start, start + ticks_per_chunk, dtype=np.int64), counts)[: total - produced]
        neuron = rng.integers(0, NEURONS, len(t), dtype=np.uint32)
        yield t, neuron
        produced += len(t)
        start += ticks_per_chunk


def size_of(path: Path) -> int:
    """Return the bytes of a file or of every file under a directory."""
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def write_snntrace(path: Path, total: int) -> float:
    elapsed = 0.0
    writer = TraceWriter(path, name="bench", time_resolution=RESOLUTION, populations=[Population("p", NEURONS)])
    for t, neuron in chunks(total):
        began = time.perf_counter()
        writer.write_spikes(t, 0, neuron)
        elapsed += time.perf_counter() - began
    began = time.perf_counter()
    writer.close()
    return elapsed + time.perf_counter() - began


def write_parquet_default(path: Path, total: int, **options) -> float:
    schema = pa.schema([("t", pa.int64()), ("population", pa.uint16()), ("neuron", pa.uint32())])
    elapsed = 0.0
    with pq.ParquetWriter(path, schema, **options) as writer:
        for t, neuron in chunks(total):
            began = time.perf_counter()
            writer.write_table(pa.table([t, np.zeros(len(t), np.uint16), neuron], schema=schema), row_group_size=1 << 20)
            elapsed += time.perf_counter() - began
        began = time.perf_counter()
    return elapsed + time.perf_counter() - began


def write_sonata(path: Path, total: int, **filters) -> float:
    import h5py

    elapsed = 0.0
    began = time.perf_counter()
    with h5py.File(path, "w") as f:
        f.attrs["magic"] = np.uint32(0x0A7A)
        f.attrs["version"] = np.array([0, 1], dtype=np.uint32)
        group = f.create_group("spikes/p")
        group.attrs["sorting"] = "by_time"
        stamps = group.create_dataset("timestamps", shape=(0,), maxshape=(None,), dtype="f8", chunks=(1 << 20,), **filters)
        stamps.attrs["units"] = "ms"
        nodes = group.create_dataset("node_ids", shape=(0,), maxshape=(None,), dtype="u8", chunks=(1 << 20,), **filters)
        elapsed += time.perf_counter() - began
        for t, neuron in chunks(total):
            began = time.perf_counter()
            n = stamps.shape[0]
            stamps.resize((n + len(t),))
            nodes.resize((n + len(t),))
            stamps[n:] = t * (RESOLUTION * 1e3)
            nodes[n:] = neuron.astype(np.uint64)
            elapsed += time.perf_counter() - began
        began = time.perf_counter()
    return elapsed + time.perf_counter() - began


def measure(name: str, function, path: Path, total: int) -> dict:
    seconds = function(path, total)
    size = size_of(path)
    result = {"seconds": round(seconds, 3), "spikes_per_s": round(total / seconds), "bytes": size, "bytes_per_spike": round(size / total, 3)}
    print(f"{name:<26} {result['spikes_per_s'] / 1e6:8.2f} M spikes/s {result['bytes_per_spike']:8.3f} B/spike", flush=True)
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    return result


def entropy_bytes_per_spike(total: int) -> float:
    """Return the empirical entropy of the stream (neuron id + tick delta, independent), in bytes per spike."""
    ids = np.zeros(NEURONS)
    deltas: dict[int, int] = {}
    previous = None
    for t, neuron in chunks(min(total, 5 * CHUNK)):
        ids += np.bincount(neuron, minlength=NEURONS)
        d = np.diff(t, prepend=t[0] if previous is None else previous)
        previous = t[-1]
        for value, count in zip(*np.unique(d, return_counts=True)):
            deltas[int(value)] = deltas.get(int(value), 0) + int(count)

    def h(counts) -> float:
        p = np.asarray(counts, dtype=float)
        p = p[p > 0] / p.sum()
        return float(-(p * np.log2(p)).sum())

    return (h(ids) + h(list(deltas.values()))) / 8


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON results file")
    parser.add_argument("--quick", action="store_true", help="2M spikes instead of 50M")
    parser.add_argument("--spikes", type=int, help="number of spikes (overrides --quick)")
    args = parser.parse_args()
    total = args.spikes or (2_000_000 if args.quick else 50_000_000)
    print(f"{total:,} spikes, {NEURONS} neurons, {RESOLUTION * 1e3:g} ms ticks", flush=True)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench_writer_") as tmp:
        tmp = Path(tmp)
        results["snntrace"] = measure("snntrace", write_snntrace, tmp / "run.trace", total)
        results["parquet_default"] = measure("parquet (pyarrow defaults)", write_parquet_default, tmp / "default.parquet", total)
        results["parquet_default_zstd"] = measure(
            "parquet (defaults + zstd)", lambda p, n: write_parquet_default(p, n, compression="zstd"), tmp / "zstd.parquet", total
        )
        results["sonata_hdf5"] = measure("SONATA HDF5 as stored", write_sonata, tmp / "sonata.h5", total)
        results["sonata_hdf5_gzip_shuffle"] = measure(
            "SONATA HDF5 gzip+shuffle", lambda p, n: write_sonata(p, n, compression="gzip", shuffle=True), tmp / "gzip.h5", total
        )
    ours = results["snntrace"]
    ratios = {
        f"{name}_bytes_over_snntrace": round(r["bytes"] / ours["bytes"], 2) for name, r in results.items() if name != "snntrace"
    } | {
        f"snntrace_throughput_over_{name}": round(ours["spikes_per_s"] / r["spikes_per_s"], 2) for name, r in results.items() if name != "snntrace"
    }
    document = {
        "benchmark": "writer",
        "spikes": total,
        "neurons": NEURONS,
        "resolution_s": RESOLUTION,
        "spikes_per_tick": RATE_PER_TICK,
        "entropy_bytes_per_spike": round(entropy_bytes_per_spike(total), 3),
        "target_bytes_per_spike": TARGET_BYTES_PER_SPIKE,
        "meets_target": ours["bytes_per_spike"] <= TARGET_BYTES_PER_SPIKE,
        "results": results,
        "ratios": ratios,
        "machine": {"python": platform.python_version(), "pyarrow": pa.__version__, "processor": platform.machine()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(ratios, indent=2))
    print(f"entropy {document['entropy_bytes_per_spike']} B/spike; target <= {TARGET_BYTES_PER_SPIKE}: {'met' if document['meets_target'] else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
