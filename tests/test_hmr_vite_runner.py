"""The WebSocket case of HMR: a real Vite `ModuleRunner` in Node (npm `vite`, pinned, installed as
for tests/test_ws_server.py) imports from a modrun environment, a file is edited, and the update
modrun sends is applied by Vite's runner: the accept callback runs with the new module."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from runner import Server, serve_environment
from tests.test_ws_server import NODE, NPM, install_vite

GUARD = 120.0  # seconds: a hang guard, not a bound


@pytest.mark.skipif(NODE is None or NPM is None, reason="node and npm are needed to run Vite's module runner")
def test_vite_module_runner_applies_an_update_sent_by_modrun(tmp_path: Path) -> None:
    script = install_vite().with_name("vite_hmr_runner.mjs")
    shutil.copyfile(Path(__file__).with_name("vite_interop") / "vite_hmr_runner.mjs", script)
    root = tmp_path / "app"
    root.mkdir()
    (root / "dep.js").write_text("export const value = 1;\n")
    # A relative specifier in accept(): Vite's runner resolves nothing itself, so modrun serves it as
    # the url its updates name ("/dep.js"), as Vite's import analysis does.
    (root / "main.js").write_text(
        'import { value } from "./dep.js";\nexport const first = value;\n'
        'import.meta.hot.accept("./dep.js", (mod) => { globalThis.__applied = mod.value; });\n'
        'import.meta.hot.send("test:loaded", { value });\n')

    async def main() -> dict[str, Any]:
        async with Server(root=root, hmr=True, cache_dir=False) as server:
            environment = server.environments["ssr"]
            loaded = asyncio.Event()
            environment.hot.on("test:loaded", lambda data, client: loaded.set())
            async with serve_environment(environment) as endpoint:
                await server.watch()
                assert NODE is not None
                process = await asyncio.create_subprocess_exec(
                    NODE, "--experimental-websocket", str(script), endpoint.url, "/main.js",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
                try:
                    await asyncio.wait_for(loaded.wait(), GUARD)
                    (root / "dep.js").write_text("export const value = 2;\n")
                    out, err = await asyncio.wait_for(process.communicate(), GUARD)
                finally:
                    if process.returncode is None:
                        process.kill()
                        await process.wait()
                assert process.returncode == 0, err.decode()
                return dict(json.loads(out.decode().strip().splitlines()[-1]))

    assert asyncio.run(main()) == {"first": 1, "applied": 2}
