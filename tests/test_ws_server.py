"""A modrun environment served over WebSocket with Vite's protocol: the token and loopback checks,
the raw protocol from a Python client, and a real Vite `ModuleRunner` in Node (npm `vite`, pinned)
importing a multi-module graph from a modrun server.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from runner import Server, UsageError
from runner.rpc.websocket import EnvironmentWebSocketServer, serve_environment
from tests.project_files import write

VITE_VERSION = "8.3.8"
CACHE = Path(__file__).with_name(".cache") / "vite"
NODE = shutil.which("node")
NPM = shutil.which("npm")


GRAPH = {
    "src/entry.js": (
        'import { render as renderPage } from "./page.js";\n'
        'import * as geometry from "./geometry/index.js";\n'
        'import config from "./config.json";\n'
        'import { viaA } from "./cycle-b.js";\n'
        'export { counter, bump } from "./state.js";\n'
        "export const shapes = [new geometry.Square(3), new geometry.Circle(1)];\n"
        "export const cycle = viaA();\n"
        "export function render(path) { return renderPage(path, config.title); }\n"
        'export async function lazy() { const m = await import("./lazy.js"); return m.default(); }\n'
        'export const meta = { url: import.meta.url.endsWith("/src/entry.js"),'
        ' filename: String(import.meta.filename).endsWith("entry.js") };\n'
        "export function failure() { try { geometry.explode(); } catch (e) { return e.stack; } }\n"
        "if (import.meta.hot) {\n"
        '  import.meta.hot.on("modrun:ping", (data) => {\n'
        "    globalThis.__modrunPing = data;\n"
        '    import.meta.hot.send("modrun:pong", { n: data.n + 1 });\n'
        "  });\n"
        '  import.meta.hot.send("modrun:ready", { cycle });\n'
        "}\n"
    ),
    "src/page.js": (
        'import { layout } from "./layout.js";\nimport { escape } from "./util.js";\n'
        "export function render(path, title) { return layout(title, `<p>${escape(path)}</p>`); }\n"
    ),
    "src/layout.js": (
        'import { escape } from "./util.js";\n'
        "export const layout = (title, body) => `<title>${escape(title)}</title>${body}`;\n"
    ),
    "src/util.js": "export function escape(s) { return String(s).replace(/</g, '&lt;'); }\n",
    "src/cycle-a.js": 'import { b } from "./cycle-b.js";\nexport function a() { return "a" + b(); }\n',
    "src/cycle-b.js": ('import { a } from "./cycle-a.js";\nexport function b() { return "b"; }\n'
                       "export const viaA = () => a();\n"),
    "src/geometry/index.js": 'export * from "./shapes.js";\nexport { Circle } from "./circle.js";\n',
    "src/geometry/shapes.js": (
        "export class Shape { area() { return 0; } }\n"
        "export class Square extends Shape {\n  constructor(side) { super(); this.side = side; }\n"
        "  area() { return this.side * this.side; }\n}\n"
        "export function explode() {\n  throw new Error('boom');\n}\n"
    ),
    "src/geometry/circle.js": (
        'import { Shape } from "./shapes.js";\n'
        "export class Circle extends Shape {\n  constructor(r) { super(); this.r = r; }\n"
        "  area() { return Math.round(Math.PI * this.r * this.r * 100) / 100; }\n}\n"
    ),
    "src/state.js": "export let counter = 0;\nexport function bump() { counter += 1; return counter; }\n",
    "src/lazy.js": 'export default () => "lazy:" + 42;\n',
    "src/config.json": json.dumps({"title": "Shop"}),
    "src/broken.js": 'import { missing } from "./nope.js";\nexport default missing;\n',
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return write(tmp_path / "app", GRAPH)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# ---- safety ----


def test_token_and_loopback_checks(project: Path) -> None:
    async def main() -> None:
        async with Server(root=project, cache_dir=False) as server:
            environment = server.environments["ssr"]
            with pytest.raises(UsageError, match="loopback only"):
                EnvironmentWebSocketServer(environment, host="0.0.0.0")
            async with serve_environment(environment, token="s3cret") as endpoint:
                assert endpoint.url.startswith("ws://127.0.0.1:") and endpoint.url.endswith("/?token=s3cret")
                base = endpoint.url.split("?")[0]
                for bad in (base, base + "?token=wrong", base + "?token="):
                    with pytest.raises(InvalidStatus) as refused:
                        async with connect(bad):
                            pass
                    assert refused.value.response.status_code == 403
                async with connect(base, subprotocols=["vite-ping"]) as probe:  # type: ignore[list-item]
                    await probe.wait_closed()  # Vite's liveness probe: accepted, then closed
                async with connect(endpoint.url) as ws:
                    assert json.loads(await ws.recv()) == {"type": "connected"}
    run(main())


# ---- the protocol, from a Python client ----


def test_invoke_requests_events_and_hmr_payloads(project: Path) -> None:
    async def main() -> None:
        async with Server(root=project, cache_dir=False) as server:
            async with serve_environment(server.environments["ssr"]) as endpoint:
                seen: list[Any] = []
                endpoint.on("app:hello", lambda data, client: seen.append(data))
                async with connect(endpoint.url, subprotocols=["vite-hmr"]) as ws:  # type: ignore[list-item]
                    assert json.loads(await ws.recv())["type"] == "connected"
                    await ws.send('{"type":"ping"}')  # keep-alive: ignored
                    await ws.send("not json at all")  # ignored, as Vite does
                    await ws.send(json.dumps({"type": "custom", "event": "app:hello", "data": {"x": 1}}))
                    requests = [("fetchModule", ["/src/util.js", None, {"startOffset": 2}]),
                                ("fetchModule", ["./nope.js", str(project / "src/entry.js"), {}]),
                                ("getBuiltins", []), ("noSuchHandler", [])]
                    for i, (name, args) in enumerate(requests):  # all in flight at once
                        await ws.send(json.dumps({"type": "custom", "event": "vite:invoke",
                                                  "data": {"name": name, "id": f"send:r{i}", "data": args}}))
                    answers: dict[str, Any] = {}
                    while len(answers) < len(requests):
                        message = json.loads(await ws.recv())
                        assert message["event"] == "vite:invoke"
                        answers[message["data"]["id"]] = message["data"]["data"]
                    module = answers["response:r0"]["result"]
                    assert module["url"] == "/src/util.js" and module["file"] == str(project / "src/util.js")
                    assert "sourceMappingURL=data:application/json;base64," in module["code"]
                    assert f"//# sourceURL={project}/src/util.js\n" in module["code"]  # as Vite's server does
                    error = answers["response:r1"]["error"]
                    assert error["code"] == "ERR_MODULE_NOT_FOUND"
                    assert "Cannot find module './nope.js'" in error["message"]
                    assert answers["response:r2"] == {"result": []}
                    unknown = answers["response:r3"]["error"]
                    assert (unknown["kind"], unknown["code"]) == ("usage", "ERR_UNKNOWN_METHOD")
                    assert "no invoke method named 'noSuchHandler'" in unknown["message"]
                    assert seen == [{"x": 1}]
                    await endpoint.send({"type": "full-reload", "path": "*"})  # the HMR payload channel
                    assert json.loads(await ws.recv()) == {"type": "full-reload", "path": "*"}
                    await endpoint.send("app:event", [1, 2])
                    assert json.loads(await ws.recv()) == {"type": "custom", "event": "app:event", "data": [1, 2]}
    run(main())


# ---- a real Vite ModuleRunner in Node ----


def install_vite() -> Path:
    """npm `vite` at the pinned version, installed once into tests/.cache/vite (gitignored)."""
    package = CACHE / "node_modules" / "vite" / "package.json"
    if not package.is_file() or json.loads(package.read_text()).get("version") != VITE_VERSION:
        CACHE.mkdir(parents=True, exist_ok=True)
        (CACHE / "package.json").write_text(json.dumps({"private": True, "type": "module"}) + "\n")
        assert NPM is not None
        done = subprocess.run([NPM, "install", "--prefix", str(CACHE), f"vite@{VITE_VERSION}", "--no-audit",
                               "--no-fund", "--loglevel=error"], capture_output=True, text=True, timeout=300)
        if done.returncode != 0:
            pytest.skip(f"npm could not install vite@{VITE_VERSION}: {done.stderr.strip()[-500:]}")
    script = CACHE / "vite_runner.mjs"
    shutil.copyfile(Path(__file__).with_name("vite_interop") / "vite_runner.mjs", script)
    return script


@pytest.mark.skipif(NODE is None or NPM is None, reason="node and npm are needed to run Vite's module runner")
@pytest.mark.parametrize("evaluator", ["inprocess", "process"])
def test_vite_module_runner_imports_a_graph_from_modrun(project: Path, evaluator: str) -> None:
    script = install_vite()

    async def main() -> tuple[dict[str, Any], list[Any], list[Any]]:
        # The evaluator is irrelevant to remote runners (they bring their own runtime); serving the
        # same environment to both proves the module graph and transforms are shared.
        async with Server(root=project, cache_dir=False, environments={"edge": {"evaluator": evaluator}}) as server:
            environment = server.environments["edge"]
            local = await environment.import_module("/src/entry.js")
            assert local.cycle == "ab"
            async with serve_environment(environment) as endpoint:
                ready: list[Any] = []
                pongs: list[Any] = []

                async def on_ready(data: Any, client: Any) -> None:
                    ready.append(data)
                    await client.send("modrun:ping", {"n": 41})

                endpoint.on("modrun:ready", on_ready)
                endpoint.on("modrun:pong", lambda data, client: pongs.append(data))
                node = await asyncio.create_subprocess_exec(
                    str(NODE), "--experimental-websocket", "--no-warnings", str(script), endpoint.url,
                    "/src/entry.js", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                    env={**os.environ, "NODE_OPTIONS": ""})
                stdout, stderr = await asyncio.wait_for(node.communicate(), 60)
                assert node.returncode == 0, stderr.decode()
                lines = [line for line in stdout.decode().splitlines() if line.startswith("{")]
                assert lines, stdout.decode() + stderr.decode()
                return json.loads(lines[-1]), ready, pongs

    out, ready, pongs = run(main())
    assert "error" not in out, out.get("error")
    assert out["exports"] == ["bump", "counter", "cycle", "failure", "lazy", "meta", "render", "shapes"]
    assert out["render"] == "<title>Shop</title><p>/about</p>"
    assert out["counter"] == [0, 1, 1]  # a live binding through Vite's exports getters
    assert out["shapes"] == [["Square", 9], ["Circle", 3.14]]  # classes extended across modules, export *
    assert out["lazy"] == "lazy:42"  # a dynamic import, fetched when called
    assert out["meta"] == {"url": True, "filename": True}
    # modrun's inlined source map, applied by Vite's own source-map support: the original line.
    assert out["stackLine"] is not None and out["stack"] and f"{project}/src/geometry/shapes.js:7:" in out["stackLine"]
    assert ready == [{"cycle": "ab"}]
    assert out["ping"] == {"n": 41} and pongs == [{"n": 42}]  # the HMR channel, both ways
    assert "Cannot find module './nope.js'" in out["broken"]["message"]
    assert out["broken"]["code"] == "ERR_MODULE_NOT_FOUND"
