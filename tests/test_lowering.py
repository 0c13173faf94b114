"""TypeScript and JSX lowering on its own: erased types keep every line and column, the source map,
CommonJS forms in .cts, configuration (tsconfig.json, the server's jsx config, pragmas), the
resolution of `.js` specifiers to `.ts` files, the transform cache, and bad input as a new user
would write it — each a load error naming the file, line and what to do."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner import LoadError, Server, UsageError
from runner.transform.lowering.lower import lower
from runner.transform.lowering.options import JsxOptions, LoweringOptions
from runner.transform.sourcemap import original_position
from tests.project_files import write

TS = """import type { A } from "./a";
import { b, type C, unused } from "./b";
export interface Point<T = number> { x: T; y: T }
type Alias = string | number;
declare const ambient: number;
export function scale<T extends number>(p: Point<T>, by?: number): Point<number> {
  const k: number = by ?? (1 as number);
  return { x: p.x * k!, y: p.y * k } satisfies Point;
}
export class Holder<T> implements A {
  private value!: T;
  declare tag: string;
  static readonly count?: number;
  get(): T { return this.value; }
}
export const result = b(<Alias>"x");
"""


def lowered(code: str, file: str = "/p/m.ts", **jsx: Any) -> str:
    result = lower(code, file, LoweringOptions(jsx=JsxOptions(**jsx)))
    assert result is not None
    return result[0]


def test_erased_types_keep_every_line_and_column() -> None:
    code = lowered(TS)
    assert len(code.splitlines()) == len(TS.splitlines())
    for before, after in zip(TS.splitlines(), code.splitlines(), strict=True):
        assert len(after) <= len(before)
        for column, char in enumerate(after):
            assert char in (" ", ";") or char == before[column], (before, after)
    assert "interface" not in code and "Alias" not in code and "unused" not in code and "declare" not in code
    assert 'import { b' in code and code.count("import") == 1  # `import type` and the unused binding gone
    assert "return { x: p.x * k , y: p.y * k }" in code


def test_the_source_map_maps_tokens_to_where_they_were() -> None:
    source = 'const el = (\n  <div id="a">\n    {items.map((i: number) => <b key={i}>{i}</b>)}\n  </div>\n);\n'
    result = lower(source, "/p/m.tsx", LoweringOptions())
    assert result is not None
    code, map_ = result
    assert map_ is not None and map_["sources"] == ["/p/m.tsx"] and map_["sourcesContent"] == [source]
    generated = code.splitlines()
    for token in ("items", "map"):
        line = next(i for i, text in enumerate(generated) if token in text)
        position = original_position(map_, line + 1, generated[line].index(token))
        original_line = source.splitlines()[position.line - 1] if position is not None else ""
        assert position is not None and original_line[position.column:].startswith(token)
    # A call the JSX became maps to the element it came from.
    line = next(i for i, text in enumerate(generated) if '"b"' in text)
    position = original_position(map_, line + 1, generated[line].index('"b"') - 5)
    assert position is not None and source.splitlines()[position.line - 1][position.column:].startswith("<b")


def test_commonjs_forms_in_cts_files() -> None:
    code = lowered('import fs = require("./fs");\nimport gone = require("./gone");\n'
                   "const x: number = fs.size;\nexport = x;\n", "/p/m.cts")
    assert code.splitlines()[0] == 'const fs = require("./fs");'
    assert code.splitlines()[1].startswith(";")  # unused: elided, as TypeScript does
    assert code.splitlines()[3] == "module.exports = x;"


@pytest.mark.parametrize(("source", "file", "words", "line"), [
    ('const a = 1;\nimport fs = require("fs");\n', "m.ts", ["import fs = require", "CommonJS", ".cts"], 2),
    ("const a = 1;\n\nexport = a;\n", "m.mts", ["`export =`", "export default"], 3),
    ("class A {\n  m(private x: number) {}\n}\n", "m.ts", ["parameter property", "constructor"], 2),
    ("namespace N {\n  export const { a, b } = { a: 1, b: 2 };\n}\n", "m.ts", ["destructuring export"], 2),
    ("enum E { A = 'a', B }\n", "m.ts", ["enum member B needs an initializer"], 1),
    ("const x = <div a={} />;\n", "m.jsx", ["non-empty expression"], 1),
    ("const a = 1;\nconst x = <a>text</b>;\n", "m.tsx", ["Expected corresponding JSX closing tag for <a>"], 2),
    ("const a = 1;\ninterface I { x: number\nconst b = 2;\n", "m.ts", ["Unexpected identifier 'b'"], 3),
    ("let x: number = ;\n", "m.ts", ["Unexpected"], 1),
])
def test_what_cannot_be_lowered_is_a_located_load_error(tmp_path: Path, source: str, file: str, words: list[str],
                                                        line: int) -> None:
    write(tmp_path, {file: source})
    done = subprocess.run([sys.executable, "-m", "runner", "run", file, "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3, done.stdout + done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["kind"] == "load" and error["name"] == "SyntaxError"
    for word in words:
        assert word in error["message"], error["message"]
    assert error["loc"]["file"] == str(tmp_path / file) and error["loc"]["line"] == line
    assert f"> {line} |" in error["frame"]  # the frame shows the file as written
    assert "Traceback" not in done.stderr


def test_a_syntax_error_the_runner_transform_finds_is_shown_in_the_original_source(tmp_path: Path) -> None:
    # Valid syntax, but an early error in a module (strict code): the runner transform finds it.
    write(tmp_path, {"m.tsx": 'const el = <p>{"x"}</p>;\nlet x: number = 1; delete x;\n'})

    async def main() -> None:
        async with Server(root=tmp_path, cache_dir=False) as server:
            await server.environments["ssr"].import_module("/m.tsx")

    with pytest.raises(LoadError) as caught:
        asyncio.run(main())
    assert caught.value.name == "SyntaxError"
    assert caught.value.loc is not None and caught.value.loc.line == 2
    assert "Delete of an unqualified identifier" in caught.value.message
    assert "> 2 | let x: number = 1; delete x;" in (caught.value.frame or "")


def test_a_missing_jsx_runtime_says_how_to_choose_one(tmp_path: Path) -> None:
    write(tmp_path, {"m.jsx": "export const el = <p>hi</p>;\n"})
    done = subprocess.run([sys.executable, "-m", "runner", "run", "m.jsx", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    message = json.loads(done.stdout)["error"]["message"]
    assert "Cannot find package 'react'" in message and "'react/jsx-runtime' is the JSX automatic runtime" in message
    assert "jsxImportSource" in message


def test_a_broken_tsconfig_is_a_load_error_naming_it(tmp_path: Path) -> None:
    write(tmp_path, {"tsconfig.json": '{"compilerOptions": {"jsx": }', "m.ts": "export const a: number = 1;\n"})
    done = subprocess.run([sys.executable, "-m", "runner", "run", "m.ts", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "ERR_TSCONFIG" and str(tmp_path / "tsconfig.json") in error["message"]


def _run(root: Path, entry: str, **server: Any) -> Any:
    async def main() -> Any:
        async with Server(root=root, cache_dir=False, **server) as running:
            return (await running.environments["ssr"].import_module(entry)).result

    return asyncio.run(main())


RECORDING_RUNTIME = {
    "node_modules/rec/package.json": '{"name": "rec", "exports": {"./jsx-runtime": "./rt.js", '
                                     '"./jsx-dev-runtime": "./rt.js", ".": "./rt.js"}}',
    "node_modules/rec/rt.js": "export const Fragment = 'F';\n"
                              "export const jsx = (t, p) => ['jsx', t, p];\n"
                              "export const jsxs = (t, p) => ['jsxs', t, p];\n"
                              "export const jsxDEV = (t, p) => ['dev', t, p];\n"
                              "export const h = (t, p, ...c) => ['h', t, p, c];\n",
}


def test_jsx_options_tsconfig_then_server_config_then_pragmas(tmp_path: Path) -> None:
    write(tmp_path, {
        **RECORDING_RUNTIME,
        "tsconfig.base.json": '{"compilerOptions": {"jsx": "react-jsx", /* inherited */ "jsxImportSource": "rec",}}',
        "tsconfig.json": '{"extends": "./tsconfig.base.json"}',
        "a.tsx": "export const result = <p>x</p>;\n",
        "b.tsx": '/** @jsx h */\nimport { h } from "rec";\nexport const result = <p>x</p>;\n',
        "sub/tsconfig.json": '{"compilerOptions": {"jsx": "react", "jsxFactory": "h"}}',
        "sub/c.tsx": 'import { h } from "rec";\nexport const result = <p>x</p>;\n',
    })
    assert _run(tmp_path, "/a.tsx") == ["jsx", "p", {"children": "x"}]
    assert _run(tmp_path, "/b.tsx") == ["h", "p", None, ["x"]]
    assert _run(tmp_path, "/sub/c.tsx") == ["h", "p", None, ["x"]]
    assert _run(tmp_path, "/a.tsx", mode="development") == ["dev", "p", {"children": "x"}]
    assert _run(tmp_path, "/a.tsx", jsx={"development": False}, mode="development") == ["jsx", "p", {"children": "x"}]
    assert _run(tmp_path, "/sub/c.tsx", jsx={"runtime": "automatic", "import_source": "rec"}) == \
        ["jsx", "p", {"children": "x"}]


@pytest.mark.parametrize("config", [{"runtime": "preserve"}, {"factory": ""}, {"development": "yes"},
                                    {"jsxFactory": "h"}, "classic"])
def test_a_bad_jsx_config_is_a_usage_error(tmp_path: Path, config: Any) -> None:
    with pytest.raises(UsageError):
        Server(root=tmp_path, jsx=config)


def test_verbatim_module_syntax_keeps_imports_for_their_effects(tmp_path: Path) -> None:
    write(tmp_path, {
        "effects.ts": "(globalThis as any).loaded = ((globalThis as any).loaded ?? 0) + 1;\nexport type T = 1;\n"
                      "export const unused = 1;\n",
        "m.ts": 'import { type T, unused } from "./effects";\nexport const result = (globalThis as any).loaded;\n',
        "sub/tsconfig.json": '{"compilerOptions": {"verbatimModuleSyntax": true}}',
        "sub/m.ts": 'import { type T, unused } from "../effects";\nexport const result = (globalThis as any).loaded;\n',
    })
    assert _run(tmp_path, "/m.ts") is None  # `unused` is never used as a value: the import goes
    assert _run(tmp_path, "/sub/m.ts") == 1


def test_js_specifiers_name_ts_files_from_typescript_importers(tmp_path: Path) -> None:
    write(tmp_path, {
        "main.ts": 'import { a } from "./a.js";\nimport { b } from "./b.js";\nimport { c } from "./c.mjs";\n'
                   'import { d } from "./d.jsx";\nexport const result = [a, b, c, d];\n',
        "a.ts": 'export const a = "a.ts";\n', "b.ts": 'export const b = "b.ts";\n',
        "b.js": 'export const b = "b.js";\n',
        "c.mts": 'export const c = "c.mts";\n', "d.tsx": 'export const d = "d.tsx";\n',
        "plain.js": 'export { a as result } from "./a.js";\n',
    })
    assert _run(tmp_path, "/main.ts") == ["a.ts", "b.js", "c.mts", "d.tsx"]
    with pytest.raises(LoadError, match="Cannot find module './a.js'"):
        _run(tmp_path, "/plain.js")  # only TypeScript files write .js for .ts (TypeScript's rule)


def test_lowered_code_is_kept_in_the_transform_cache(tmp_path: Path) -> None:
    write(tmp_path, {"m.ts": "export const result: number = 41 + 1;\n"})
    cache = tmp_path / "cache"

    async def main() -> tuple[int, int]:
        async with Server(root=tmp_path, cache_dir=cache) as server:
            assert (await server.environments["ssr"].import_module("/m.ts")).result == 42
            return server.transform_cache.hits, server.transform_cache.misses

    assert asyncio.run(main()) == (0, 2)  # the lowering and the runner transform
    assert asyncio.run(main()) == (2, 0)
