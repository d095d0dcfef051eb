"""What a compiled kernel asks of an SM, read from its cubin: registers, stack, occupancy.

ptxas records a kernel's resources in the cubin's `.nv.info` sections as
EIATTR records ([format, attribute, size] then the value; a value that
names a function starts with its symbol index). Reading them needs no GPU,
so a kernel's register pressure can be checked where its TTIR compiles
(`coil-translate --coil-to-ttir --report`): a persistent 32768-wide row
that takes all 128 registers a thread of its 16 warps runs one program an
SM, which is why cross-entropy's backward row kernel loops (emit.py).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_EIATTR_FRAME_SIZE = 0x11  # bytes of local memory (spilled registers, stack arrays) a thread
_EIATTR_REGCOUNT = 0x2F
_EIFMT_SVAL = 0x04  # a record with a 2-byte size and a value

# An SM of compute capability 9.0 (H100).
SM_REGISTERS = 65536
SM_MAX_WARPS = 64
SM_MAX_BLOCKS = 32
SM_SHARED_BYTES = 228 * 1024


@dataclass(frozen=True)
class KernelResources:
    registers: int  # a thread
    frame_bytes: int  # a thread's local memory: > 0 when ptxas spilled
    shared_bytes: int
    num_warps: int

    @property
    def warps_per_sm(self) -> int:
        """Resident warps an SM holds (occupancy), limited by registers, shared memory and blocks."""
        threads = 32 * self.num_warps
        blocks = SM_MAX_BLOCKS
        if self.registers:
            blocks = min(blocks, SM_REGISTERS // (self.registers * threads))
        if self.shared_bytes:
            blocks = min(blocks, SM_SHARED_BYTES // self.shared_bytes)
        blocks = min(blocks, SM_MAX_WARPS // self.num_warps)
        return blocks * self.num_warps


def _sections(elf: bytes):
    """(name, bytes) of each section of a 64-bit little-endian ELF file."""
    shoff = struct.unpack_from("<Q", elf, 0x28)[0]
    entsize, count, names_index = struct.unpack_from("<HHH", elf, 0x3A)
    headers = [struct.unpack_from("<IIQQQQIIQQ", elf, shoff + k * entsize) for k in range(count)]
    names_offset = headers[names_index][4]
    for header in headers:
        start = names_offset + header[0]
        name = elf[start : elf.index(b"\0", start)].decode()
        yield name, elf[header[4] : header[4] + header[5]]


def _records(data: bytes):
    """(attribute, value) of the EIATTR records of one `.nv.info` section."""
    at = 0
    while at + 4 <= len(data):
        fmt, attribute = data[at], data[at + 1]
        if fmt == _EIFMT_SVAL:
            size = struct.unpack_from("<H", data, at + 2)[0]
            yield attribute, data[at + 4 : at + 4 + size]
            at += 4 + size
        else:  # a record whose value fits in its own 2 bytes
            at += 4


def cubin_resources(cubin: bytes, num_warps: int, shared_bytes: int = 0) -> KernelResources:
    """The resources of the (one) kernel in `cubin`."""
    registers = frame = 0
    for name, data in _sections(cubin):
        if not name.startswith(".nv.info"):
            continue
        for attribute, value in _records(data):
            if attribute == _EIATTR_REGCOUNT and len(value) >= 8:
                registers = max(registers, struct.unpack_from("<I", value, 4)[0])
            elif attribute == _EIATTR_FRAME_SIZE and len(value) >= 8:
                frame = max(frame, struct.unpack_from("<I", value, 4)[0])
    return KernelResources(registers, frame, shared_bytes, num_warps)


def compile_for_h100(ttir: str, num_warps: int):
    """`ttir` compiled for sm_90 (no GPU needed): Triton's compiled kernel, its `asm`
    holding the PTX and the cubin."""
    from triton.backends.compiler import GPUTarget

    from .runtime import compile_ttir

    return compile_ttir(ttir, GPUTarget("cuda", 90, 32), num_warps)


def h100_resources(ttir: str, num_warps: int) -> KernelResources:
    """The resources of `ttir`'s kernel compiled for sm_90 (`compile_for_h100`)."""
    compiled = compile_for_h100(ttir, num_warps)
    return cubin_resources(compiled.asm["cubin"], num_warps, compiled.metadata.shared)
