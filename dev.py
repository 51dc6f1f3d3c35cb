"""The project's two entry points, needing nothing but python3:

    python3 dev.py app [--data PATH] [--users FILE]   run the dashboard (sample data, open, by default)
    python3 dev.py test [PYTEST ARGS]                  lint and run the test suite

Each creates .venv on first use and installs the pinned requirements, again
only when a requirements file changes.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("PRACTICE_VENV", ROOT / ".venv"))
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(requirements: str) -> None:
    if not PYTHON.exists():
        print(f"creating virtualenv in {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    files = sorted(ROOT.glob("requirements*.txt"))
    digest = hashlib.sha256(b"".join(f.read_bytes() for f in files) + requirements.encode()).hexdigest()
    stamp = VENV / f".installed-{requirements}"
    if stamp.exists() and stamp.read_text() == digest:
        return
    print(f"installing {requirements}", flush=True)
    subprocess.run([PYTHON, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "-r", ROOT / requirements], check=True)
    stamp.write_text(digest)


def run(*args) -> int:
    return subprocess.run([str(a) for a in args], cwd=ROOT).returncode


def main(argv: list[str]) -> int:
    command, rest = (argv[0], argv[1:]) if argv else ("help", [])
    if command == "app":
        ensure_venv("requirements.txt")
        return run(PYTHON, "-m", "streamlit", "run", "dashboard/app.py",
                   "--browser.gatherUsageStats", "false", "--", *rest)
    if command == "test":
        ensure_venv("requirements-dev.txt")
        lint = run(PYTHON, "-m", "ruff", "check", ".")
        code = run(PYTHON, "-m", "pytest", *rest)
        if code == 5:
            print("pytest collected no tests: nothing was checked", file=sys.stderr)
            return 1
        return code or lint
    print(__doc__)
    return 0 if command in ("help", "-h", "--help") else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
