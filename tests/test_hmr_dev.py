"""`modrun dev --json` as a user's tool reads it: one JSON object per line per event, in two
evaluators side by side (`--evaluator inprocess,wasm`), through a syntax error, an exception while
re-running (both located in the file), the fix (an accepted update) and an edit of the entry itself
(a full reload); Ctrl-C ends it with exit code 0. Waits are hang guards only."""

from __future__ import annotations

import concurrent.futures
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.test_hmr import GUARD

MAIN = ('import { value } from "./dep.js";\nlet current = value;\nexport const read = () => current * 10;\n'
        'import.meta.hot.accept("./dep.js", (mod) => { current = mod.value; });\n')


def test_modrun_dev_json_lines_in_two_evaluators(tmp_path: Path) -> None:
    root = tmp_path / "app"
    root.mkdir()
    (root / "dep.js").write_text("export const value = 1;\n")
    (root / "main.js").write_text(MAIN)
    modrun = Path(sys.executable).with_name("modrun")
    process = subprocess.Popen([str(modrun), "dev", "main.js", "--call", "read", "--json",
                                "--evaluator", "inprocess,wasm"], cwd=root, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    pool = concurrent.futures.ThreadPoolExecutor(1)

    def events() -> dict[str, dict[str, Any]]:
        """The next line of each environment."""
        seen: dict[str, dict[str, Any]] = {}
        while len(seen) < 2:
            assert process.stdout is not None
            line = pool.submit(process.stdout.readline).result(timeout=GUARD)
            assert line, process.stderr.read() if process.stderr else ""
            event = json.loads(line)
            assert event["environment"] not in seen
            seen[event["environment"]] = event
        assert set(seen) == {"inprocess", "wasm"}
        return seen

    try:
        for event in events().values():
            assert event["event"] == "ready" and event["entry"] == "/main.js" and event["result"] == 10
            assert event["exports"] == ["read"] and event["errors"] == [] and event["ms"] > 0
        (root / "dep.js").write_text("export const value = ;\n")
        for event in events().values():
            assert event["event"] == "error" and "result" not in event
            [error] = event["errors"]
            assert error["name"] == "SyntaxError" and error["kind"] == "load"
            assert (Path(error["file"]).name, error["line"], error["column"]) == ("dep.js", 1, 22)
            assert "export const value = ;" in error["frame"]
        (root / "dep.js").write_text("export const value = 4;\nthrow new Error('boom');\n")
        for event in events().values():
            assert event["event"] == "update" and event["accepted"] is True
            [error] = event["errors"]
            assert error["kind"] == "js" and error["message"] == "boom"
            assert (Path(error["file"]).name, error["line"]) == ("dep.js", 2)
        (root / "dep.js").write_text("export const value = 4;\n")
        for event in events().values():
            assert event["event"] == "update" and event["accepted"] is True and event["errors"] == []
            assert event["modules"] == ["/dep.js via /main.js"] and event["reloaded"] == [] and event["result"] == 40
        (root / "main.js").write_text(MAIN.replace("* 10", "* 100"))
        for event in events().values():
            assert event["event"] == "full-reload" and event["accepted"] is False
            assert event["reloaded"] == ["/main.js"] and event["result"] == 400
            assert Path(event["file"]).name == "main.js"
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=GUARD)
        assert process.returncode == 0, err
        assert out == ""
    finally:
        if process.poll() is None:
            process.kill()
        pool.shutdown(wait=False)


def test_modrun_dev_evaluator_list_errors_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "main.js").write_text("export const x = 1;\n")
    modrun = Path(sys.executable).with_name("modrun")
    for evaluators, message in (("inprocess,nope", "unknown evaluator 'nope'"), ("wasm,wasm", "each once"),
                                ("inprocess,", "each once")):
        done = subprocess.run([str(modrun), "dev", "main.js", "--json", "--evaluator", evaluators], cwd=tmp_path,
                              capture_output=True, text=True, timeout=GUARD)
        assert done.returncode == 2
        error = json.loads(done.stdout)["error"]
        assert error["kind"] == "usage" and message in error["message"]
