"""orjson is imported without `platform` (runner/orjson_import.py): uuid, which orjson loads, is the real
module, set up as it would be, and `platform` stays importable as itself."""

from __future__ import annotations

import subprocess
import sys


def probe(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_orjson_loads_without_platform_and_uuid_is_as_usual() -> None:
    facts = "print(uuid._LINUX, uuid._AIX, uuid.getnode() == uuid.uuid1().node)"
    usual = probe(f"import uuid\n{facts}")
    ours = probe("import sys\nfrom runner.rpc import wire\nimport uuid\n"
                 "print('platform' in sys.modules)\n"
                 f"{facts}\n"
                 "u = uuid.uuid4()\nprint(wire.orjson.dumps([u]) == f'[\"{u}\"]'.encode())\n"
                 "import platform\nprint(platform.system() == platform.uname().system, callable(platform.platform))")
    assert ours.splitlines() == ["False", usual, "True", "True True"]
