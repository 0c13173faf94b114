"""Warm whole-process runs (`modrun run` with the transform cache on disk from earlier runs) never
use a stale resolution or stale code: after an edit that keeps the file's size and modification
time, a new file that now wins resolution, a deleted file, a renamed one and a changed
package.json, each run prints what the files say now — in every evaluator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENTRY = """\
import { v } from "./dep";
import { p } from "pkg";
console.log(JSON.stringify({ v, p }));
"""


def modrun(project: Path, evaluator: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "runner", "run", "main.js", "--evaluator", evaluator, "--json"],
                          cwd=project, capture_output=True, text=True, timeout=120)


def printed(project: Path, evaluator: str) -> dict[str, object]:
    done = modrun(project, evaluator)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])  # --json sends console output to stderr


def package(project: Path, target: str) -> None:
    (project / "node_modules" / "pkg" / "package.json").write_text(
        json.dumps({"name": "pkg", "type": "module", "exports": {".": target}}))


@pytest.mark.parametrize("evaluator", ["inprocess", "wasm", "process"])
def test_a_warm_run_sees_every_change_since_the_last(tmp_path, evaluator):
    project = tmp_path / "app"
    (project / "node_modules" / "pkg").mkdir(parents=True)
    (project / "package.json").write_text('{"type": "module"}')
    (project / "main.js").write_text(ENTRY)
    (project / "dep.js").write_text("export const v = 1;\n")
    (project / "node_modules" / "pkg" / "a.js").write_text('export const p = "a";\n')
    (project / "node_modules" / "pkg" / "b.js").write_text('export const p = "b";\n')
    package(project, "./a.js")
    cache = project / "node_modules" / ".modrun" / "transforms.sqlite"

    assert printed(project, evaluator) == {"v": 1, "p": "a"}  # cold
    assert cache.exists()
    assert printed(project, evaluator) == {"v": 1, "p": "a"}  # warm

    # The same size and the same modification time: only the content tells.
    dep = project / "dep.js"
    stamp = dep.stat()
    dep.write_text("export const v = 2;\n")
    os.utime(dep, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert dep.stat().st_size == stamp.st_size
    assert printed(project, evaluator) == {"v": 2, "p": "a"}

    # A new file that comes first in the extension order (.mjs before .js) takes the specifier.
    (project / "dep.mjs").write_text("export const v = 3;\n")
    assert printed(project, evaluator) == {"v": 3, "p": "a"}

    # Deleted: the specifier falls back to dep.js.
    (project / "dep.mjs").unlink()
    assert printed(project, evaluator) == {"v": 2, "p": "a"}

    # Renamed away: a load error (exit 3) that names the specifier, not the module of the last run.
    dep.rename(project / "lib.js")
    failed = modrun(project, evaluator)
    assert failed.returncode == 3, failed.stdout + failed.stderr
    error = json.loads(failed.stdout)["error"]
    assert error["kind"] == "load" and "./dep" in error["message"]
    # ... and renamed back under another extension: resolved again, read again.
    (project / "lib.js").rename(project / "dep.mjs")
    assert printed(project, evaluator) == {"v": 2, "p": "a"}

    # The package's exports now name another file.
    package(project, "./b.js")
    assert printed(project, evaluator) == {"v": 2, "p": "b"}
    # ... with the same size and modification time as before.
    pkg_json = project / "node_modules" / "pkg" / "package.json"
    stamp = pkg_json.stat()
    package(project, "./a.js")
    os.utime(pkg_json, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    assert printed(project, evaluator) == {"v": 2, "p": "a"}

