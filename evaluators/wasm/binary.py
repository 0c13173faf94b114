"""Just enough of the WebAssembly binary format for the wasm evaluator's two module edits:
sections, LEB128, function bodies and an instruction scanner that knows every immediate the
reactor build uses (MVP plus bulk memory, reference types, sign extension and saturating
truncation; no SIMD). stop_checks.py adds the stop checks; snapshot.py bakes a booted runtime
into data segments.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MAGIC = b"\0asm\x01\0\0\0"

# Section ids
CUSTOM, TYPE, IMPORT, FUNCTION, TABLE, MEMORY, GLOBAL, EXPORT, START, ELEMENT, CODE, DATA, DATACOUNT = range(13)

_BLOCKTYPE_BYTES = {0x40, 0x7F, 0x7E, 0x7D, 0x7C, 0x7B, 0x70, 0x6F}

# Opcodes this package emits
OP_UNREACHABLE, OP_IF, OP_END = 0x00, 0x04, 0x0B
OP_I32_CONST = 0x41
EMPTY_BLOCK = 0x40


class WasmFormatError(ValueError):
    """The bytes are not a module this reader understands."""


# ---- LEB128 ----

def uleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)


def read_uleb(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return result, pos


def read_sleb(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            if byte & 0x40:
                result -= 1 << shift
            return result, pos


def vec(items: list[bytes]) -> bytes:
    return uleb(len(items)) + b"".join(items)


def name(text: str) -> bytes:
    raw = text.encode()
    return uleb(len(raw)) + raw


def read_name(data: bytes, pos: int) -> tuple[str, int]:
    length, pos = read_uleb(data, pos)
    return data[pos:pos + length].decode(), pos + length


# ---- sections ----

@dataclass
class Section:
    id: int
    payload: bytes

    @property
    def custom_name(self) -> str | None:
        return read_name(self.payload, 0)[0] if self.id == CUSTOM else None

    def encode(self) -> bytes:
        return bytes([self.id]) + uleb(len(self.payload)) + self.payload


def read_sections(data: bytes) -> list[Section]:
    if data[:8] != MAGIC:
        raise WasmFormatError("not a WebAssembly 1.0 module")
    sections = []
    pos = 8
    while pos < len(data):
        section_id = data[pos]
        size, pos = read_uleb(data, pos + 1)
        sections.append(Section(section_id, data[pos:pos + size]))
        pos += size
    return sections


def write_module(sections: list[Section]) -> bytes:
    return MAGIC + b"".join(section.encode() for section in sections)


# ---- the sections the edits read and change ----

_VALTYPES = {0x7F: "i32", 0x7E: "i64", 0x7D: "f32", 0x7C: "f64", 0x7B: "v128", 0x70: "funcref", 0x6F: "externref"}


def read_types(payload: bytes) -> list[tuple[list[str], list[str]]]:
    """Each function type's parameter and result types, by name (`i32`, `i64`…)."""
    count, pos = read_uleb(payload, 0)
    types = []
    for _ in range(count):
        if payload[pos] != 0x60:
            raise WasmFormatError("only function types are supported")
        pos += 1
        lists: list[list[str]] = []
        for _ in range(2):
            size, pos = read_uleb(payload, pos)
            lists.append([_VALTYPES.get(code, hex(code)) for code in payload[pos:pos + size]])
            pos += size
        types.append((lists[0], lists[1]))
    return types


def read_function_section(payload: bytes) -> list[int]:
    """The type index of each function the module defines (they follow the imported ones)."""
    count, pos = read_uleb(payload, 0)
    indices = []
    for _ in range(count):
        index, pos = read_uleb(payload, pos)
        indices.append(index)
    return indices


def read_imported_function_types(payload: bytes) -> list[int]:
    """The type index of each imported function, in import order (the first function indices)."""
    count, pos = read_uleb(payload, 0)
    types = []
    for _ in range(count):
        _, pos = read_name(payload, pos)
        _, pos = read_name(payload, pos)
        kind = payload[pos]
        pos += 1
        if kind != 0:
            raise WasmFormatError("only function imports are supported")
        index, pos = read_uleb(payload, pos)
        types.append(index)
    return types


@dataclass
class Export:
    name: str
    kind: int  # 0 func, 1 table, 2 memory, 3 global
    index: int


def read_exports(payload: bytes) -> list[Export]:
    count, pos = read_uleb(payload, 0)
    out = []
    for _ in range(count):
        export_name, pos = read_name(payload, pos)
        kind = payload[pos]
        index, pos = read_uleb(payload, pos + 1)
        out.append(Export(export_name, kind, index))
    return out


def write_exports(exports: list[Export]) -> bytes:
    return vec([name(e.name) + bytes([e.kind]) + uleb(e.index) for e in exports])


@dataclass
class Memory:
    minimum: int
    maximum: int | None = None

    def encode(self) -> bytes:
        if self.maximum is None:
            return b"\0" + uleb(self.minimum)
        return b"\1" + uleb(self.minimum) + uleb(self.maximum)


def read_memories(payload: bytes) -> list[Memory]:
    count, pos = read_uleb(payload, 0)
    out = []
    for _ in range(count):
        flags = payload[pos]
        if flags not in (0, 1):
            raise WasmFormatError(f"unsupported memory flags {flags}")
        minimum, pos = read_uleb(payload, pos + 1)
        maximum = None
        if flags == 1:
            maximum, pos = read_uleb(payload, pos)
        out.append(Memory(minimum, maximum))
    return out


def write_memories(memories: list[Memory]) -> bytes:
    return vec([memory.encode() for memory in memories])


@dataclass
class DataSegment:
    offset: int
    data: bytes

    def encode(self) -> bytes:  # active, memory 0, at `i32.const offset`
        return b"\0" + bytes([OP_I32_CONST]) + sleb(self.offset) + bytes([OP_END]) + uleb(len(self.data)) + self.data


def read_function_names(payload: bytes) -> dict[int, str]:
    """Function names from the `name` custom section (subsection 1)."""
    _, pos = read_name(payload, 0)
    names: dict[int, str] = {}
    while pos < len(payload):
        sub = payload[pos]
        size, pos = read_uleb(payload, pos + 1)
        end = pos + size
        if sub == 1:
            count, p = read_uleb(payload, pos)
            for _ in range(count):
                index, p = read_uleb(payload, p)
                names[index], p = read_name(payload, p)
        pos = end
    return names


# ---- code ----

@dataclass
class Body:
    locals: list[tuple[int, int]]  # (count, valtype)
    code: bytes  # the instructions, the final `end` included

    @property
    def local_count(self) -> int:
        return sum(count for count, _ in self.locals)

    def encode(self) -> bytes:
        inner = vec([uleb(count) + bytes([valtype]) for count, valtype in self.locals]) + self.code
        return uleb(len(inner)) + inner


def read_code(payload: bytes) -> list[Body]:
    count, pos = read_uleb(payload, 0)
    bodies = []
    for _ in range(count):
        size, pos = read_uleb(payload, pos)
        end = pos + size
        groups, p = read_uleb(payload, pos)
        locals_ = []
        for _ in range(groups):
            n, p = read_uleb(payload, p)
            locals_.append((n, payload[p]))
            p += 1
        bodies.append(Body(locals_, payload[p:end]))
        pos = end
    return bodies


def write_code(bodies: list[Body]) -> bytes:
    return vec([body.encode() for body in bodies])


def scan(code: bytes, pos: int = 0) -> Iterator[tuple[int, int, int]]:
    """(offset, opcode, offset of the next instruction) for each instruction from `pos` on.
    The first immediate of index-carrying instructions can be read with `read_uleb(code, offset + 1)`."""
    n = len(code)
    while pos < n:
        start = pos
        op = code[pos]
        pos += 1
        if op in (0x02, 0x03, 0x04):  # block, loop, if
            if code[pos] in _BLOCKTYPE_BYTES:
                pos += 1
            else:
                _, pos = read_sleb(code, pos)
        elif op in (0x0C, 0x0D, 0x10, 0x12, 0xD2) or 0x20 <= op <= 0x26:
            _, pos = read_uleb(code, pos)
        elif op == 0x0E:  # br_table
            count, pos = read_uleb(code, pos)
            for _ in range(count + 1):
                _, pos = read_uleb(code, pos)
        elif op in (0x11, 0x13):  # call_indirect type table
            _, pos = read_uleb(code, pos)
            _, pos = read_uleb(code, pos)
        elif op == 0x1C:  # select t*
            count, pos = read_uleb(code, pos)
            pos += count
        elif 0x28 <= op <= 0x3E:  # memarg: align flags, [memory index,] offset
            flags, pos = read_uleb(code, pos)
            if flags & 0x40:
                _, pos = read_uleb(code, pos)
            _, pos = read_uleb(code, pos)
        elif op in (0x3F, 0x40):  # memory.size / memory.grow
            _, pos = read_uleb(code, pos)
        elif op == 0x41:
            _, pos = read_sleb(code, pos)
        elif op == 0x42:
            _, pos = read_sleb(code, pos)
        elif op == 0x43:
            pos += 4
        elif op == 0x44:
            pos += 8
        elif op == 0xD0:  # ref.null heaptype
            pos += 1
        elif op == 0xFC:
            sub, pos = read_uleb(code, pos)
            op = 0xFC00 | sub
            if sub <= 7:
                pass
            elif sub in (8, 12, 14):  # memory.init / table.init / table.copy: two indices
                _, pos = read_uleb(code, pos)
                _, pos = read_uleb(code, pos)
            elif sub == 10:  # memory.copy
                _, pos = read_uleb(code, pos)
                _, pos = read_uleb(code, pos)
            elif sub in (9, 11, 13, 15, 16, 17):
                _, pos = read_uleb(code, pos)
            else:
                raise WasmFormatError(f"unknown instruction 0xfc {sub} at {start}")
        elif op <= 0x01 or op in (0x05, 0x0B, 0x0F, 0x1A, 0x1B, 0xD1) or 0x45 <= op <= 0xC4:
            pass
        else:
            raise WasmFormatError(f"unknown instruction 0x{op:02x} at {start}")
        yield start, op, pos
