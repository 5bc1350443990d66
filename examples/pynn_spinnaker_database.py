"""Convert a SpiNNaker run's recording database into a trace (no board or sPyNNaker needed for reading).

On a machine with a board, run your sPyNNaker script with ``keep_data_database = True`` under ``[Reports]`` in
``~/.spynnaker.cfg``; the recordings stay in ``reports/<stamp>/run_<n>/data.sqlite3`` after ``sim.end()``. This
example converts every such database under a reports folder (default: the test fixture shipped with snntrace)::

    .venv/bin/python examples/pynn_spinnaker_database.py [REPORTS_DIR_OR_DATABASE] [OUTPUT_DIR]

The command line does the same for one database: ``snntrace convert spinnaker data.sqlite3 -o run.trace``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from snntrace.adapters.spinnaker import convert_database, iter_databases

import snntrace

FIXTURE = Path(__file__).resolve().parents[1] / "tests" / "data" / "spinnaker" / "fixture.sqlite3"


def main(source: Path, out: Path) -> list[Path]:
    """Convert the database(s) found at ``source`` into traces under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    databases = [source] if source.is_file() else [db for run in sorted(source.glob("**/run_*")) for db in iter_databases(run)]
    traces = []
    for number, database in enumerate(databases):
        trace = convert_database(database, out / f"spinnaker_{number}.trace", overwrite=True)
        opened = snntrace.open_trace(trace)
        print(f"{database} -> {trace}: {opened.spikes.collect().height} spikes, {opened.states.collect().height} state samples")
        traces.append(trace)
    return traces


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else FIXTURE, Path(sys.argv[2]) if len(sys.argv) > 2 else Path("pynn-output"))
