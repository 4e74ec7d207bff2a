"""``python -m polyworker build APP_DIR -o OUT.wasm [--module app]``: builds
a polyworker component from a Python app with componentize-py.

The app module (default ``app``, a file in APP_DIR) registers workflows and
activities and re-exports ``Workflows``, ``Activities`` and ``Versioning``
from ``polyworker``; the build's entry module supplies ``Versioning`` for
apps written before it existed. componentize-py comes from PyPI (``componentize-py``); it is
looked up beside this Python, then on PATH.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SDK = Path(__file__).resolve().parent.parent
WORLD = "polyworker:guest/guest"


def _wit(given):
    """The thin SDKs' WIT: --wit, $POLYWORKER_WIT, or the repository's."""
    for candidate in (given, os.environ.get("POLYWORKER_WIT"), SDK.parent / "wit"):
        if candidate and (Path(candidate) / "guest.wit").is_file():
            return Path(candidate)
    sys.exit("polyworker: the SDK's WIT (guest.wit) was not found; pass --wit DIR")


def _componentize_py():
    beside = Path(sys.executable).parent / "componentize-py"
    if beside.is_file():
        return str(beside)
    found = shutil.which("componentize-py")
    if not found:
        sys.exit("polyworker: componentize-py not found (pip install componentize-py==0.25.1)")
    return found


ENTRY = """# The component's entry, written by `python -m polyworker build`.
from {module} import *  # noqa: F401,F403 - whatever else the app exports
from {module} import Activities, Workflows  # noqa: F401

try:
    from {module} import Versioning  # noqa: F401
except ImportError:
    from polyworker import Versioning  # noqa: F401
"""


def build(app_dir, out, module, wit):
    with tempfile.TemporaryDirectory() as entry_dir:
        Path(entry_dir, "_polyworker_entry.py").write_text(ENTRY.format(module=module))
        cmd = [
            _componentize_py(),
            "-d", str(_wit(wit)),
            "-w", WORLD,
            "componentize",
            "-p", str(app_dir),
            "-p", str(SDK),
            "-p", entry_dir,
            "_polyworker_entry",
            "-o", str(out),
        ]
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    size = Path(out).stat().st_size
    print(f"polyworker-py: wrote {out} ({size // 1048576} MiB)", file=sys.stderr)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m polyworker")
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a component from a Python app")
    b.add_argument("app_dir", help="the directory holding the app module")
    b.add_argument("-o", "--output", required=True, help="the component to write")
    b.add_argument("--module", default="app", help="the app module (default: app)")
    b.add_argument("--wit", help="the SDK's WIT directory (default: the repository's)")
    args = parser.parse_args(argv)
    try:
        build(args.app_dir, args.output, args.module, args.wit)
    except subprocess.CalledProcessError as e:
        sys.exit(e.returncode)


if __name__ == "__main__":
    main()
