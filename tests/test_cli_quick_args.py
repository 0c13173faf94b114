"""A plain `modrun run` command line is parsed without argparse (runner/cli/quick_args.py): into exactly
what argparse answers, and anything it does not take is left to argparse, which parses it or says what
is wrong."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from runner.cli import _parser
from runner.cli.quick_args import parse_run
from runner.cli.run import OPTIONS
from runner.errors import UsageError

#: tokens a command line is drawn from: every option in full, abbreviated, with `=`, and values argparse
#: takes or refuses (choices, numbers, dashes, empty)
TOKENS = [*OPTIONS, "--eval", "--js", "--json=1", "--timeout=2", "--timeout=x", "--mode=development",
          "--profile=edge", "--root=", "--args=-1", "-h", "--help", "--", "-", "-1", "-x", "run", "main.js",
          "b.js", "", "2.5", "nan", "-2", "wasm", "edge", "bare", "production", "nope", "a b", "[1]"]


def argparse_answer(argv: list[str]) -> dict[str, object] | None:
    try:
        return vars(_parser(argv).parse_args(argv))
    except (UsageError, SystemExit):
        return None


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(TOKENS), max_size=7))
def test_a_quick_parse_is_what_argparse_answers(tokens: list[str]) -> None:
    argv = ["run", *tokens]
    quick = parse_run(argv)
    if quick is not None:  # (compared as text: `--timeout nan` is nan in both, and nan != nan)
        assert repr(sorted(vars(quick).items())) == repr(sorted((argparse_answer(argv) or {}).items()))


def test_plain_command_lines_are_parsed_without_argparse() -> None:
    for argv in (["run", "main.js"], ["run", "main.js", "--evaluator", "wasm", "--json"],
                 ["run", "--call=default", "--args", "[1, 2]", "main.js", "--timeout", "2", "--memory=64"],
                 ["run", "main.js", "--mode", "development", "--profile", "edge", "--conditions", "edge,worker",
                  "--root", "."]):
        quick = parse_run(argv)
        assert quick is not None, argv
        assert vars(quick) == argparse_answer(argv)


def test_what_argparse_must_answer_is_left_to_it() -> None:
    for argv in (["run"], ["run", "a.js", "b.js"], ["run", "main.js", "--eval", "wasm"], ["run", "--help"],
                 ["run", "main.js", "--timeout", "soon"], ["run", "main.js", "--profile", "nope"],
                 ["run", "main.js", "--json=yes"], ["run", "main.js", "--timeout", "-1"], ["run", "--", "main.js"],
                 ["run", "main.js", "--call"], ["check", "main.js"], []):
        assert parse_run(argv) is None, argv


def test_a_run_does_not_load_argparse(tmp_path: Path) -> None:
    """Nor gettext, which argparse loads, and which looks for message catalogs as it builds a parser."""
    (tmp_path / "main.js").write_text("console.log(7);\n")
    probe = ("import sys\nfrom runner.cli import run_command\n"
             "code = run_command(['run', 'main.js', '--json'], held=[])\n"
             "print(code, sorted(m for m in ('argparse', 'gettext') if m in sys.modules), file=sys.stderr)\n")
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith('{"ok":true'), done.stderr
    assert done.stderr.splitlines() == ["7", "0 []"]  # (--json: the module's console output on stderr)
