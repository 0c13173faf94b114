"""Build modrun's QuickJS reactor (modrun-quickjs.wasm) from the pinned quickjs-ng sdist with
Debian's clang-16 / wasi-libc toolchain, and check it against the recorded hash (reactor.json).

    python evaluators/wasm/reactor/build.py            # build and compare: exit 1 if it differs
    python evaluators/wasm/reactor/build.py --update   # build and record (the artifact and its hash)

The sdist (QuickJS-ng's C sources in `upstream-quickjs/`) is fetched from PyPI with pip and checked
against its recorded sha256; QuickJS's sources are compiled unpatched, with modrun_reactor.c, which
includes quickjs.c. The toolchain's Debian package versions are checked against reactor.json too:
the build is bit-for-bit reproducible only with the same compiler and libc. The committed artifact
is what the wasm evaluator runs, so installing modrun needs no compiler; CI runs this script
(.ci/run) to show the artifact is what these sources build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
LOCK = HERE / "reactor.json"
SHIM = HERE / "modrun_reactor.c"

CLANG = "clang-16"  # which finds lld-16's wasm-ld itself
TARGET = ["--target=wasm32-wasi", "--sysroot=/usr"]
CFLAGS = ["-O2", "-DNDEBUG", "-std=gnu11", "-fno-strict-aliasing", "-funsigned-char", "-D_GNU_SOURCE",
          "-Wno-unused-parameter"]
STACK_SIZE = 1 << 20  # the shadow stack, first in memory (--stack-first): an overflow traps, never corrupts
# What the driver uses of the QuickJS C API and libc (guest.py); the shim's entry points export themselves.
EXPORTS = ["malloc", "free", "JS_Eval", "JS_Call", "JS_FreeValue", "JS_ToCStringLen2",
           "JS_FreeCString", "JS_GetException", "JS_GetPropertyStr",
           "JS_GetVersion",
           "__stack_pointer"]  # a global: where the stack stood when a guest trapped
SOURCES = ["libregexp.c", "libunicode.c", "dtoa.c"]  # compiled beside the shim (which includes quickjs.c)


def lock() -> dict[str, object]:
    return json.loads(LOCK.read_text())  # type: ignore[no-any-return]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing_toolchain(expected: dict[str, str]) -> list[str]:
    """The Debian packages the recorded hash was built with that are not installed at their
    recorded version, as `apt-get install` arguments."""
    try:
        query = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n", *expected],
                               capture_output=True, text=True)
    except FileNotFoundError:  # not Debian
        return [f"{name}={version}" for name, version in expected.items()]
    found = dict(line.split(" ", 1) for line in query.stdout.splitlines() if " " in line)
    return [f"{name}={version}" for name, version in expected.items() if found.get(name) != version]


def fetch_sources(pin: dict[str, str], work: Path) -> Path:
    """The sdist from PyPI, checked against its pinned hash; returns its upstream-quickjs folder."""
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", f"quickjs-ng=={pin['version']}",
                    "--no-binary", ":all:", "--no-deps", "-d", str(work)], check=True)
    sdist = work / f"quickjs_ng-{pin['version']}.tar.gz"
    digest = sha256(sdist)
    if digest != pin["sdist_sha256"]:
        raise SystemExit(f"{sdist.name} has sha256 {digest}, not the pinned {pin['sdist_sha256']}")
    with tarfile.open(sdist) as archive:
        archive.extractall(work, filter="data")
    return work / f"quickjs_ng-{pin['version']}" / "upstream-quickjs"


def build(upstream: Path, out: Path, cflags: Sequence[str] = tuple(CFLAGS), link: Sequence[str] = ()) -> None:
    """Compile the four translation units side by side (quickjs.c dominates), then link a reactor.
    Other `cflags` and extra `link` flags are for measuring variants (bench/wasm_variants.py); the
    recorded reactor is built with the defaults. No -O flag reaches the link line: with one, clang
    would run binaryen's wasm-opt on the output whenever it is on PATH (and drop the names)."""
    shutil.copy(SHIM, upstream / SHIM.name)
    units = [SHIM.name, *SOURCES]
    jobs = [subprocess.Popen([CLANG, *TARGET, *cflags, "-c", unit, "-o", unit + ".o"], cwd=upstream)
            for unit in units]
    if any(job.wait() != 0 for job in jobs):
        raise SystemExit("compilation failed")
    subprocess.run([CLANG, *TARGET, *link, "-mexec-model=reactor",
                    "-Wl,--stack-first", f"-Wl,-z,stack-size={STACK_SIZE}", "-Wl,--strip-debug",
                    *(f"-Wl,--export={name}" for name in EXPORTS),
                    *(unit + ".o" for unit in units), "-o", str(out)], cwd=upstream, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="record the build as the artifact and its hash")
    parser.add_argument("--keep", type=Path, help="leave the built reactor here too")
    parser.add_argument("--missing-toolchain", action="store_true",
                        help="print the pinned Debian packages to install (nothing when all are there)")
    ns = parser.parse_args(argv)
    pinned = lock()
    missing = missing_toolchain(pinned["toolchain"])  # type: ignore[arg-type]
    if ns.missing_toolchain:
        print(" ".join(missing))
        return 0
    if missing or shutil.which(CLANG) is None:
        raise SystemExit("the toolchain differs from reactor.json: apt-get install " + " ".join(missing))
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="modrun-reactor-") as directory:
        work = Path(directory)
        upstream = fetch_sources(pinned["quickjs-ng"], work)  # type: ignore[arg-type]
        fetched = time.perf_counter()
        built = work / "reactor.wasm"
        build(upstream, built)
        digest = sha256(built)
        if ns.keep:
            shutil.copy(built, ns.keep)
        artifact = HERE / str(pinned["artifact"])
        print(f"reactor: {built.stat().st_size:,} bytes, sha256 {digest} "
              f"(sources {fetched - started:.1f} s, build {time.perf_counter() - fetched:.1f} s)")
        if ns.update:
            shutil.copy(built, artifact)
            LOCK.write_text(json.dumps({**pinned, "sha256": digest}, indent=2) + "\n")
            print(f"recorded {artifact.name} and its hash in {LOCK.name}")
            return 0
    if digest != pinned["sha256"]:
        print(f"the build differs from the recorded reactor (sha256 {pinned['sha256']})", file=sys.stderr)
        return 1
    if sha256(artifact) != digest:
        print(f"{artifact.name} is not the recorded build", file=sys.stderr)
        return 1
    print("the build matches the recorded reactor")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
