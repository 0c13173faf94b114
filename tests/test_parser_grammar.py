"""The JavaScript and TypeScript grammars loaded from their packages' compiled bindings alone
(runner/transform/parser.py, runner/transform/lowering/grammars.py):
the same grammar as the package gives, and None (so the parser goes through the package) where a package
has no binding where expected."""

from __future__ import annotations

import subprocess
import sys

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Parser

from runner.transform.lowering.grammars import language
from runner.transform.parser import JAVASCRIPT, binding_language, parse_javascript

SOURCE = b"import a, { b as c } from './x.js';\nexport default async function* f() { yield await a?.[c]; }\n"


def test_the_binding_gives_the_packages_grammar() -> None:
    ours = Language(binding_language("tree_sitter_javascript"))
    theirs = Language(tree_sitter_javascript.language())
    assert (ours.abi_version, ours.node_kind_count, ours.field_count) == \
        (theirs.abi_version, theirs.node_kind_count, theirs.field_count)
    assert JAVASCRIPT.node_kind_count == theirs.node_kind_count
    assert str(parse_javascript(SOURCE).root_node) == str(Parser(theirs).parse(SOURCE).root_node)


def test_a_package_without_a_binding_gives_none() -> None:
    assert binding_language("json") is None  # a package, but no _binding in it
    assert binding_language("no_such_package_here") is None


def test_the_parser_does_not_load_the_packages_init() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, runner.transform.parser; "
         "print('tree_sitter_javascript' in sys.modules, 'importlib.resources' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["False", "False"]


def test_the_typescript_binding_gives_the_packages_grammars() -> None:
    source = b"const f = <T,>(x: T): T => x;\nexport default (<div>{f(1 as number)}</div>);\n"
    for dialect, theirs in (("typescript", tree_sitter_typescript.language_typescript()),
                            ("tsx", tree_sitter_typescript.language_tsx())):
        expected = Language(theirs)
        ours = language(dialect)
        assert (ours.abi_version, ours.node_kind_count, ours.field_count) == \
            (expected.abi_version, expected.node_kind_count, expected.field_count)
        assert str(Parser(ours).parse(source).root_node) == str(Parser(expected).parse(source).root_node)


def test_the_typescript_grammars_do_not_load_the_packages_init() -> None:
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from runner.transform.lowering.grammars import language; "
         "language('typescript'); language('tsx'); "
         "print('tree_sitter_typescript' in sys.modules, 'importlib.resources' in sys.modules)"],
        capture_output=True, text=True, check=True)
    assert loaded.stdout.split() == ["False", "False"]
