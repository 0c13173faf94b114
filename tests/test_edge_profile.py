"""The edge profile, in every evaluator: the ECMA-429 globals present, Node's absent with a message
that says so, code generation from strings refused, fetch denied by default and served by a
Python handler or an allowed origin (a real socket on loopback), crypto.subtle checked against
hashlib and hmac, entropy from the host per runtime; and the bare profile exactly as before."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import FetchRequest, FetchResponse, JSError, Server, UsageError
from runner.config import EnvironmentConfig, resolve_conditions
from runner.js import libraries
from tests.project_files import write

EVALUATORS = ["inprocess", "wasm", "process"]

# ECMA-429's interfaces and global members, less WebAssembly (QuickJS has none: a documented
# divergence) and the timers (the event loop's, issue 10 part B).
INTERFACES = [
    "AbortController", "AbortSignal", "Event", "EventTarget", "CustomEvent", "ErrorEvent", "MessageChannel",
    "MessageEvent", "MessagePort", "PromiseRejectionEvent", "DOMException", "Headers", "Request", "Response",
    "FormData", "Blob", "File", "CompressionStream", "DecompressionStream", "ByteLengthQueuingStrategy",
    "CountQueuingStrategy", "ReadableByteStreamController", "ReadableStream", "ReadableStreamBYOBReader",
    "ReadableStreamBYOBRequest", "ReadableStreamDefaultController", "ReadableStreamDefaultReader", "TransformStream",
    "TransformStreamDefaultController", "WritableStream", "WritableStreamDefaultController",
    "WritableStreamDefaultWriter", "TextDecoder", "TextDecoderStream", "TextEncoder", "TextEncoderStream", "URL",
    "URLSearchParams", "URLPattern", "Crypto", "CryptoKey", "SubtleCrypto", "Performance",
]
GLOBALS = ["globalThis", "self", "atob", "btoa", "queueMicrotask", "reportError", "structuredClone", "fetch",
           "console", "crypto", "performance", "navigator"]
NODE_ONLY = ["process", "Buffer", "require", "module", "exports", "__dirname", "__filename", "global", "setImmediate"]


def run(coroutine):
    return asyncio.run(coroutine)


async def call(root: Path, source: str, *args, evaluator: str = "inprocess", profile: str | None = "edge",
               **server_options):
    """Import `source` as /entry.js and call its default export."""
    write(root, {"entry.js": source})
    config = {"evaluator": evaluator} | ({"profile": profile} if profile else {})
    async with Server(root=root, environments={"t": config}, cache_dir=False, **server_options) as server:
        module = await server.environments["t"].import_module("/entry.js")
        return await module.default(*args)


def test_the_libraries_are_built_with_their_licences():
    assert libraries.is_current(), "runner/js/vendor/libraries.json is missing or stale"
    notices = libraries.LICENSES.read_text()
    for package in ("web-streams-polyfill", "whatwg-url", "urlpattern-polyfill", "@exodus/bytes", "event-target-shim",
                    "core-js-pure", "fflate", "@noble/ciphers"):
        assert f"\n{package} " in "\n" + notices, f"no licence notice for {package}"


def test_edge_is_the_default_profile():
    assert EnvironmentConfig().profile == "edge"
    assert EnvironmentConfig.from_config("x", {}).profile == "edge"
    with pytest.raises(UsageError, match="unknown profile 'deno'; available: bare, edge"):
        EnvironmentConfig.from_config("x", {"profile": "deno"})


def test_edge_resolve_conditions_pick_web_builds_and_never_node():
    edge = resolve_conditions(EnvironmentConfig.from_config("x", {"conditions": ["node", "custom"]}), "production")
    assert edge == ["edge-light", "workerd", "worker", "browser", "import", "module", "default", "production", "custom"]
    bare = resolve_conditions(EnvironmentConfig.from_config("x", {"profile": "bare"}), "production")
    assert bare == ["import", "module", "default", "production"]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_the_common_api_is_there_and_node_is_not(tmp_path, evaluator):
    source = ("export default (interfaces, globals, node) => ({\n"
              "  interfaces: interfaces.filter((n) => typeof globalThis[n] !== 'function'),\n"
              "  globals: globals.filter((n) => globalThis[n] === undefined || globalThis[n] === null),\n"
              "  node: node.filter((n) => typeof globalThis[n] !== 'undefined'),\n"
              "  enumerable: Object.keys(globalThis).filter((n) => interfaces.includes(n)),\n"
              "  self: self === globalThis, ua: navigator.userAgent, wasm: typeof WebAssembly,\n"
              "  performance: [performance instanceof Performance, String(performance),\n"
              "    performance.now() >= 0 && performance.now() < 60e3, performance.timeOrigin > 1.6e12,\n"
              "    performance.toJSON().timeOrigin === performance.timeOrigin],\n"
              "});\n")
    found = run(call(tmp_path, source, INTERFACES, GLOBALS, NODE_ONLY, evaluator=evaluator))
    assert found == {"interfaces": [], "globals": [], "node": [], "enumerable": [], "self": True, "ua": "modrun",
                     "wasm": "undefined", "performance": [True, "[object Performance]", True, True, True]}


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_the_bare_profile_is_as_before(tmp_path, evaluator):
    source = ("export default () => [typeof URL, typeof fetch, typeof crypto, typeof console.log,\n"
              "  typeof queueMicrotask, eval('1 + 1'), new Function('return 2')()];\n")
    assert run(call(tmp_path, source, evaluator=evaluator, profile="bare")) == [
        "undefined", "undefined", "undefined", "function", "function", 2, 2]


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_code_generation_from_strings_is_refused_but_modules_still_load(tmp_path, evaluator):
    write(tmp_path, {"dep.js": "export const value = 42;\n"})
    source = ("import { value } from './dep.js';\n"
              "const attempts = {\n"
              "  eval: () => eval('1'), indirect: () => (0, globalThis.eval)('1'), Function: () => new Function('1'),\n"
              "  constructor: () => (function () {}).constructor('1'),\n"
              "  async: () => (async function () {}).constructor('1'),\n"
              "  generator: () => (function* () {}).constructor('1'),\n"
              "  asyncGenerator: () => (async function* () {}).constructor('1'),\n"
              "};\n"
              "export default async () => {\n"
              "  const out = {};\n"
              "  for (const [name, attempt] of Object.entries(attempts)) {\n"
              "    try { attempt(); out[name] = 'allowed'; } catch (e) { out[name] = `${e.name}: ${e.message}`; }\n"
              "  }\n"
              "  const dynamic = await import('./dep.js');\n"
              "  return { out, value, dynamic: dynamic.value, instance: (() => {}) instanceof Function };\n"
              "};\n")
    result = run(call(tmp_path, source, evaluator=evaluator))
    refused = "EvalError: Code generation from strings disallowed for this context"
    assert result == {"out": dict.fromkeys(["eval", "indirect", "Function", "constructor", "async", "generator",
                                            "asyncGenerator"], refused),
                      "value": 42, "dynamic": 42, "instance": True}


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_digest_and_hmac_agree_with_hashlib(tmp_path, evaluator):
    data = os.urandom(1000)
    key = os.urandom(32)
    source = ("const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));\n"
              "const hex = (buffer) => [...new Uint8Array(buffer)]\n"
              "  .map((b) => b.toString(16).padStart(2, '0')).join('');\n"
              "export default async (data64, key64) => {\n"
              "  const data = bytes(data64);\n"
              "  const digests = {};\n"
              "  for (const name of ['SHA-1', 'SHA-256', 'SHA-384', 'SHA-512']) {\n"
              "    digests[name] = hex(await crypto.subtle.digest(name, data));\n"
              "  }\n"
              "  const key = await crypto.subtle.importKey('raw', bytes(key64), { name: 'HMAC', hash: 'SHA-256' },\n"
              "    true, ['sign', 'verify']);\n"
              "  const signature = await crypto.subtle.sign('HMAC', key, data);\n"
              "  const tampered = new Uint8Array(signature.slice(0)); tampered[0] ^= 1;\n"
              "  const jwk = await crypto.subtle.exportKey('jwk', key);\n"
              "  let unsupported;\n"
              "  try { await crypto.subtle.digest('MD5', data); } catch (e) { unsupported = e.name; }\n"
              "  return { digests, signature: hex(signature), alg: jwk.alg, unsupported,\n"
              "    verified: await crypto.subtle.verify('HMAC', key, signature, data),\n"
              "    rejected: await crypto.subtle.verify('HMAC', key, tampered, data),\n"
              "    algorithm: key.algorithm };\n"
              "};\n")
    result = run(call(tmp_path, source, base64.b64encode(data).decode(), base64.b64encode(key).decode(),
                      evaluator=evaluator))
    assert result["digests"] == {name: hashlib.new(name.replace("-", "").lower(), data).hexdigest()
                                 for name in ("SHA-1", "SHA-256", "SHA-384", "SHA-512")}
    assert result["signature"] == hmac.new(key, data, "sha256").hexdigest()
    assert (result["verified"], result["rejected"]) == (True, False)
    assert result["alg"] == "HS256" and result["unsupported"] == "NotSupportedError"
    assert result["algorithm"] == {"name": "HMAC", "length": 256, "hash": {"name": "SHA-256"}}


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_each_runtime_gets_its_own_entropy(tmp_path, evaluator):
    source = ("export default () => [[...crypto.getRandomValues(new Uint8Array(16))].join(','),\n"
              "  crypto.randomUUID(), Math.random()];\n")

    async def twice():
        write(tmp_path, {"entry.js": source})
        answers = []
        for _ in range(2):  # two runtimes of one environment configuration: siblings of one snapshot in wasm
            async with Server(root=tmp_path, environments={"t": {"evaluator": evaluator}}, cache_dir=False) as server:
                module = await server.environments["t"].import_module("/entry.js")
                answers.append(await module.default())
        return answers

    first, second = run(twice())
    assert all(a != b for a, b in zip(first, second, strict=True)), (first, second)
    assert len(set(first[0].split(","))) > 4 and first[1][14] == "4"


# ---- fetch ----

ECHO = ("export default async (url, init) => {\n"
        "  try {\n"
        "    const response = await fetch(url, init);\n"
        "    return { status: response.status, type: response.headers.get('content-type'),\n"
        "             body: await response.text(), url: response.url };\n"
        "  } catch (error) {\n"
        "    return { error: `${error.name}: ${error.message}`, stack: error.stack };\n"
        "  }\n"
        "};\n")


@pytest.fixture
def loopback() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1; yields its origin and the paths it was asked for."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            seen.append(self.path)
            body = json.dumps({"path": self.path, "agent": self.headers.get("x-agent")}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_fetch_is_denied_by_default_naming_the_url_and_opening_no_socket(tmp_path, evaluator, loopback):
    origin, seen = loopback
    result = run(call(tmp_path, ECHO, f"{origin}/secret", evaluator=evaluator))
    assert result["error"].startswith(f"TypeError: fetch failed: {origin}/secret: fetch is not allowed to {origin}")
    assert "entry.js:3:" in result["stack"]  # where the program called fetch
    assert seen == []


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_fetch_served_by_a_python_handler(tmp_path, evaluator):
    asked: list[FetchRequest] = []

    async def handler(request: FetchRequest) -> FetchResponse | None:
        asked.append(request)
        if request.url.endswith("/pass"):
            return None  # not ours: denied, as no origin is allowed
        return FetchResponse(status=201, headers={"content-type": "text/plain"}, body=f"got {request.body!r}")

    init = {"method": "POST", "body": "hello", "headers": {"X-Agent": "test"}}
    served = run(call(tmp_path, ECHO, "https://api.example/x", init, evaluator=evaluator, fetch=handler))
    assert served == {"status": 201, "type": "text/plain", "body": "got b'hello'", "url": "https://api.example/x"}
    request = asked[0]
    assert (request.method, request.header("x-agent"), request.header("content-type")) == (
        "POST", "test", "text/plain;charset=UTF-8")
    passed = run(call(tmp_path, ECHO, "https://api.example/pass", evaluator=evaluator, fetch=handler))
    assert "fetch is not allowed to https://api.example" in passed["error"]


def test_a_handler_that_raises_is_a_failed_fetch_not_a_crash(tmp_path):
    def handler(request: FetchRequest) -> FetchResponse:
        raise ValueError("no database")

    result = run(call(tmp_path, ECHO, "https://api.example/x", fetch=handler))
    assert result["error"] == ("TypeError: fetch failed: https://api.example/x: the host's fetch handler raised "
                               "ValueError: no database")


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_fetch_to_an_allowed_origin_goes_out(tmp_path, evaluator, loopback):
    origin, seen = loopback
    write(tmp_path, {"entry.js": ECHO})

    async def main():
        environments = {"t": {"evaluator": evaluator, "fetch": {"allow": [origin]}}}
        async with Server(root=tmp_path, environments=environments, cache_dir=False) as server:
            module = await server.environments["t"].import_module("/entry.js")
            return await module.default(f"{origin}/data?q=1", {"headers": {"x-agent": "modrun"}})

    result = run(main())
    assert result["status"] == 200 and json.loads(result["body"]) == {"path": "/data?q=1", "agent": "modrun"}
    assert seen == ["/data?q=1"]


def test_bad_fetch_configuration_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="allowed origins are like"):
        Server(root=tmp_path, fetch={"allow": ["example.com"]})
    with pytest.raises(UsageError, match="unknown option deny"):
        Server(root=tmp_path, environments={"t": {"fetch": {"deny": []}}})


# ---- bodies ----

@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_a_body_streamed_through_a_transform_stream(tmp_path, evaluator):
    source = ("export default async (parts) => {\n"
              "  const body = new ReadableStream({ start(c) { for (const p of parts) c.enqueue(p); c.close(); } })\n"
              "    .pipeThrough(new TransformStream({ transform(chunk, c) { c.enqueue(chunk.toUpperCase()); } }))\n"
              "    .pipeThrough(new TextEncoderStream());\n"
              "  const response = new Response(body, { headers: { 'content-type': 'text/plain' } });\n"
              "  const copy = response.clone();\n"
              "  const gzip = await new Response(copy.body.pipeThrough(new CompressionStream('gzip'))).arrayBuffer();\n"
              "  const back = await new Response(new Blob([gzip]).stream()\n"
              "    .pipeThrough(new DecompressionStream('gzip'))).text();\n"
              "  const text = await response.text();\n"
              "  let reused;\n"
              "  try { await response.text(); } catch (e) { reused = e.name; }\n"
              "  return { text, back, used: response.bodyUsed, reused };\n"
              "};\n")
    assert run(call(tmp_path, source, ["edge ", "bodies"], evaluator=evaluator)) == {
        "text": "EDGE BODIES", "back": "EDGE BODIES", "used": True, "reused": "TypeError"}


# ---- the command line: Node and eval, each a clear, located message and exit 1 ----

@pytest.mark.parametrize(("line", "needle"), [
    ("export const port = process.env.PORT;", "process is not defined (process is Node.js's, not available in the "
                                              "edge profile"),
    ("export const data = Buffer.from('x');", "Buffer is not defined (Buffer is Node.js's"),
    ("export const fs = require('fs');", "require is not defined (require is Node.js's"),
    ("export const two = eval('1 + 1');", "EvalError: Code generation from strings disallowed for this context"),
    ("export const n = new Intl.NumberFormat('en').format(1);", "Intl is not defined (Intl, the ECMAScript "
                                                                "Internationalization API, is missing from modrun's"),
])
def test_node_and_eval_under_edge_fail_clearly_on_the_command_line(tmp_path, line, needle):
    write(tmp_path, {"src/app.js": "// an edge handler\n" + line + "\n"})
    result = subprocess.run([sys.executable, "-m", "runner", "run", "src/app.js", "--json"], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1, result.stderr
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "js" and needle in error["message"] + error["stack"]
    assert "src/app.js:2:" in error["stack"]
    plain = subprocess.run([sys.executable, "-m", "runner", "run", "src/app.js"], cwd=tmp_path, capture_output=True,
                           text=True, timeout=60)
    assert plain.returncode == 1 and needle in plain.stderr and "Traceback" not in plain.stderr


def test_node_globals_under_bare_keep_the_plain_message(tmp_path):
    with pytest.raises(JSError) as caught:
        run(call(tmp_path, "export default () => process.env;\n", profile="bare"))
    assert caught.value.message == "process is not defined"


def test_environment_configs_share_no_mutable_default():
    """EnvironmentConfig is a named tuple (cheap to make in every run): its default `define` and `alias`
    are read-only, so no config can change another's; a config from a mapping owns its own."""
    first, second = EnvironmentConfig(), EnvironmentConfig(profile="bare")
    with pytest.raises(TypeError):
        first.define["X"] = "1"  # type: ignore[index]
    with pytest.raises(TypeError):
        first.alias["x"] = "./y.js"  # type: ignore[index]
    assert dict(second.define) == {} and dict(second.alias) == {}
    made = EnvironmentConfig.from_config("x", {"define": {"X": 1}, "alias": {"a": "./b.js"}})
    assert made.define == {"X": "1"} and made.alias == {"a": "./b.js"}
    assert EnvironmentConfig.from_config("y", {}).define == {}
    assert first.limits == second.limits and first._replace(profile="bare") == second
