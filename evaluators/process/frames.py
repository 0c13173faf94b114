"""The framing of the channel between the process evaluator and its worker.

A frame is a 7-byte header — the magic `MR`, one kind byte, the payload length as a 32-bit
little-endian integer — followed by the payload. The channel is a Unix socket of its own (never
stdout), so nothing the module prints can corrupt it. Garbage is caught early: a wrong magic, an
unknown kind or an oversized length is a `FrameError`; a frame whose rest never arrives is caught
by the readers' stall timeouts.

Frames, parent to worker:
- INIT   JSON `{profile, mode, hmr, code_cache, limits, address_space_headroom_bytes, stall_s}`; the worker
         answers READY or FAIL;
- TURN   `<dd` (absolute CLOCK_MONOTONIC deadline, CPU seconds left; NaN for none) + the
         messages for the runtime as a JSON array (may be empty). The worker delivers them, runs
         every pending job and answers with one OUT frame (or FAIL);
- CALL   `<ddI` (deadline, CPU seconds left, as in TURN; the url's length) + the url + the JSON
         of `[path, args]`: a direct call of an export (RunnerClient.call), without the message
         layer; the worker calls it, then runs a turn, and answers with one ANSWER frame (or FAIL);
- AHEAD  `<I` (how many modules) + that many `<II` (a code key's length, its code's length, in bytes)
         + the keys and codes, UTF-8, one after the other: the modules of the graph the next TURN
         hands over, whose wrappers the worker compiles ahead of its runtime
         (evaluators/compile_ahead.py); no answer. Sent only to a worker whose READY said `ahead`;
Worker to parent:
- READY  JSON `{pid, boot_ms, vm_bytes, engine, code_cache_off, ahead}` (code_cache_off: why compiled
         code is not kept on disk, or null; ahead: whether it takes AHEAD frames);
- OUT    `<d` (engine CPU seconds spent) + the runtime's outbox as a JSON array (empty text when
         it sent nothing). Every turn runs the runtime until it is idle: it has no jobs left and
         waits for the host;
- ANSWER `<dI` (engine CPU seconds spent, the answer's length) + the runtime's answer to a CALL
         (JSON: `{result}`, `{error}` or `{pending}`) + its outbox, as in OUT;
- FAIL   JSON `{kind, limit, message, output}`: the runtime is gone (a limit, an engine failure,
         a protocol error) and the worker exits.

This module imports only the standard library: both ends load it, the worker without the host side.
"""

from __future__ import annotations

import math
import socket
import struct

MAGIC = b"MR"
HEADER = struct.Struct("<2sBI")
TURN_HEAD = struct.Struct("<dd")
OUT_HEAD = struct.Struct("<d")
_TURN_FRAME = struct.Struct("<2sBIdd")  # header and TURN head in one pack
_OUT_FRAME = struct.Struct("<2sBId")
CALL_HEAD = struct.Struct("<ddI")
ANSWER_HEAD = struct.Struct("<dI")
_CALL_FRAME = struct.Struct("<2sBIddI")
_ANSWER_FRAME = struct.Struct("<2sBIdI")
AHEAD_COUNT = struct.Struct("<I")
AHEAD_SIZES = struct.Struct("<II")

INIT = 1
TURN = 2
CALL = 3
AHEAD = 4
READY = 16
OUT = 17
FAIL = 18
ANSWER = 19
KINDS = frozenset({INIT, TURN, CALL, AHEAD, READY, OUT, FAIL, ANSWER})

#: bytes read from the socket at a time
CHUNK = 256 * 1024
#: the largest payload either side accepts; more is a protocol error (bounded memory)
MAX_FRAME = 512 * 1024 * 1024
#: once a frame has started (either way), the rest must move within this many seconds by default
STALL_TIMEOUT_S = 5.0


class FrameError(Exception):
    """The channel carried something that is not a frame."""


def pack(kind: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_FRAME:
        raise FrameError(f"a frame of {len(payload)} bytes exceeds the channel's limit of {MAX_FRAME} bytes")
    return HEADER.pack(MAGIC, kind, len(payload)) + payload


def pack_turn(deadline: float | None, cpu_left: float | None, messages: bytes) -> bytes:
    size = TURN_HEAD.size + len(messages)
    if size > MAX_FRAME:
        raise FrameError(f"a frame of {size} bytes exceeds the channel's limit of {MAX_FRAME} bytes")
    return _TURN_FRAME.pack(MAGIC, TURN, size, math.nan if deadline is None else deadline,
                            math.nan if cpu_left is None else cpu_left) + messages


def unpack_turn(payload: bytes) -> tuple[float | None, float | None, bytes]:
    if len(payload) < TURN_HEAD.size:
        raise FrameError(f"a TURN frame of {len(payload)} bytes is too short")
    deadline, cpu_left = TURN_HEAD.unpack_from(payload)
    return (None if math.isnan(deadline) else deadline, None if math.isnan(cpu_left) else cpu_left,
            payload[TURN_HEAD.size:])


def pack_out(cpu: float, text: str) -> bytes:
    body = text.encode("utf-8", "surrogatepass")
    size = OUT_HEAD.size + len(body)
    if size > MAX_FRAME:
        raise FrameError(f"a frame of {size} bytes exceeds the channel's limit of {MAX_FRAME} bytes")
    return _OUT_FRAME.pack(MAGIC, OUT, size, cpu) + body


def unpack_out(payload: bytes) -> tuple[float, bytes]:
    if len(payload) < OUT_HEAD.size:
        raise FrameError(f"an OUT frame of {len(payload)} bytes is too short")
    return OUT_HEAD.unpack_from(payload)[0], payload[OUT_HEAD.size:]


def pack_call(deadline: float | None, cpu_left: float | None, url: str, request: bytes) -> bytes:
    raw_url = url.encode("utf-8", "surrogatepass")
    size = CALL_HEAD.size + len(raw_url) + len(request)
    if size > MAX_FRAME:
        raise FrameError(f"a frame of {size} bytes exceeds the channel's limit of {MAX_FRAME} bytes")
    return _CALL_FRAME.pack(MAGIC, CALL, size, math.nan if deadline is None else deadline,
                            math.nan if cpu_left is None else cpu_left, len(raw_url)) + raw_url + request


def unpack_call(payload: bytes) -> tuple[float | None, float | None, str, str]:
    """(deadline, CPU seconds left, url, request JSON)."""
    if len(payload) < CALL_HEAD.size:
        raise FrameError(f"a CALL frame of {len(payload)} bytes is too short")
    deadline, cpu_left, url_size = CALL_HEAD.unpack_from(payload)
    end = CALL_HEAD.size + url_size
    if end > len(payload):
        raise FrameError("a CALL frame whose url runs past its end")
    try:
        url, request = payload[CALL_HEAD.size:end].decode("utf-8"), payload[end:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise FrameError(f"a CALL frame that is not UTF-8 ({error.reason})") from None
    return (None if math.isnan(deadline) else deadline, None if math.isnan(cpu_left) else cpu_left, url, request)


def pack_answer(cpu: float, answer: str, text: str) -> bytes:
    raw_answer = answer.encode("utf-8", "surrogatepass")
    body = text.encode("utf-8", "surrogatepass")
    size = ANSWER_HEAD.size + len(raw_answer) + len(body)
    if size > MAX_FRAME:
        raise FrameError(f"a frame of {size} bytes exceeds the channel's limit of {MAX_FRAME} bytes")
    return _ANSWER_FRAME.pack(MAGIC, ANSWER, size, cpu, len(raw_answer)) + raw_answer + body


def unpack_answer(payload: bytes) -> tuple[float, bytes, bytes]:
    """(CPU seconds spent, the answer's JSON, the outbox's JSON)."""
    if len(payload) < ANSWER_HEAD.size:
        raise FrameError(f"an ANSWER frame of {len(payload)} bytes is too short")
    cpu, answer_size = ANSWER_HEAD.unpack_from(payload)
    end = ANSWER_HEAD.size + answer_size
    if end > len(payload):
        raise FrameError("an ANSWER frame whose answer runs past its end")
    return cpu, payload[ANSWER_HEAD.size:end], payload[end:]


def pack_ahead(modules: dict[str, str]) -> bytes:
    """An AHEAD frame of modules (code key -> code)."""
    keys = [key.encode() for key in modules]
    codes = [code.encode("utf-8", "surrogatepass") for code in modules.values()]
    sizes = b"".join(AHEAD_SIZES.pack(len(key), len(code)) for key, code in zip(keys, codes, strict=True))
    return pack(AHEAD, AHEAD_COUNT.pack(len(keys)) + sizes + b"".join(keys) + b"".join(codes))


def unpack_ahead(payload: bytes) -> dict[str, str]:
    """The modules of an AHEAD frame (code key -> code), each key of a code key's shape."""
    if len(payload) < AHEAD_COUNT.size:
        raise FrameError(f"an AHEAD frame of {len(payload)} bytes is too short")
    count = AHEAD_COUNT.unpack_from(payload)[0]
    at = AHEAD_COUNT.size + count * AHEAD_SIZES.size
    if at > len(payload):
        raise FrameError(f"an AHEAD frame of {count} modules whose sizes run past its end")
    sizes = [AHEAD_SIZES.unpack_from(payload, AHEAD_COUNT.size + index * AHEAD_SIZES.size) for index in range(count)]
    if at + sum(key + code for key, code in sizes) != len(payload):
        raise FrameError("an AHEAD frame whose sizes do not add up to its length")
    keys: list[str] = []
    codes: list[str] = []
    try:
        for key_size, _ in sizes:
            keys.append(payload[at:at + key_size].decode("ascii"))
            at += key_size
        for _, code_size in sizes:
            codes.append(payload[at:at + code_size].decode("utf-8", "surrogatepass"))
            at += code_size
    except UnicodeDecodeError as error:
        raise FrameError(f"an AHEAD frame that is not UTF-8 ({error.reason})") from None
    for key in keys:
        if not _code_key_shaped(key):
            raise FrameError(f"an AHEAD frame with a malformed code key {key[:80]!r}")
    return dict(zip(keys, codes, strict=True))


def _code_key_shaped(key: str) -> bool:
    """Is `key` shaped as a code key (runner/rpc/code_keys.py): a hex digest, t or s, the awaits' offsets?"""
    # (imported here: the host spawns workers before it loads hashlib, which code_keys needs)
    from runner.rpc.code_keys import key_shape

    parts = key.split(":")
    return len(parts) == 3 and len(parts[0]) == 40 and all(c in "0123456789abcdef" for c in parts[0]) \
        and key_shape(parts[1], parts[2]) is not None


class FrameReader:
    """Incremental parser: fill it from the socket as bytes arrive, take whole frames out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._need: tuple[int, int] | None = None  # (kind, length) of the frame being assembled
        self._chunk = bytearray(CHUNK)
        self._chunk_view = memoryview(self._chunk)

    def fill_from(self, sock: socket.socket) -> int:
        """Read what the socket has (up to the chunk size) into the buffer; 0 at end of stream.
        Reads into a reused buffer: `recv(large)` would allocate (and mmap) a fresh one each time."""
        count = sock.recv_into(self._chunk)
        if count:
            self._buffer += self._chunk_view[:count]
        return count

    @property
    def partial(self) -> bool:
        """Some bytes of a frame have arrived, not all of it."""
        return bool(self._buffer) or self._need is not None

    def next(self) -> tuple[int, bytes] | None:
        """The next whole frame, or None until more bytes arrive. Raises FrameError on garbage."""
        if self._need is None:
            if len(self._buffer) < HEADER.size:
                if self._buffer and not MAGIC.startswith(bytes(self._buffer[:2])):
                    raise FrameError(f"bad frame header {bytes(self._buffer[:HEADER.size])!r}")
                return None
            magic, kind, length = HEADER.unpack_from(self._buffer)
            if magic != MAGIC:
                raise FrameError(f"bad frame header {bytes(self._buffer[:HEADER.size])!r} (no frame magic)")
            if kind not in KINDS:
                raise FrameError(f"unknown frame kind {kind}")
            if length > MAX_FRAME:
                raise FrameError(f"a frame of {length} bytes exceeds the channel's limit of {MAX_FRAME} bytes")
            end = HEADER.size + length
            if len(self._buffer) >= end:  # the usual case: the whole frame is here
                payload = bytes(self._buffer[HEADER.size:end])
                del self._buffer[:end]
                return kind, payload
            del self._buffer[:HEADER.size]
            self._need = (kind, length)
        kind, length = self._need
        if len(self._buffer) < length:
            return None
        payload = bytes(self._buffer[:length])
        del self._buffer[:length]
        self._need = None
        return kind, payload
