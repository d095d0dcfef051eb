"""coil-kernel-args: kernel arguments after memory planning.

After memory planning, one storage often reaches a kernel twice: an in-place
update (AdamW's p, m and v) is loaded through one argument and stored through
another, both the same host value (the kernel stores into a mutated input it
also reads) or a buffer and its in-place `coil.reuse`. A backend that sees two
pointers then has to assume that any two may alias: LLVM's loop vectorizer
guards the vector loop with runtime overlap checks, which fail for exactly
these pointers, and the scalar loop runs.

This pass, over every kernel function and all of its launches:

- merges arguments that every launch passes the same storage for: the same
  SSA value, or a buffer and an in-place reuse of it (`coil.reuse` marked
  `coil.inplace`, the launch writing the new buffer where it reads the old
  one). The kernel keeps the first of them, its launches pass the newest
  value (the reuse's result) there, and the others are dropped from the
  kernel's signature and from every launch. Semantics do not change: the
  kernel already read and wrote that one storage through both.
- merges such a pair of different types too, when it is an in-place write
  across a reshape (a softmax writing [b, h, t, t] over a batched matmul's
  [b*h, t, t] scores, a GELU writing [b, t, n] over addmm's [b*t, n]): both
  dense row-major with one element type and as many elements, the input only
  loaded, and each of its loads reading the storage offset that a store into
  the output writes, that store in the load's own loop body at indices that
  are the body's iteration indices (offsets compared as affine functions of
  those indices, linearized). Each such load becomes a load of the output at
  the store's indices, and the input argument goes away; pairs that fail the
  check keep both arguments (and no noalias).
  Why this is sound: a reuse starts at its source's first element, so the
  two arguments have one base address and the new load reads the very
  address the old one read; the merge changes the pointer, never the
  accesses or their order, so nothing here relies on the planner. Dropping
  the input leaves one pointer for the storage, which the overlap rule
  below finds disjoint from every other argument: noalias is then sound,
  since it speaks only of accesses through different pointers. Accesses
  through the one pointer LLVM still orders by its own dependence analysis,
  which finds none between iterations: memory planning wrote in place only
  where a load of element e comes before the store to e in the same
  iteration and no other iteration touches e, and the loads now name the
  store's very indices.
- marks a buffer argument `coil.noalias` (an argument attribute) when no
  launch passes it storage that may overlap the storage of another buffer
  argument while either of the two is written by the kernel. The CPU backend
  turns this into `llvm.noalias` on the pointer; the Triton backend lets a
  small grid issue loads of such buffers ahead of earlier stores.

What may overlap, on the host: views (`coil.view`) and reuses (`coil.reuse`)
share their source's storage; distinct `coil.alloc` results never overlap;
the result of an ATen call (`coil.extern`, `coil.get`) may be a view of any of
its tensor arguments, except for the calls that always return a tensor of
their own (matrix products, convolutions: `FRESH_EXTERN_KERNELS`; memory
planning may hand their arguments' storage to a later buffer while the
result lives on); and distinct graph inputs are taken as disjoint when one
of them is written. That last point is AOTAutograd's contract: inputs that
alias each other and are mutated reach the compiled graph as one synthetic
base, so a mutated input never overlaps another input (two read-only inputs
may overlap, which noalias allows: it constrains only accesses of which one
is a write). Inductor's CPU kernels rely on the same.
"""

from __future__ import annotations

import math

from coil.dialects import builders, region_args
from coil.mlir import ir

from .plan_memory import FRESH_EXTERN_KERNELS, storage_offset
from .registry import register_pass
from .walk import erase_dead, memory_root, ops_named

NOALIAS_ATTR = "coil.noalias"


def noalias_positions(fn) -> set[int]:
    """Positions of the kernel function's arguments marked `coil.noalias`."""
    if "arg_attrs" not in fn.attributes:
        return set()
    return {k for k, attrs in enumerate(fn.attributes["arg_attrs"]) if NOALIAS_ATTR in ir.DictAttr(attrs)}


def noalias_arguments(fn) -> set:
    """The entry-block arguments of the kernel function marked `coil.noalias`."""
    arguments = list(fn.regions[0].blocks[0].arguments)
    return {arguments[k] for k in noalias_positions(fn)}


def _name(op) -> str:
    return op.operation.name


def _launches_by_kernel(module: ir.Operation) -> dict[str, list]:
    launches: dict[str, list] = {}
    for launch in ops_named(module, "coil.launch"):
        launches.setdefault(launch.attributes["kernel"].value, []).append(launch)
    return launches


def _kernel_functions(module: ir.Operation) -> list:
    body = module.regions[0].blocks[0]
    return [op for op in body.operations if _name(op) == "func.func" and "coil.kernel" in op.attributes]


def _arg_ops(launch) -> list:
    return [op for op in launch.regions[0].blocks[0].operations if _name(op) == "coil.arg"]


def _inplace_source(value: ir.Value) -> ir.Value | None:
    """The buffer an in-place `coil.reuse` result takes over, else None."""
    if isinstance(value, ir.BlockArgument):
        return None
    owner = value.owner
    if _name(owner) == "coil.reuse" and "coil.inplace" in owner.attributes:
        return owner.operands[0]
    return None


def _same_storage(a: ir.Value, b: ir.Value) -> ir.Value | None:
    """The value to pass for both when `a` and `b` are one buffer: equal, or one an
    in-place reuse (chain) of the other; the newer of the two. Else None."""
    if a == b:
        return a
    for old, new in ((a, b), (b, a)):
        v = new
        while (source := _inplace_source(v)) is not None:
            if source == old:
                return new
            v = source
    return None


# ---------------------------------------------------------------------------
# Merging


def _merge_arguments(fn, launches: list) -> None:
    block = fn.regions[0].blocks[0]
    arguments = list(block.arguments)
    n = len(arguments)
    per_launch = [region_args(launch) for launch in launches]
    if any(len(values) != n for values in per_launch):
        return  # a malformed launch: the verifier reports it
    keep_of: dict[int, int] = {}  # dropped position -> the position kept in its place
    passed: dict[int, list] = {}  # kept position -> the value each launch passes there
    for j in range(n):
        for i in range(j):
            if i in keep_of or arguments[i].type != arguments[j].type:
                continue
            merged = []
            for values in per_launch:
                current = passed[i][len(merged)] if i in passed else values[i]
                same = _same_storage(current, values[j])
                if same is None:
                    break
                merged.append(same)
            if len(merged) == len(per_launch):
                keep_of[j] = i
                passed[i] = merged
                break
    if not keep_of:
        return
    for j, i in keep_of.items():
        arguments[j].replace_all_uses_with(arguments[i])
    for position, launch in enumerate(launches):
        ops = _arg_ops(launch)
        for i, merged in passed.items():
            ops[i].operands[0] = merged[position]
    _drop_arguments(fn, launches, set(keep_of))


def _drop_arguments(fn, launches: list, positions: set[int]) -> None:
    """Removes unused arguments from a kernel's signature and from every launch."""
    block = fn.regions[0].blocks[0]
    for launch in launches:
        ops = _arg_ops(launch)
        for k in sorted(positions, reverse=True):
            ops[k].erase()
    for k in sorted(positions, reverse=True):
        block.erase_argument(k)
    if "arg_attrs" in fn.attributes:
        attrs = list(fn.attributes["arg_attrs"])
        fn.attributes["arg_attrs"] = ir.ArrayAttr.get([a for k, a in enumerate(attrs) if k not in positions])
    results = ir.FunctionType(fn.attributes["function_type"].value).results
    fn.attributes["function_type"] = ir.TypeAttr.get(
        ir.FunctionType.get([a.type for a in block.arguments], list(results))
    )


# ---------------------------------------------------------------------------
# Merging across a reshape


def _dense_row_major(t: ir.Type) -> bool:
    return (
        isinstance(t, ir.MemRefType)
        and t.has_static_shape
        and isinstance(t.layout, ir.AffineMapAttr)
        and t.layout.value == ir.AffineMap.get_identity(t.rank)
    )


def _reshape_of(source: ir.Type, result: ir.Type) -> bool:
    """Whether `result` is another shape of `source`'s elements, both dense row-major."""
    return (
        source != result
        and _dense_row_major(source)
        and _dense_row_major(result)
        and source.element_type == result.element_type
        and math.prod(source.shape) == math.prod(result.shape)
    )


def _load_as_stored(load, out: ir.BlockArgument) -> list[ir.Value] | None:
    """The indices of a store into `out` that writes the storage offset `load`
    reads: a store in the load's own block, at indices that are that block's
    arguments (so they are defined wherever the load is). None if there is none."""
    body = load.operation.block
    loaded = storage_offset(load.operands[0].type, list(load.operands)[1:], body)
    if loaded is None:
        return None
    for use in out.uses:
        store = use.owner
        if _name(store) != "coil.store" or use.operand_number != 1 or store.operation.block != body:
            continue
        index = list(store.operands)[2:]
        if not all(isinstance(v, ir.BlockArgument) and v.owner == body for v in index):
            continue
        if storage_offset(out.type, index, body) == loaded:
            return index
    return None


def _merge_reshapes(fn, launches: list) -> None:
    """Merges an input into the output every launch writes in place over it across
    a reshape (see the module docstring): its loads become loads of the output."""
    block = fn.regions[0].blocks[0]
    arguments = list(block.arguments)
    per_launch = [region_args(launch) for launch in launches]
    if any(len(values) != len(arguments) for values in per_launch):
        return
    dropped: set[int] = set()
    for src in arguments:
        uses = list(src.uses)
        if not uses or any(_name(u.owner) != "coil.load" or u.operand_number != 0 for u in uses):
            continue  # written, or passed on: not a plain input
        for out in arguments:
            if out.arg_number in dropped or not _reshape_of(src.type, out.type):
                continue
            if any(_same_storage(values[src.arg_number], values[out.arg_number]) is None for values in per_launch):
                continue
            loads = [u.owner for u in uses]
            stored_at = [_load_as_stored(load, out) for load in loads]
            if any(index is None for index in stored_at):
                continue
            for load, index in zip(loads, stored_at):
                with ir.InsertionPoint(load), load.location:
                    value = builders.load(out, index)
                load.results[0].replace_all_uses_with(value)
                load.erase()
            dropped.add(src.arg_number)
            break
    if dropped:
        erase_dead(fn, {"affine.apply", "arith.addi", "arith.muli"})  # the old loads' index math
        _drop_arguments(fn, launches, dropped)


# ---------------------------------------------------------------------------
# No-alias analysis


def storage_roots(value: ir.Value, memo: dict) -> frozenset:
    """Storages `value` may use: its owner's, and for an ATen call's result also
    those of the call's tensor arguments (it may return a view of one), unless
    the call always returns a tensor of its own."""
    root = memory_root(value)
    if root in memo:
        return memo[root]
    memo[root] = frozenset([root])  # cut cycles (there are none in SSA form)
    found = {root}
    if not isinstance(root, ir.BlockArgument):
        owner = root.owner
        if _name(owner) == "coil.get":
            owner = owner.operands[0].owner
        if _name(owner) == "coil.extern" and owner.attributes["kernel"].value not in FRESH_EXTERN_KERNELS:
            found.add(owner.results[0])
            for arg in region_args(owner):
                if isinstance(arg.type, ir.MemRefType):
                    found |= storage_roots(arg, memo)
    memo[root] = frozenset(found)
    return memo[root]


def written_arguments(fn) -> set[int] | None:
    """Positions of the buffer arguments a kernel stores into; an argument used
    other than as a load's source or a store's destination counts as written."""
    block = fn.regions[0].blocks[0]
    written = set()
    for arg in block.arguments:
        if not isinstance(arg.type, ir.MemRefType):
            continue
        for use in arg.uses:
            user = use.owner
            if _name(user) == "coil.load" and use.operand_number == 0:
                continue
            if _name(user) == "coil.store" and use.operand_number == 1:
                written.add(arg.arg_number)
                continue
            written.add(arg.arg_number)
    return written


def _noalias_arguments(fn, launches: list, memo: dict) -> list[int]:
    block = fn.regions[0].blocks[0]
    buffers = [a.arg_number for a in block.arguments if isinstance(a.type, ir.MemRefType)]
    written = written_arguments(fn)
    clear = set(buffers)
    for launch in launches:
        values = region_args(launch)
        roots = {k: storage_roots(values[k], memo) for k in buffers}
        for x in buffers:
            for y in buffers:
                if x < y and (x in written or y in written) and roots[x] & roots[y]:
                    clear.discard(x)
                    clear.discard(y)
    return sorted(clear)


def _mark_noalias(fn, positions: list[int]) -> None:
    block = fn.regions[0].blocks[0]
    n = len(block.arguments)
    attrs = list(fn.attributes["arg_attrs"]) if "arg_attrs" in fn.attributes else [ir.DictAttr.get({})] * n
    marked = []
    for k, attr in enumerate(attrs):
        entries = {named.name: named.attr for named in ir.DictAttr(attr)}
        entries.pop(NOALIAS_ATTR, None)
        if k in positions:
            entries[NOALIAS_ATTR] = ir.UnitAttr.get()
        marked.append(ir.DictAttr.get(entries))
    if any(len(ir.DictAttr(a)) for a in marked) or "arg_attrs" in fn.attributes:
        fn.attributes["arg_attrs"] = ir.ArrayAttr.get(marked)


@register_pass(
    "coil-kernel-args",
    "Merge kernel arguments every launch passes the same storage for; mark non-overlapping buffers coil.noalias",
)
def kernel_args(module: ir.Operation) -> None:
    launches = _launches_by_kernel(module)
    memo: dict = {}
    for fn in _kernel_functions(module):
        mine = launches.get(fn.attributes["sym_name"].value, [])
        if not mine:
            continue
        _merge_reshapes(fn, mine)
        _merge_arguments(fn, mine)
        _mark_noalias(fn, _noalias_arguments(fn, mine, memo))
