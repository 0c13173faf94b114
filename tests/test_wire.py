"""JSON as modrun reads and writes it (runner/rpc/wire.py): until something loads orjson, small texts
and plain values go through the standard library, and give exactly what orjson gives: the same
text, the same values, the same errors. A warm run of a small module never loads orjson."""

from __future__ import annotations

import json
import marshal
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.rpc import wire

CHARS = ["a", "é", "\x00", "\x1f", "\x7f", '"', "\\", "/", "\b\f\n\r\t", "\u2028", "日", "\U0001F600", "\ud800"]
INTEGERS = [0, -1, 7, 2**31, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 10**30]
FLOATS = [0.0, -0.0, 1.5, 0.1, 1e15, 1e16, 1e-5, 0.0001, 123456.789, 1.7976931348623157e308, 5e-324,
          float("inf"), float("nan")]


def value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.randrange(9 if depth < 4 else 5)
    if pick == 0:
        return "".join(rng.choice(CHARS) for _ in range(rng.randrange(6)))
    if pick == 1:
        return rng.choice(INTEGERS) if rng.random() < 0.3 else rng.randrange(-1000, 1000)
    if pick == 2:
        return rng.choice(FLOATS) if rng.random() < 0.3 else rng.uniform(-1e6, 1e6)
    if pick == 3:
        return rng.choice([True, False, None])
    if pick == 4:
        return rng.choice(["plain", 12, None])
    if pick in (5, 6):
        return {"".join(rng.choice(CHARS[:8]) for _ in range(rng.randrange(4))): value(rng, depth + 1)
                for _ in range(rng.randrange(4))}
    items = [value(rng, depth + 1) for _ in range(rng.randrange(4))]
    return tuple(items) if pick == 7 else items


VALUES = [value(random.Random(seed)) for seed in range(1500)]
VALUES += [[big] for big in INTEGERS] + [[number] for number in FLOATS] + [{1: "key not a string"}, {"set": {1}}]
VALUES += [list(range(wire.SMALL // 4)), "x" * (wire.SMALL + 1)]  # beyond small: orjson's, for sure


def _text(item: Any, escaped: bool) -> bytes | None:
    try:
        return json.dumps(item, ensure_ascii=escaped).encode("utf-8", "surrogatepass")
    except (TypeError, ValueError):
        return None


TEXTS = [text for i, item in enumerate(VALUES) if (text := _text(item, i % 2 == 0)) is not None]
TEXTS += [b'[18446744073709551616, "\\ud800"]', b'["\\ud83d\\ude00"]', b"[-0, -0.0, 1E2, 1e-7]",
          b"[18446744073709551615, -9223372036854775809]", "[\"\u00e9\"]".encode(), b"\xef\xbb\xbf[1]", b"[1,]",
          b"{", b"", b"[1e400]", b"[" * 2000 + b"]" * 2000]
STRICT = ["[]", '["ada", 1, 2.5, {"a": null}]', "[NaN]", "[Infinity]", "[1e400]", '["\\ud800"]', "[1,]", "{",
          "[18446744073709551616]", "[1e-7, 1E+2]", '"\\u00e9"', "[" * 1100 + "]" * 1100, "\ufeff[]"]


def answers(strict: bool, unloaded: bool = False) -> list[Any]:
    """What wire gives for the corpus here: each answer, or the type and text of its error. `unloaded`:
    each as in a process that has not loaded orjson (though an answer before loaded it)."""
    out: list[Any] = []

    def record(call: Any, *args: Any) -> None:
        if unloaded:
            sys.modules.pop("orjson", None)
            wire._fast.clear()
            wire._spent[0] = 0  # never spent: each answer the standard library's where it can be
        try:
            out.append(repr(call(*args)))
        except Exception as error:
            out.append((type(error).__name__, str(error)))

    if strict:
        for text in STRICT:
            record(wire.strict_loads, text)
        return out
    for item in VALUES:
        record(wire.dumps, item)
        record(wire.dumps_bytes, item)
    for text in TEXTS:
        record(wire.loads, text)
        record(wire.loads, text.decode("utf-8", "surrogatepass"))
    return out


WITHOUT_ORJSON = """
import marshal, sys
from tests import test_wire
loaded = "orjson" in sys.modules
answers = test_wire.answers(sys.argv[2] == "strict", unloaded=True)
marshal.dump((loaded, answers), open(sys.argv[1], "wb"))
"""


def without_orjson(tmp_path: Path, strict: bool) -> tuple[bool, list[Any]]:
    """The answers in a process that has not loaded orjson (test_wire imports it: not there)."""
    out = tmp_path / "answers.marshal"
    subprocess.run([sys.executable, "-c", WITHOUT_ORJSON, str(out), "strict" if strict else "plain"], check=True,
                   cwd=Path(__file__).parents[1], timeout=300)
    with out.open("rb") as handle:
        return marshal.load(handle)


def test_the_standard_librarys_path_gives_what_orjson_gives(tmp_path: Path) -> None:
    import orjson  # here, every answer is orjson's

    assert orjson.loads("[1]") == [1]
    loaded, theirs = without_orjson(tmp_path, strict=False)
    assert not loaded
    ours = answers(strict=False)
    assert len(theirs) == len(ours)
    differing = [(i, a, b) for i, (a, b) in enumerate(zip(theirs, ours, strict=True)) if a != b]
    assert differing == []


def test_json_a_user_wrote_is_read_as_orjson_reads_it_errors_included(tmp_path: Path) -> None:
    import orjson

    assert orjson.loads("[1]") == [1]
    _, theirs = without_orjson(tmp_path, strict=True)
    assert theirs == answers(strict=True)
    assert theirs[0] == "[]" and theirs[2][0] == "JSONDecodeError"


RUN = """
import sys
from runner.cli import run_command
code = run_command(["run", "tiny.js", "--evaluator", sys.argv[1], "--json"], held=[])
print(code, "orjson" in sys.modules)
"""


def test_a_warm_run_of_a_small_module_never_loads_orjson(tmp_path: Path) -> None:
    (tmp_path / "tiny.js").write_text('console.log("{}");\nexport const n = 1.5;\n')

    def run(evaluator: str) -> list[str]:
        done = subprocess.run([sys.executable, "-c", RUN, evaluator], cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
        return done.stdout.splitlines()

    assert run("inprocess")[-1] == "0 True"  # cold: the transform loads it
    for evaluator in ("inprocess", "wasm", "process"):
        assert run(evaluator) == ['{"ok":true,"result":null,"exports":["n"]}', "0 False"], evaluator


BUDGET = """
import sys
from runner.rpc import wire
text = '["' + "x" * (wire.SMALL - 100) + '"]'
loaded = []
for _ in range(6):
    assert wire.loads(text) == ["x" * (wire.SMALL - 100)]
    loaded.append("orjson" in sys.modules)
print(loaded)
"""


def test_a_run_with_much_json_loads_orjson_once_that_pays() -> None:
    done = subprocess.run([sys.executable, "-c", BUDGET], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).parents[1], check=True)
    assert done.stdout.strip() == "[False, True, True, True, True, True]"
