"""Snapshots: a booted runtime baked into a module of its own.

Booting a sandbox means initialising libc, creating the JSRuntime and JSContext and compiling
and running the runner bundle (runner/js) — milliseconds. Instead this is done once: the booted
instance's linear memory becomes the data segments of a new module, whose memory starts at the
booted size and whose globals start at their booted values (the stack pointer is back at the
top between calls, so the dead stack below it is left out). A sandbox is then an instantiation
of that module: wasmtime maps the data copy-on-write from the compiled image, so a new sandbox
costs tens of microseconds and shares every page it does not write with its siblings — and with
other processes using the same cached file.

What the host must know about the booted runtime (the JSRuntime and JSContext pointers, the
JSValues of the runner's entry points, the driver's own guest buffers) travels beside the module
as JSON. Per-sandbox state the image would otherwise share — Math.random's seed, the
performance.now() zero, the limits — is set on each new instance (Guest.reseed and friends).
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .guest import Guest

PAGE = 65536
CHUNK = 4096  # the granularity at which zero pages are left out of the image
ENTRY_POINTS = ("receive", "drain", "callNow", "callDirect", "outbox", "track", "takeCompiles", "compiled")
FILENAME = "<input>"  # what QuickJS-ng in-process names every source; runner/js relies on it


class BootedRuntime(NamedTuple):  # not a dataclass: every wasm run makes this class, and a dataclass costs a compile
    """What the host keeps about a booted runtime: the driver's state, the runner's entry points
    (JSValues the host owns a reference to) and the engine's version."""

    state: dict[str, Any]
    entry_points: dict[str, int]
    version: str

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "entry_points": self.entry_points, "version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BootedRuntime:
        return cls(dict(data["state"]), {k: int(v) for k, v in data["entry_points"].items()}, str(data["version"]))


def boot(guest: Guest, boot_source: str) -> BootedRuntime:
    """Create the runtime and run the runner bundle in a fresh instance of the reactor."""
    guest.call("_initialize")  # libc's constructors
    guest.create_runtime()
    runtime = guest.eval(boot_source, FILENAME)
    try:
        entry_points = {name: guest.get(runtime, name) for name in ENTRY_POINTS}
    finally:
        guest.free_value(runtime)
    guest.set_drain(entry_points["drain"])
    guest.set_rejection_tracker(entry_points["track"])
    guest.release_scratch()
    guest.run_jobs()
    guest.call("modrun_gc")
    return BootedRuntime(guest.state(), entry_points, guest.version())


def capture(guest: Guest, stack_top: int) -> bytes:
    """The guest's linear memory as an image, the dead stack (below the stack pointer, which the
    reactor's link puts first in memory) zeroed."""
    size = guest.memory_size()
    image = bytearray(guest.read(0, size))
    if guest.stack_pointer() != stack_top:
        raise RuntimeError("cannot snapshot a guest with frames on its stack")
    image[:stack_top] = bytes(stack_top)
    return bytes(image)


def snapshot_module(base: bytes, image: bytes) -> bytes:
    """`base` with its memory starting as `image` (the reactor's one mutable global is the stack
    pointer, back at its initial value between calls)."""
    from . import binary as wb  # only when a snapshot is built

    sections = wb.read_sections(base)
    pages = -(-len(image) // PAGE)
    out = []
    for section in sections:
        if section.id == wb.MEMORY:
            memories = wb.read_memories(section.payload)  # memory 0 is the image; the control memory stays
            memories[0] = wb.Memory(max(pages, memories[0].minimum), memories[0].maximum)
            section = wb.Section(wb.MEMORY, wb.write_memories(memories))
        elif section.id == wb.DATA:
            section = wb.Section(wb.DATA, wb.vec([segment.encode() for segment in _segments(image)]))
        elif section.id == wb.DATACOUNT:
            section = wb.Section(wb.DATACOUNT, wb.uleb(len(_segments(image))))
        out.append(section)
    return wb.write_module(out)


def _segments(image: bytes) -> list[Any]:
    """Runs of non-zero chunks, each trimmed of zeros at both ends (binary.DataSegment)."""
    from . import binary as wb

    segments = []
    zero = bytes(CHUNK)
    start = None
    for offset in range(0, len(image) + CHUNK, CHUNK):
        chunk = image[offset:offset + CHUNK]
        empty = not chunk or chunk == zero[:len(chunk)]
        if not empty and start is None:
            start = offset
        elif empty and start is not None:
            data = image[start:offset]
            head = len(data) - len(data.lstrip(b"\0"))
            data = data[head:].rstrip(b"\0")
            segments.append(wb.DataSegment(start + head, data))
            start = None
    return segments
