"""Runs a pointwise TTIR kernel on the CPU, program by program, with NumPy.

Enough of the `tt`/`arith` dialects to check what a kernel addresses without a
GPU: index arithmetic, pointer offsets, masked loads and stores, selects and
half-precision casts. Every lane a load or store does not mask must lie inside
its buffer (an error names the op); masked lanes read 0 and write nothing. An op
outside that subset raises NotImplementedError, so a test never silently
checks less than it says.
"""

from __future__ import annotations

import re

import numpy as np
import torch

_TENSOR = re.compile(r"tensor<((?:\d+x)*)([^>]+)>")
_BINARY = {
    "arith.addi": np.add,
    "arith.subi": np.subtract,
    "arith.muli": np.multiply,
    "arith.andi": np.logical_and,
    "arith.ori": np.logical_or,
    "arith.xori": np.logical_xor,
    "arith.maxsi": np.maximum,
    "arith.minsi": np.minimum,
    "arith.addf": np.add,
    "arith.subf": np.subtract,
    "arith.mulf": np.multiply,
    "arith.divf": np.divide,
}
_CMP = {"slt": np.less, "sle": np.less_equal, "sgt": np.greater, "sge": np.greater_equal, "eq": np.equal, "ne": np.not_equal}


class Pointer:
    def __init__(self, arg: int, offsets):
        self.arg, self.offsets = arg, np.asarray(offsets, dtype=np.int64)


def _shape(type_text: str) -> tuple:
    m = _TENSOR.search(type_text)
    if not m:
        return ()
    return tuple(int(d) for d in m.group(1).split("x") if d)


def _literal(text: str):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("0x"):
        raise NotImplementedError(f"hex float literal {text}")
    return float(text) if any(c in text for c in ".e") or text in ("inf", "-inf") else int(text)


def _bf16(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float32)).to(torch.bfloat16).float().numpy()


def _trunc(x, elem: str):
    if elem == "bf16":
        return _bf16(x)
    if elem == "f16":
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def _body(ttir: str) -> list[str]:
    lines = ttir.splitlines()
    start = next(i for i, line in enumerate(lines) if "tt.func public" in line)
    body = []
    for line in lines[start + 1:]:
        line = line.strip()
        if line.startswith("tt.return"):
            break
        body.append(line)
    return body


def run_kernel(ttir: str, grid: tuple, buffers: list[np.ndarray]) -> None:
    """Runs every program of `grid` (x only) on `buffers` (flat arrays, one per pointer
    parameter in order; written in place)."""
    body = _body(ttir)
    assert grid[1] == grid[2] == 1, "only 1-D grids"
    for pid in range(grid[0]):
        env: dict = {f"%arg{i}": Pointer(i, 0) for i in range(len(buffers))}
        for line in body:
            _step(line, env, pid, buffers)


def _operands(text: str) -> list[str]:
    return re.findall(r"%[\w#]+", text)


def _step(line: str, env: dict, pid: int, buffers: list[np.ndarray]) -> None:
    if line.startswith("tt.store"):
        names = _operands(line.split(":")[0])
        pointer, value = env[names[0]], env[names[1]]
        mask = env[names[2]] if len(names) > 2 else np.ones(pointer.offsets.shape, bool)
        offsets, values = np.broadcast_to(pointer.offsets, mask.shape), np.broadcast_to(value, mask.shape)
        kept = offsets[mask]
        if kept.size and (kept.min() < 0 or kept.max() >= buffers[pointer.arg].size):
            raise IndexError(f"{line}: stores outside buffer {pointer.arg}")
        buffers[pointer.arg][kept] = values[mask]
        return
    m = re.match(r"(%[\w]+) = ([\w.]+)(.*)$", line)
    if not m:
        raise NotImplementedError(line)
    result, op, rest = m.groups()
    names = _operands(rest.split(":")[0] if op != "tt.load" else rest.split(" : ")[0])
    args = [env[n] for n in names]
    out_type = rest.rsplit(":", 1)[-1]
    shape = _shape(out_type.split("->")[-1])
    if op == "arith.constant":
        value = _literal(re.search(r"(?:dense<)?([^>\s:]+)>?\s*:", rest).group(1))
        env[result] = np.full(shape, value) if shape else value
    elif op == "tt.get_program_id":
        env[result] = pid
    elif op == "tt.make_range":
        start, end = (int(v) for v in re.search(r"end = (\d+) : i32, start = (\d+)", rest).groups()[::-1])
        env[result] = np.arange(start, end, dtype=np.int64)
    elif op == "tt.splat":
        a = args[0]
        env[result] = Pointer(a.arg, np.full(shape, a.offsets)) if isinstance(a, Pointer) else np.full(shape, a)
    elif op == "tt.addptr":
        env[result] = Pointer(args[0].arg, args[0].offsets + np.asarray(args[1], dtype=np.int64))
    elif op == "tt.load":
        pointer = args[0]
        mask = args[1] if len(args) > 1 else np.ones(np.shape(pointer.offsets), bool)
        offsets = np.broadcast_to(pointer.offsets, np.shape(mask))
        kept = offsets[mask]
        if kept.size and (kept.min() < 0 or kept.max() >= buffers[pointer.arg].size):
            raise IndexError(f"{line}: loads outside buffer {pointer.arg}")
        values = np.zeros(np.shape(mask), dtype=buffers[pointer.arg].dtype)
        values[mask] = buffers[pointer.arg][kept]
        env[result] = values
    elif op in _BINARY:
        env[result] = _BINARY[op](args[0], args[1])
    elif op in ("arith.divsi", "arith.remsi"):
        a, b = np.asarray(args[0]), np.asarray(args[1])
        q = np.trunc(a / b).astype(np.int64)  # C semantics: toward zero
        env[result] = q if op == "arith.divsi" else a - q * b
    elif op == "arith.cmpi":
        predicate = rest.split(",")[0].strip()
        env[result] = _CMP[predicate](args[0], args[1])
    elif op == "arith.select":
        env[result] = np.where(args[0], args[1], args[2])
    elif op == "arith.extf":
        env[result] = np.asarray(args[0], dtype=np.float32)
    elif op == "arith.truncf":
        env[result] = _trunc(args[0], _TENSOR.search(out_type.split("to")[-1]).group(2))
    else:
        raise NotImplementedError(f"ttir_eval: {op}")
