"""runner/js's headers and bundle order, checked (runner/js/order.py): the shipped files pass, and
small bundles built from a temporary directory show each kind of mistake the check catches."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import quickjs

from runner.js import bundle
from runner.js.order import BundleOrderError, parse

BOOT = """// provides: bootRuntime
// uses: {uses}

function bootRuntime(global, config, runnerSource) {{
  return {body};
}}
"""


def files(directory: Path, sources: dict[str, str]) -> list[tuple[str, str]]:
    for name, source in sources.items():
        (directory / name).write_text(source)
    return bundle.read(directory, list(sources))


def problems(directory: Path, sources: dict[str, str]) -> str:
    with pytest.raises(BundleOrderError) as caught:
        bundle.check(files(directory, sources))
    return str(caught.value)


def run(sources: list[tuple[str, str]]) -> object:
    return json.loads(quickjs.Context().eval(f"JSON.stringify({bundle.join(sources)}({{}}))"))


def test_the_shipped_files_pass_the_check():
    bundle.check_profiles()


def test_a_bundle_of_files_in_dependency_order_builds_and_runs(tmp_path):
    sources = files(tmp_path, {
        "greeting.js": "// provides: greet\n// uses: PROTOCOL\n// private: PUNCTUATION\n\n"
                       "const PUNCTUATION = \"!\";\n"
                       "function greet(name) { return `hello ${name}${PUNCTUATION} (${typeof PROTOCOL})`; }\n",
        "runtime.js": BOOT.format(uses="greet", body='greet("modrun")'),
    })
    bundle.check(sources)
    assert run(sources) == "hello modrun! (object)"


def test_a_name_that_a_later_file_provides(tmp_path):
    message = problems(tmp_path, {
        "runtime.js": BOOT.format(uses="greet", body='greet("x")'),
        "greeting.js": "// provides: greet\n// uses:\n\nfunction greet(name) { return name; }\n",
    })
    assert "runtime.js uses 'greet', which greeting.js provides after it: greeting.js must come before runtime.js" \
        in message


def test_a_later_name_used_only_after_boot_counts_too(tmp_path):
    # The runtime would work (report() runs long after every file has been evaluated), but the
    # order would no longer be a dependency order.
    sources = {
        "report.js": "// provides: report\n// uses:\n\nfunction report(error) { return describe(error); }\n",
        "describe.js": "// provides: describe\n// uses:\n\nfunction describe(error) { return String(error); }\n",
        "runtime.js": BOOT.format(uses="report", body='report("x")'),
    }
    message = problems(tmp_path, sources)
    assert "report.js refers to 'describe' (from describe.js) without declaring it in '// uses:'" in message
    sources["report.js"] = sources["report.js"].replace("// uses:\n", "// uses: describe\n")
    assert "report.js uses 'describe', which describe.js provides after it" in problems(tmp_path, sources)


def test_a_name_that_no_file_provides(tmp_path):
    message = problems(tmp_path, {"runtime.js": BOOT.format(uses="greet", body='"x"')})
    assert "runtime.js uses 'greet', which no file provides" in message


def test_a_provided_name_that_the_file_does_not_define(tmp_path):
    message = problems(tmp_path, {
        "greeting.js": "// provides: greet, wave\n// uses:\n\nfunction greet(name) { return name; }\n",
        "runtime.js": BOOT.format(uses="greet", body='greet("x")'),
    })
    assert "greeting.js declares 'wave' but defines no top-level 'wave'" in message


def test_a_top_level_name_that_is_not_declared(tmp_path):
    message = problems(tmp_path, {
        "greeting.js": "// provides: greet\n// uses:\n\n"
                       "const PUNCTUATION = \"!\";\nfunction greet(name) { return name + PUNCTUATION; }\n",
        "runtime.js": BOOT.format(uses="greet", body='greet("x")'),
    })
    assert "greeting.js defines 'PUNCTUATION' at the top level but does not declare it " \
           "(add it to '// provides:' or '// private:')" in message


def test_a_name_private_to_another_file(tmp_path):
    message = problems(tmp_path, {
        "greeting.js": "// provides: greet\n// uses:\n// private: PUNCTUATION\n\n"
                       "const PUNCTUATION = \"!\";\nfunction greet(name) { return name + PUNCTUATION; }\n",
        "runtime.js": BOOT.format(uses="greet, PUNCTUATION", body='greet("x") + PUNCTUATION'),
    })
    assert "runtime.js uses 'PUNCTUATION', which is private to greeting.js" in message


def test_a_name_defined_by_two_files(tmp_path):
    message = problems(tmp_path, {
        "a.js": "// provides:\n// uses:\n// private: quote\n\nfunction quote(text) { return `'${text}'`; }\n",
        "b.js": "// provides:\n// uses:\n// private: quote\n\nfunction quote(text) { return `\"${text}\"`; }\n",
        "runtime.js": BOOT.format(uses="", body='"x"'),
    })
    assert "b.js defines 'quote' at the top level, as a.js does" in message


def test_a_declared_use_that_is_never_made(tmp_path):
    message = problems(tmp_path, {
        "greeting.js": "// provides: greet\n// uses:\n\nfunction greet(name) { return name; }\n",
        "runtime.js": BOOT.format(uses="greet", body='"x"'),
    })
    assert "runtime.js declares it uses 'greet' but never refers to it" in message


def test_the_prelude_provides_the_intrinsics_and_its_constants(tmp_path):
    # Intrinsics are built-ins: used freely. The prelude's own constants must be declared.
    message = problems(tmp_path, {"runtime.js": BOOT.format(uses="", body="[Promise, PROTOCOL]")})
    assert message.splitlines()[1:] == [
        "  runtime.js refers to 'PROTOCOL' (from the prelude) without declaring it in '// uses:'"]
    files(tmp_path, {"runtime.js": BOOT.format(uses="PROTOCOL, Promise", body="[Promise, PROTOCOL]")})
    bundle.check(bundle.read(tmp_path, ["runtime.js"]))


def test_a_file_without_a_header(tmp_path):
    message = problems(tmp_path, {"runtime.js": "function bootRuntime() { return 1; }\n"})
    assert "runtime.js: the header must start the file" in message


def test_a_bundle_that_nothing_boots(tmp_path):
    message = problems(tmp_path, {"greeting.js": "// provides: greet\n// uses:\n\nfunction greet() {}\n"})
    assert "no file provides 'bootRuntime', which the bundle calls to boot" in message


def test_what_counts_as_a_reference():
    source = """// provides:
// uses:

// inComment
/* inBlockComment */
const text = "inString" + 'inSingle' + `inTemplate ${inSubstitution + `${nested}`} tail`;
const pattern = /inRegex[/]/g, ratio = a / b / c;
const object = { key: value, shorthand, method(arg) { return arg.property; }, [computed]: 1 };
class Thing { static helper() { return callee(); } }
const maybe = object?.optional ?? fallback;
spread(...rest);
"""
    refers = parse("x.js", source).refers
    for name in ("inSubstitution", "nested", "a", "b", "c", "value", "shorthand", "arg", "computed", "callee",
                 "object", "fallback", "spread", "rest"):
        assert name in refers, name
    for name in ("inComment", "inBlockComment", "inString", "inSingle", "inTemplate", "tail", "inRegex", "key",
                 "method", "property", "helper", "optional"):
        assert name not in refers, name


def test_what_counts_as_a_top_level_definition():
    source = """// provides:
// uses:

async function loader() { function inner() {} }
function* numbers() {}
class Store {}
const a = 1, b = { x: 1, y: [2, 3] }, c = (d, e) => d + e;
let later;
var legacy = function named() {};
for (let i = 0; i < 1; i++) { const block = i; }
"""
    assert parse("x.js", source).defines == ["loader", "numbers", "Store", "a", "b", "c", "later", "legacy"]


def test_evaluated_modules_by_id_url_and_file_and_invalidation(tmp_path):
    """The store of evaluated modules (evaluated_modules.js), in a bundle of its own."""
    probe = BOOT.format(uses="EvaluatedModules", body="""(() => {
    const modules = new EvaluatedModules();
    const a = modules.ensureModule({ id: "/src/a.js", url: "/src/a.js", code: "" });
    const raw = modules.ensureModule({ id: "/src/a.js?raw", url: "/src/a.js?raw", file: "/src/a.js", code: "" },
      "/alias.js");
    const before = {
      again: modules.ensureModule({ id: "/src/a.js", url: "/src/a.js", code: "" }) === a,
      byId: modules.getModuleById("/src/a.js?raw") === raw,
      byUrl: modules.getModuleByUrl("/src/a.js?raw") === raw,
      byAlias: modules.getModuleByUrl("/alias.js") === raw,
      byFile: [...modules.getModulesByFile("/src/a.js")].map((record) => record.id),
    };
    modules.invalidateModule(raw);
    const invalidated = {
      byId: modules.getModuleById("/src/a.js?raw") === undefined,
      byUrl: modules.getModuleByUrl("/src/a.js?raw") === undefined,
      byAlias: modules.getModuleByUrl("/alias.js") === undefined,
      byFile: [...modules.getModulesByFile("/src/a.js")].map((record) => record.id),
      fresh: modules.ensureModule({ id: "/src/a.js?raw", url: "/src/a.js?raw", code: "" }) !== raw,
      kept: modules.getModuleById("/src/a.js") === a,
    };
    modules.clear();
    const cleared = [modules.getModuleById("/src/a.js"), modules.getModulesByFile("/src/a.js")];
    return { before, invalidated, cleared };
  })()""")
    for name in ("source_map.js", "module_runner/namespace.js", "module_runner/evaluated_modules.js"):
        (tmp_path / name.rsplit("/", 1)[-1]).write_text((bundle.JS_DIR / name).read_text())
    (tmp_path / "probe.js").write_text(probe)
    sources = bundle.read(tmp_path, ["source_map.js", "namespace.js", "evaluated_modules.js", "probe.js"])
    bundle.check(sources)
    assert run(sources) == {
        "before": {"again": True, "byId": True, "byUrl": True, "byAlias": True,
                   "byFile": ["/src/a.js", "/src/a.js?raw"]},
        "invalidated": {"byId": True, "byUrl": True, "byAlias": True, "byFile": ["/src/a.js"], "fresh": True,
                        "kept": True},
        "cleared": [None, None],
    }
