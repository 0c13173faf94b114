"""Vite's hmr-reexport-race fixture (../shared/conformance/vite-fixtures/runtime) driven as Vite's
own runner test drives it: a module's top-level await is held open by a gate, a second import
starts while the first is parked, the gate opens, and each import must end with its own result
(never the partial exports of the module still evaluating), both entries staying hot.

modrun's host runs one operation at a time in a runtime, so the second import and the opening of
the gate come from inside it (gate.js: a dynamic import made while parked, a timer that opens).
In every evaluator. Waits are hang guards only."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner import Server
from tests.test_hmr import EVALUATORS, FIXTURES, Project, run

GATE = """
let second = null;
export function calm(name) {
  globalThis[name] = { wait: () => Promise.resolve() };
}
// The next waits park on one gate; the first also starts a second import of `url` (while the
// first import is parked) and a timer that opens the gate after it.
export function arm(name, url) {
  let open;
  const gate = new Promise((resolve) => { open = resolve; });
  second = null;
  globalThis[name] = {
    wait: () => {
      if (!second) {
        second = import(url).then((ns) => ({ result: ns.result }), (error) => ({ error: String(error) }));
        setTimeout(open, 100);  // long enough for the second import to reach shared.js
      }
      return gate;
    },
  };
}
export const started = () => second !== null;
export const secondOutcome = () => second;
"""


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_reexport_race_an_import_made_while_the_update_is_parked(tmp_path: Path, evaluator: str) -> None:
    """core.js changes; the update re-imports entry-a, whose core.js parks with shared.js (its
    `export *`) half-evaluated; entry-b is imported then (inside the runtime, as Vite's test does
    from its host) and must wait for shared.js rather than take its partial exports."""
    root = tmp_path / "fixtures"
    shutil.copytree(FIXTURES / "hmr-reexport-race", root)
    (root / "gate.js").write_text(GATE)
    name = "__vite_ssr_hmr_reexport_race__"

    async def main() -> None:
        async with Server(root=root, hmr=True, cache_dir=False, environments={"ssr": {"evaluator": evaluator}}) as s:
            p = Project(root, s)
            await s.watch()
            gate = await p.env.import_module("/gate.js")
            await gate.calm(name)
            a = await p.env.import_module("/entry-a.js")
            b = await p.env.import_module("/entry-b.js")
            for n in range(2):  # both entries stay hot: the second round races again
                await gate.arm(name, "./entry-b.js")
                (root / "core.js").write_text((root / "core.js").read_text() + f"\n// edit {n}\n")
                report = await p.report()
                assert report.type == "update" and report.errors == []
                assert sorted(report.updated) == ["/entry-a.js", "/entry-b.js"]
                assert await gate.started() is True  # the second import was made while parked
                assert await gate.secondOutcome() == {"result": "b"}
                assert (await a.get("result"), await b.get("result")) == ("a", "b")
    run(main())
