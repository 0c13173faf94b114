"""TypeScript published on npm through the lowering (the bounded form of
tests/conformance/typescript.py): every .ts file of rxjs, @tanstack/query-core, immer and zod must
lower to what TypeScript's own transpileModule emits (up to formatting); and zod, run from its
TypeScript sources, must validate as zod's published build does in Node."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conformance.typescript import run
from tests.npm_cache import NODE, install

PACKAGES = ["rxjs", "@tanstack/query-core", "immer", "zod"]
# tree-sitter-javascript reads `await (x)._def` as a call of a function named `await` (in any
# JavaScript): the comparison's parse of our output, which keeps the parentheses, goes wrong there;
# the module itself runs (see test_zod_from_its_typescript_sources).
KNOWN = {"zod/src/v3/types.ts"}

ZOD_APP = """
import * as z from "{zod}";

const User = z.object({{
  name: z.string().min(2),
  age: z.number().int().positive(),
  email: z.email().optional(),
  tags: z.array(z.enum(["a", "b"])).default([]),
}});
type User = z.infer<typeof User>;

export default function main() {{
  const ok: User = User.parse({{ name: "Ada", age: 36 }});
  const bad = User.safeParse({{ name: "A", age: -1, email: "nope", tags: ["c"] }});
  const issues = bad.success ? [] : bad.error.issues.map((i) => ({{ path: i.path, code: i.code, message: i.message }}));
  return {{ ok, issues }};
}}
"""


@pytest.fixture(scope="module")
def corpus() -> Path:
    return install("ts-corpus")


def test_lowering_matches_typescript_on_published_sources(corpus: Path) -> None:
    scores = run({"ts-corpus": corpus}, PACKAGES)
    failures = {file: problem for score in scores.values() for file, problem in score.failures}
    assert set(failures) == KNOWN, failures
    assert sum(score.passed for score in scores.values()) > 600


@pytest.mark.parametrize("evaluator", ["inprocess", "wasm", "process"])
def test_zod_from_its_typescript_sources(corpus: Path, evaluator: str) -> None:
    app = corpus / "app"
    app.mkdir(exist_ok=True)
    (app / "zod-src.ts").write_text(ZOD_APP.format(zod="../node_modules/zod/src/index.js"))
    (app / "zod-dist.ts").write_text(ZOD_APP.format(zod="zod"))
    built = subprocess.run([str(NODE), "--input-type=module", "-e", (
        "import ts from 'typescript'; import fs from 'node:fs';"
        "const src = fs.readFileSync('app/zod-dist.ts', 'utf8');"
        "const options = {module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022};"
        "fs.writeFileSync('app/zod-dist.mjs', ts.transpileModule(src, {compilerOptions: options}).outputText);")],
        cwd=corpus, capture_output=True, text=True, timeout=60)
    assert built.returncode == 0, built.stderr
    node = subprocess.run([str(NODE), "--input-type=module", "-e",
                           "import m from './app/zod-dist.mjs'; console.log(JSON.stringify(m()))"],
                          cwd=corpus, capture_output=True, text=True, timeout=60)
    assert node.returncode == 0, node.stderr
    ours = subprocess.run([sys.executable, "-m", "runner", "run", "app/zod-src.ts", "--call", "default", "--json",
                           "--evaluator", evaluator], cwd=corpus, capture_output=True, text=True, timeout=180)
    assert ours.returncode == 0, ours.stdout + ours.stderr
    expected = json.loads(node.stdout)
    assert json.loads(ours.stdout)["result"] == expected
    assert [issue["code"] for issue in expected["issues"]] == ["too_small", "too_small", "invalid_format",
                                                               "invalid_value"]
    shutil.rmtree(app, ignore_errors=True)
