"""Build ``fixture.sqlite3``: a real sPyNNaker recording database with hand-packed recordings.

sPyNNaker on a virtual board maps the network and writes every table (populations, recordings, cores, recording
regions, region metadata, segment) but records nothing. This script runs such a network with the database kept,
then fills ``recording_data`` with seeded, hand-packed blobs in sPyNNaker's layouts -- ``NEURON_SPIKES`` bitfields,
``MULTI_SPIKES`` blocks for the Poisson source, ``S1615`` ``MATRIX`` rows for voltages -- split over two
extractions (one record cut across the boundary) and sets ``segment.t_stop``. sPyNNaker's own reader
(``NeoBufferDatabase``) decodes the result; the tests compare snntrace's conversion with it.

    .venv/bin/python tests/data/spinnaker/build_fixture.py [OUT.sqlite3]

Runs in a temporary HOME (with ``~/.spynnaker.cfg``) and working directory; takes ~6 s.
"""

from __future__ import annotations

import math
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixture.sqlite3"
CONFIG = """[Machine]
virtual_board = True
version = 5

[Reports]
keep_data_database = True
"""
STEPS = 60  # simulation time steps of 1 ms
SPLIT = 33  # extraction 1 holds timesteps < SPLIT
NETWORK = """
import pyNN.spiNNaker as sim
sim.setup(timestep=1.0)
sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 6)
stim = sim.Population(5, sim.SpikeSourcePoisson(rate=20.0), label="stim")
exc = sim.Population(10, sim.IF_curr_exp(), label="exc")
inh = sim.Population(3, sim.IF_curr_exp(), label="inh")
sim.Projection(stim, exc, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0))
sim.Projection(exc, inh, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0))
sim.Projection(inh, exc, sim.AllToAllConnector(), sim.StaticSynapse(weight=2.0, delay=1.0), receptor_type="inhibitory")
stim.record("spikes")
exc.record(["spikes", "v"])
inh.record("spikes")
inh.record("v", sampling_interval=2.0)
sim.run({steps})
sim.end()
"""


def run_virtual_board(workdir: Path) -> Path:
    """Run the network on a virtual board in ``workdir`` and return the kept data.sqlite3."""
    home = workdir / "home"
    home.mkdir()
    (home / ".spynnaker.cfg").write_text(CONFIG)
    script = workdir / "network.py"
    script.write_text(NETWORK.format(steps=float(STEPS)))
    env = dict(os.environ, HOME=str(home))
    subprocess.run([sys.executable, str(script)], cwd=workdir, env=env, check=True, capture_output=True)
    found = sorted(workdir.glob("reports/*/run_*/data.sqlite3"))
    if not found:
        raise SystemExit("sPyNNaker kept no data.sqlite3")
    return found[-1]


def bitfield_record(timestep: int, fired: np.ndarray, n_neurons: int) -> bytes:
    """Pack one NEURON_SPIKES record: <i4 timestep> then the bitfield words (bit j of word w = neuron 32w+j)."""
    words = np.zeros(math.ceil(n_neurons / 32), dtype="<u4")
    for position in np.flatnonzero(fired):
        words[position // 32] |= np.uint32(1 << (position % 32))
    return np.int32(timestep).astype("<i4").tobytes() + words.tobytes()


def multi_spikes_record(timestep: int, fired: np.ndarray, n_neurons: int) -> bytes:
    """Pack one MULTI_SPIKES record with a single block: <u4 timestep> <u4 n_blocks=1> then one bitfield."""
    return np.array([timestep, 1], dtype="<u4").tobytes() + bitfield_record(0, fired, n_neurons)[4:]


def matrix_row(timestep: int, raw_values: np.ndarray) -> bytes:
    """Pack one MATRIX row: <i4 timestep> then S1615 words (value x 2^15)."""
    return np.int32(timestep).astype("<i4").tobytes() + raw_values.astype("<i4").tobytes()


def fill(database: Path, seed: int = 7) -> None:
    """Insert seeded recordings into every recording region of ``database`` in two extractions."""
    rng = np.random.default_rng(seed)
    connection = sqlite3.connect(database)
    regions = connection.execute(
        """SELECT m.region_id, m.recording_neurons_st, r.buffered_type, r.sampling_interval_ms
           FROM region_metadata m JOIN recording r ON r.rec_id = m.rec_id ORDER BY m.region_id"""
    ).fetchall()
    connection.execute("INSERT INTO extraction(extraction_id, run_timestep, n_run, n_loop, extract_time) VALUES (1, ?, 1, 0, 0)", (SPLIT,))
    connection.execute("INSERT INTO extraction(extraction_id, run_timestep, n_run, n_loop, extract_time) VALUES (2, ?, 1, 0, 0)", (STEPS,))
    for region_id, neurons_text, buffered_type, interval_ms in regions:
        lo, hi = (int(x) for x in neurons_text.split(":"))
        n = hi - lo + 1
        records: list[tuple[int, bytes]] = []
        if buffered_type == "MATRIX":
            for timestep in range(0, STEPS, int(interval_ms)):
                volts = rng.uniform(-70.0, -50.0, n)
                records.append((timestep, matrix_row(timestep, np.round(volts * 32768).astype(np.int64))))
        else:
            pack = multi_spikes_record if buffered_type == "MULTI_SPIKES" else bitfield_record
            for timestep in range(STEPS):
                fired = rng.random(n) < 0.15
                if fired.any():
                    records.append((timestep, pack(timestep, fired, n)))
        first = b"".join(blob for t, blob in records if t < SPLIT)
        second = b"".join(blob for t, blob in records if t >= SPLIT)
        if region_id == regions[0][0] and second:  # cut one record across the extraction boundary
            first, second = first + second[:6], second[6:]
        for extraction, content in ((1, first), (2, second)):
            connection.execute(
                "INSERT INTO recording_data(recording_region_id, extraction_id, content, content_len, missing_data) "
                "VALUES (?, ?, ?, ?, 0)",
                (region_id, extraction, content, len(content)),
            )
    connection.execute("UPDATE segment SET t_stop = ?", (float(STEPS),))
    connection.commit()
    connection.execute("VACUUM")
    connection.close()


def build(out: Path = FIXTURE) -> Path:
    """Build the fixture database at ``out``."""
    with tempfile.TemporaryDirectory() as tmp:
        database = run_virtual_board(Path(tmp))
        fill(database)
        shutil.copyfile(database, out)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE))
