"""Runs a TTIR kernel on the CPU, program by program, with NumPy.

Enough of the `tt`/`arith`/`math` dialects to check what a kernel computes
and addresses without a GPU: index arithmetic, pointer offsets, masked loads
and stores, selects, half-precision casts, broadcasts and single-result
`tt.reduce`s, `scf.for` loops with carried values (looped reductions), and a
combo kernel's `scf.if` dispatch to its parts (`tt.call`). Every lane a load or store does not mask must lie inside
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
    "arith.maximumf": np.maximum,
    "arith.minimumf": np.minimum,
}
def _erf(a):
    return torch.erf(torch.from_numpy(np.ascontiguousarray(a))).numpy()


_LIBDEVICE = {  # __nv_<name> (float64) and __nv_<name>f (float32) -> (arity, function)
    "exp": (1, np.exp), "log": (1, np.log), "tanh": (1, np.tanh), "sqrt": (1, np.sqrt), "rsqrt": (1, lambda a: 1 / np.sqrt(a)),
    "log1p": (1, np.log1p), "expm1": (1, np.expm1), "sin": (1, np.sin), "cos": (1, np.cos), "fabs": (1, np.abs),
    "erf": (1, _erf), "rint": (1, np.rint), "floor": (1, np.floor), "ceil": (1, np.ceil), "trunc": (1, np.trunc),
    "atan": (1, np.arctan), "atan2": (2, np.arctan2), "pow": (2, np.power), "fmod": (2, np.fmod),
}
# `math.<name>` ops: libdevice's function of that name, or one of these.
_MATH = {"exp2": np.exp2, "log2": np.log2, "absf": np.abs}
_COMBINE = {
    "arith.maximumf": np.max, "arith.minimumf": np.min, "arith.addf": np.sum, "arith.mulf": np.prod,
    "arith.addi": np.sum, "arith.maxsi": np.max, "arith.minsi": np.min,
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


def _literal(text: str, elem: str):
    text = text.strip()
    if text in ("true", "false"):
        return text == "true"
    if text.startswith("0x"):  # a float's bits
        bits = int(text, 16)
        if elem == "f32":
            return float(np.array([bits], dtype=np.uint32).view(np.float32)[0])
        if elem == "bf16":
            return float(np.array([bits << 16], dtype=np.uint32).view(np.float32)[0])
        if elem == "f16":
            return float(np.array([bits], dtype=np.uint16).view(np.float16)[0])
        raise NotImplementedError(f"hex literal {text} of {elem}")
    return float(text) if any(c in text for c in ".e") or text in ("inf", "-inf") else int(text)


def _bf16(x):
    return torch.from_numpy(np.asarray(x, dtype=np.float32)).to(torch.bfloat16).float().numpy()


def buffer_of(t: torch.Tensor) -> np.ndarray:
    """A flat copy of `t` in the element types `run_kernel` computes in: float32 for
    floating tensors (half precision widens exactly), int64 for the others."""
    return (t.float() if t.is_floating_point() else t.long()).flatten().numpy().copy()


def _trunc(x, elem: str):
    if elem == "bf16":
        return _bf16(x)
    if elem == "f16":
        return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)
    return np.asarray(x, dtype=np.float32)


def _functions(ttir: str) -> dict:
    """name -> (parameter names, body items, public?) of every `tt.func` in the module.
    An item is a line, a `tt.reduce` with its region (one text), an `scf.for` as
    (header, body items) or an `scf.if` as ("if", condition, body items)."""
    lines = [line.strip() for line in ttir.splitlines()]
    functions = {}
    i = 0
    while i < len(lines):
        m = re.match(r"tt\.func (public|private) @(\w+)\((.*)\)", lines[i])
        if not m:
            i += 1
            continue
        params = re.findall(r"(%\w+):", m.group(3))
        items, i = _block(lines, i + 1)
        if i < len(lines) and lines[i] == "}":
            i += 1
        functions[m.group(2)] = (params, items, m.group(1) == "public")
    return functions


def _block(lines: list[str], i: int) -> tuple[list, int]:
    items: list = []
    while i < len(lines):
        line = lines[i]
        if line.startswith("tt.return") or line == "}":
            return items, i + 1
        if '"tt.reduce"' in line:  # its combine region, up to the closing line
            end = next(j for j in range(i, len(lines)) if lines[j].startswith("})"))
            items.append("\n".join(lines[i:end + 1]))
            i = end + 1
        elif re.match(r"(?:%[\w:]+ = )?scf\.for ", line):
            body, i = _block(lines, i + 1)
            items.append((line, body))
        elif re.match(r"scf\.if (%\w+) \{$", line):
            body, i = _block(lines, i + 1)
            items.append(("if", line.split()[1], body))
        else:
            items.append(line)
            i += 1
    return items, i


def run_kernel(ttir: str, grid: tuple, buffers: list[np.ndarray]) -> None:
    """Runs every program of `grid` (x, y) on `buffers` (flat arrays, one per pointer
    parameter in order; written in place). A combo kernel's public function calls
    its parts (`tt.call`), each run the same way."""
    functions = _functions(ttir)
    (params, body, _), = [f for f in functions.values() if f[2]]
    assert grid[2] == 1, "no z grid"
    for pid_y in range(grid[1]):
        for pid_x in range(grid[0]):
            env: dict = {name: Pointer(i, 0) for i, name in enumerate(params)}
            env["@functions"] = functions
            _run(body, env, (pid_x, pid_y), buffers)


def _run(items: list, env: dict, pid: tuple, buffers: list[np.ndarray]) -> list | None:
    """Runs a block; the values of its `scf.yield`, if it has one."""
    for item in items:
        if isinstance(item, tuple) and item[0] == "if":
            if bool(env[item[1]]):
                _run(item[2], env, pid, buffers)
        elif isinstance(item, tuple):
            _for(item, env, pid, buffers)
        elif item.startswith("scf.yield"):
            return [env[n] for n in _operands(item.split(":")[0])]
        elif item.startswith("tt.call"):
            m = re.match(r"tt\.call @(\w+)\(([^)]*)\)", item)
            params, body, _ = env["@functions"][m.group(1)]
            callee = {"@functions": env["@functions"]}
            callee.update(zip(params, [env[n] for n in _operands(m.group(2))]))
            _run(body, callee, pid, buffers)
        else:
            _step(item, env, pid, buffers)
    return None


def _for(item: tuple, env: dict, pid: tuple, buffers: list[np.ndarray]) -> None:
    header, body = item
    m = re.match(r"(?:(%[\w]+)(?::(\d+))? = )?scf.for (%\w+) = (%\w+) to (%\w+) step (%\w+)(?: iter_args\((.*?)\))?", header)
    if not m:
        raise NotImplementedError(f"ttir_eval: {header}")
    result, count, iv, lower, upper, step, iter_args = m.groups()
    carried = [tuple(part.split(" = ")) for part in iter_args.split(", ")] if iter_args else []
    values = [env[init] for _, init in carried]
    for i in range(int(env[lower]), int(env[upper]), int(env[step])):
        env[iv] = i
        for (name, _), value in zip(carried, values):
            env[name] = value
        values = _run(body, env, pid, buffers) or []
    if count:
        for k, value in enumerate(values):
            env[f"{result}#{k}"] = value
    elif values:
        env[result] = values[0]


def _operands(text: str) -> list[str]:
    return re.findall(r"%[\w#]+", text)


def _step(line: str, env: dict, pid: tuple, buffers: list[np.ndarray]) -> None:
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
    if '"tt.reduce"' in line:
        return _reduce(line, env)
    m = re.match(r"(%[\w]+) = ([\w.]+)(.*)$", line)
    if not m:
        raise NotImplementedError(line)
    result, op, rest = m.groups()
    names = _operands(rest.split(":")[0] if op != "tt.load" else rest.split(" : ")[0])
    args = [env[n] for n in names]
    out_type = rest.rsplit(":", 1)[-1]
    shape = _shape(out_type.split("->")[-1])
    if op == "arith.constant":
        elem_match = _TENSOR.search(out_type)
        elem = elem_match.group(2) if elem_match else out_type.strip()
        value = _literal(re.search(r"(?:dense<)?([^>\s:]+)>?\s*:", rest).group(1), elem)
        env[result] = np.full(shape, value) if shape else value
    elif op == "tt.get_program_id":
        env[result] = pid[{"x": 0, "y": 1}[rest.split(":")[0].strip()]]
    elif op == "tt.make_range":
        start, end = (int(v) for v in re.search(r"end = (\d+) : i32, start = (\d+)", rest).groups()[::-1])
        env[result] = np.arange(start, end, dtype=np.int64)
    elif op == "tt.splat":
        a = args[0]
        env[result] = Pointer(a.arg, np.full(shape, a.offsets)) if isinstance(a, Pointer) else np.full(shape, a)
    elif op == "tt.broadcast":
        env[result] = np.broadcast_to(args[0], shape).copy()
    elif op == "tt.expand_dims":
        env[result] = np.expand_dims(args[0], int(re.search(r"axis = (\d+)", rest).group(1)))
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
        with np.errstate(all="ignore"):
            env[result] = _BINARY[op](args[0], args[1])
    elif op == "tt.extern_elementwise":  # libdevice, by symbol
        symbol = re.search(r'symbol = "__nv_(\w+)"', rest).group(1)
        if symbol.endswith("f") and symbol[:-1] in _LIBDEVICE:
            name, dtype = symbol[:-1], np.float32
        else:
            name, dtype = symbol, np.float64
        if name not in _LIBDEVICE or len(args) != _LIBDEVICE[name][0]:
            raise NotImplementedError(f"ttir_eval: libdevice {symbol}")
        with np.errstate(all="ignore"):
            env[result] = np.asarray(_LIBDEVICE[name][1](*[np.asarray(a, dtype=dtype) for a in args]), dtype=dtype)
    elif op == "tt.precise_sqrt":
        with np.errstate(all="ignore"):
            env[result] = np.sqrt(np.asarray(args[0], dtype=np.float32))
    elif op == "tt.precise_divf":
        with np.errstate(all="ignore"):
            env[result] = np.divide(np.asarray(args[0], dtype=np.float32), np.asarray(args[1], dtype=np.float32))
    elif op == "math.fma":
        if "f64" in rest:
            raise NotImplementedError("ttir_eval: f64 math.fma")
        # An f32 product is exact in float64; the sum is rounded to float64 and then to
        # float32, which differs from one rounding only when the first lands on a tie.
        with np.errstate(all="ignore"):
            a, b, c = (np.asarray(x, dtype=np.float64) for x in args)
            env[result] = (a * b + c).astype(np.float32)
    elif op == "arith.negf":
        env[result] = np.negative(args[0])
    elif op.startswith("math.") and (op[5:] in _MATH or _LIBDEVICE.get(op[5:], (0,))[0] == 1):
        function = _MATH.get(op[5:]) or _LIBDEVICE[op[5:]][1]
        with np.errstate(all="ignore"):
            env[result] = function(np.asarray(args[0], dtype=np.float32)).astype(np.float32)
    elif op in ("arith.sitofp", "arith.uitofp"):
        env[result] = np.asarray(args[0], dtype=np.float32)
    elif op in ("arith.extsi", "arith.extui", "arith.trunci", "arith.index_cast"):
        env[result] = np.asarray(args[0], dtype=np.int64)
    elif op in ("arith.divsi", "arith.remsi"):
        a, b = np.asarray(args[0]), np.asarray(args[1])
        q = np.trunc(a / b).astype(np.int64)  # C semantics: toward zero
        env[result] = q if op == "arith.divsi" else a - q * b
    elif op == "arith.cmpi":
        predicate = rest.split(",")[0].strip()
        env[result] = _CMP[predicate](args[0], args[1])
    elif op == "arith.select":
        env[result] = np.where(args[0], args[1], args[2])
    elif op == "arith.cmpf":
        predicate = rest.split(",")[0].strip()
        cmp = {"olt": np.less, "ole": np.less_equal, "ogt": np.greater, "oge": np.greater_equal, "oeq": np.equal,
               "une": np.not_equal, "uno": lambda a, b: np.isnan(a) | np.isnan(b),
               "ord": lambda a, b: ~(np.isnan(a) | np.isnan(b)), "one": lambda a, b: np.less(a, b) | np.greater(a, b),
               "ult": lambda a, b: ~np.greater_equal(a, b), "ugt": lambda a, b: ~np.less_equal(a, b)}
        if predicate not in cmp:
            raise NotImplementedError(f"ttir_eval: cmpf {predicate}")
        env[result] = cmp[predicate](args[0], args[1])
    elif op == "arith.extf":
        env[result] = np.asarray(args[0], dtype=np.float32)
    elif op == "arith.truncf":
        target = out_type.split(" to ")[-1]
        env[result] = _trunc(args[0], _TENSOR.search(target).group(2) if _TENSOR.search(target) else target.strip())
    else:
        raise NotImplementedError(f"ttir_eval: {op}")


def _reduce(text: str, env: dict) -> None:
    """A `tt.reduce`: one arith op combining one operand is applied along the axis at
    once; any other region (Welford's merge, argmax's pairs) is folded element by
    element in order, its ops run on whole slices."""
    head, *region = text.split("\n")
    m = re.match(r'(%\w+)(?::(\d+))? = "tt.reduce"\(([^)]*)\) <\{axis = (\d+) : i32\}>', head)
    if not m:
        raise NotImplementedError(f"ttir_eval: {head}")
    result, count, operand_text, axis = m.group(1), m.group(2), m.group(3), int(m.group(4))
    operands = [np.asarray(env[n]) for n in _operands(operand_text)]
    body = [line for line in region[1:-1] if not line.startswith("tt.reduce.return")]
    ops = [re.match(r"%\w+ = ([\w.]+)", line).group(1) for line in body]
    result_types = region[-1].rsplit("->", 1)[-1]
    elems = [t.group(2) for t in _TENSOR.finditer(result_types)]
    if len(operands) == 1 and len(ops) == 1 and ops[0] in _COMBINE:
        value = operands[0]
        wide = value.astype(np.float64) if ops[0] in ("arith.addf", "arith.mulf") else value
        reduced = [_COMBINE[ops[0]](wide, axis=axis)]
    else:
        args = _operands(region[0].split(")")[0])
        returned = _operands(next(line for line in region if line.startswith("tt.reduce.return")).split(":")[0])
        n = len(operands)
        acc = [np.take(x, 0, axis=axis) for x in operands]
        local: dict = dict(env)
        for k in range(1, operands[0].shape[axis]):
            for name, value in zip(args, acc + [np.take(x, k, axis=axis) for x in operands]):
                local[name] = value
            for line in body:
                _step(line, local, (0, 0), [])
            acc = [np.asarray(local[r]) for r in returned]
        reduced = acc
        assert len(reduced) == n
    values = [_trunc(r, e) if e in ("bf16", "f16", "f32") else r for r, e in zip(reduced, elems)]
    if count:
        for k, value in enumerate(values):
            env[f"{result}#{k}"] = value
    else:
        env[result] = values[0]
