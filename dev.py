#!/usr/bin/env python3
"""Set up and run snntrace on a fresh machine that has only python3.

    python3 dev.py demo      simulate a small network on the bundled data and write demo-output/report.html
    python3 dev.py test      run the whole test suite (what CI runs)
    python3 dev.py bench     run the benchmarks and write benchmarks/results/*.json

Each command first makes sure the set-up is in place: Debian packages (Chromium for the browser tests, the
Fashion-MNIST data set) when running as root with apt-get, and a virtual environment in .venv with snntrace, its
extras and the test tools installed at the versions pinned in constraints.txt. Nothing is installed twice.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"
STAMP = VENV / ".snntrace-installed"
DEBIAN_PACKAGES = {"chromium": "/usr/bin/chromium", "dataset-fashion-mnist": "/usr/share/datasets/fashion-mnist"}


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(*command: str | os.PathLike, **kwargs) -> None:
    subprocess.run([str(c) for c in command], check=True, **kwargs)


def ensure_debian_packages() -> None:
    """Install Chromium and the Fashion-MNIST data set from Debian when they are missing and we may."""
    missing = [name for name, path in DEBIAN_PACKAGES.items() if not Path(path).exists()]
    if not missing:
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        say(f"cannot install {', '.join(missing)} (needs root and apt-get); the tests that need them will say so")
        return
    say(f"installing Debian packages: {', '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run("apt-get", "update", "-qq", env=env)
    run("apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing, env=env)


def requirements_digest() -> str:
    digest = hashlib.sha256()
    for name in ("pyproject.toml", "constraints.txt"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    """Create .venv and install snntrace with every extra, pinned by constraints.txt."""
    if not (BIN / "python").exists():
        say("creating .venv")
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = requirements_digest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing snntrace and its dependencies into .venv (first run takes a few minutes)")
    pip = [BIN / "python", "-m", "pip", "--disable-pip-version-check", "-q"]
    run(*pip, "install", "--upgrade", "pip", "setuptools", "wheel")
    run(*pip, "install", "-c", ROOT / "constraints.txt", "-e", f"{ROOT}[all,test]")
    STAMP.write_text(wanted)


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "bench", "setup"}:
        print(__doc__)
        return 2
    task, rest = argv[0], argv[1:]
    ensure_debian_packages()
    ensure_venv()
    os.chdir(ROOT)
    if task == "demo":
        command = [BIN / "snntrace", "demo", "-o", "demo-output", "--force", *rest]
    elif task == "test":
        command = [BIN / "python", "-m", "pytest", "-n", "2", "--durations=15", *rest]
    elif task == "bench":
        command = [BIN / "python", "benchmarks/run.py", *rest]
    else:
        return 0
    say(" ".join(str(c) for c in command))
    return subprocess.call([str(c) for c in command])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
