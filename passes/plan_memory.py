"""Memory planning of the host function: Inductor's `MemoryPlanningState`,
`AllocateLine`, `FreeIfNotReusedLine` and `ReuseLine`, as MLIR passes.

coil-plan-memory
  Liveness is the launch order of the host function: outlining already frees
  every buffer (`coil.dealloc`) right after its last use, and planning moves
  a dealloc up where kernel fusion has since merged that use into an earlier
  launch. Planning then walks the host ops in order with a pool of freed
  buffers:
  - into the input: a write-back of a new value into a mutated graph input
    (a launch marked `coil.writeback`) goes away when the one kernel that
    stores the value can store it into the input instead: same type and
    layout, nothing reads the input's old value after that kernel, and the
    kernel itself reads the input only at the points it stores;
  - in place: a kernel whose output is written at exactly the points it
    reads an input that dies at that launch writes into that input's storage
    (`coil.reuse` marked `coil.inplace`). Either the input has the output's
    type and is read at the store's very indices, or it is a reshape of it
    (dense row-major, one element type, as many elements: a softmax over a
    batched matmul's [b*h, t, t] result writing [b, h, t, t], a GELU over
    addmm's [b*t, n] writing [b, t, n]) and every load reads the storage
    offset the store writes, as affine functions of the loop indices, with
    no two iterations storing to one element;
  - reuse: a new buffer takes a freed one with Inductor's reuse key (same
    device, element type and number of elements): its `coil.alloc` becomes
    `coil.reuse` and the freed buffer's `coil.dealloc` goes away. Holding a
    freed buffer until it is reused keeps its bytes alive in between, so a
    reuse is taken only when that never raises the planned peak.
  - in place, for ATen calls: an extern call with an in-place form
    (`INPLACE_EXTERN_KERNELS`: index_put, index_add, scatter_add, ...)
    whose `self` is a buffer the host owns, dying at the call, becomes that
    form (`aten::index_put_`; the extern is marked `coil.inplace` and its
    result takes `self`'s storage) instead of copying `self` first: an
    embedding's backward accumulates into the zeros it allocated, as
    Inductor's scatter does, not into a clone of them (a 65 MB copy for a
    32000x512 float32 gradient);
  - the results of extern calls that return a tensor of their own (matrix
    products, convolutions: `FRESH_EXTERN_KERNELS`) are in-place sources and
    reusable once dead, like buffers the host allocates (a bias-GELU epilogue
    overwrites its matmul's output, as under Inductor);
  - donated arguments: an argument marked `coil.donated` (a tensor the
    forward saved for the backward, which only the backward holds once it
    runs: AOTAutograd's donated buffers) dies at its last use like a buffer
    the host owns, so a kernel may write in place into it and a later buffer
    may take its storage (Inductor's DonatedBuffer). The in-place rule also
    covers a reduction kernel whose one store depends on every reduction in
    it (a softmax backward writing its gradient over the logits): every read
    of a row then comes before, or at the same point as, the writes.
  The host function gets `coil.planned_peak_bytes` (bytes of buffers live at
  once, at the worst point, as planned, above what was live when the graph
  started: freeing a donated argument lowers the count) and
  `coil.unplanned_bytes` (the sum of every buffer the graph allocates, which
  is what running it without freeing or reuse would hold).

Symbolic sizes: a reuse needs provably equal element counts (the same
static product and the same symbolic size values; two different symbols may
differ at run time), and `coil.reuse` lists the new buffer's `?` sizes. Byte
counts and the peak figures evaluate symbolic sizes at their size hints.

coil-verify-memory
  Proves the plan: no two buffers that share storage are live at the same
  time. The only overlap allowed is an in-place pair at the one launch that
  reads the old buffer and writes the new one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from coil.dialects import OperandRefAttr, builders, int_list, is_dynamic, region_args
from coil.dialects.types import byte_width
from coil.mlir import ir

from .index_math import linear_offset
from .layouts import layout_of
from .registry import PassFailure, register_pass
from .sizes import dynamic_values, numel_hint, numel_key, same_sizes, shape_of
from .walk import ops_named, storage_root


def _name(op) -> str:
    return op.operation.name


def buffer_bytes(value: ir.Value) -> int:
    """Bytes of a buffer value; symbolic sizes at their hints."""
    t = value.type
    if not isinstance(t, ir.MemRefType):
        return 0
    return numel_hint(shape_of(value)) * byte_width(t.element_type)


def _reuse_key(value: ir.Value, device: str):
    """Inductor's reuse key (device, dtype, size), or None when the size cannot be named."""
    n = numel_key(shape_of(value))
    if n is None:
        return None
    return (device, str(value.type.element_type), n)


def _owns_storage(op) -> bool:
    return _name(op) in ("coil.alloc", "coil.extern", "coil.get", "coil.reuse")




def _used_values(op) -> list[ir.Value]:
    if _name(op) in ("coil.launch", "coil.extern"):
        return region_args(op)
    return list(op.operands)


def host_functions(module: ir.Operation) -> list:
    return [op for op in ops_named(module, "func.func") if "coil.host" in op.attributes]


def _live_delta(op) -> tuple[int, int]:
    """(change of live bytes, bytes newly allocated) at one host op."""
    name = _name(op)
    if name == "coil.extern" and "coil.inplace" in op.attributes:
        return 0, 0  # its result is its first argument's storage, updated
    if name in ("coil.alloc", "coil.get") or (name == "coil.extern" and isinstance(op.results[0].type, ir.MemRefType)):
        size = buffer_bytes(op.results[0])
        return size, size
    if name == "coil.reuse":
        grown = buffer_bytes(op.results[0]) - buffer_bytes(op.operands[0])
        return max(grown, 0), buffer_bytes(op.results[0])
    if name == "coil.dealloc":
        # A donated argument's bytes were live before the graph ran: freeing it
        # (directly, or through a buffer that took its storage) takes them off.
        return -buffer_bytes(op.operands[0]), 0
    return 0, 0


def simulate_peak(block: ir.Block) -> tuple[int, int]:
    """(peak bytes live at once, total bytes allocated) for the host block as written."""
    live = peak = total = 0
    for op in block.operations:
        delta, allocated = _live_delta(op)
        live += delta
        total += allocated
        peak = max(peak, live)
    return peak, total


# ---------------------------------------------------------------------------
# In place


def _kernel_func(module_body: ir.Block, launch):
    name = launch.attributes["kernel"].value
    for op in module_body.operations:
        if _name(op) == "func.func" and op.attributes["sym_name"].value == name:
            return op
    return None


def _inplace_candidates(kernel_fn) -> dict[int, list[int]]:
    """Output arg -> the input args a kernel may write that output over.

    Every load of the input must read exactly the element the output's one
    store writes in that iteration (so each element is read before it is
    overwritten, by the same iteration): the same indices of the same type,
    or, across a reshape, the same offset into the storage. Inputs of the
    output's own type come first, then reshapes, each in argument order.
    """
    loops = [op for op in kernel_fn.regions[0].blocks[0].operations if _name(op) == "coil.loop_nest"]
    if len(loops) != 1:
        return {}
    loop = loops[0]
    entry_args = list(kernel_fn.regions[0].blocks[0].arguments)
    stores = ops_named(loop, "coil.store")
    loads = ops_named(loop, "coil.load")
    if len(loops[0].attributes["reduction_ranges"]) != 0 and not _stores_after_every_reduction(loop, stores):
        return {}
    stored = [st.operands[1] for st in stores]
    candidates: dict[int, list[int]] = {}
    for store in stores:
        out = store.operands[1]
        if stored.count(out) != 1:
            continue
        found = []
        for k, candidate in enumerate(entry_args):
            if candidate == out or candidate in stored or not _fits_in_place(candidate.type, out.type):
                continue
            reads = [l for l in loads if l.operands[0] == candidate]
            if reads and all(_reads_stored_element(l, store, loop) for l in reads):
                found.append(k)
        if found:
            candidates[out.arg_number] = sorted(found, key=lambda k: entry_args[k].type != out.type)
    return candidates


def _fits_in_place(source: ir.Type, result: ir.Type) -> bool:
    """Whether a buffer of type `result` can live in the storage of one of type
    `source`, element for element: the same type, or a reshape of it (dense
    row-major layouts, one element type, the same static number of elements)."""
    if source == result:
        return True
    if not isinstance(source, ir.MemRefType) or not isinstance(result, ir.MemRefType):
        return False
    return (
        source.element_type == result.element_type
        and source.has_static_shape
        and result.has_static_shape
        and _row_major(source)
        and _row_major(result)
        and math.prod(source.shape) == math.prod(result.shape)
    )


def _row_major(t: ir.MemRefType) -> bool:
    layout = t.layout
    return isinstance(layout, ir.AffineMapAttr) and layout.value == ir.AffineMap.get_identity(t.rank)


def _reads_stored_element(load, store, loop) -> bool:
    """Whether `load` reads the element `store` writes, in every iteration of `loop`.

    The same index values into a buffer of the same type are the same element.
    Across a reshape (a softmax reading a batched matmul's [b*h, t, t] result
    and writing [b, h, t, t]), the load's and the store's offsets into the
    storage, as affine functions of the loop indices, must be equal; and the
    store must write a different element in every iteration, or an iteration
    could overwrite an element another one has still to read.
    """
    load_index, store_index = list(load.operands)[1:], list(store.operands)[2:]
    if load.operands[0].type == store.operands[1].type and load_index == store_index:
        return True
    if not _one_element_per_iteration(store, loop):
        return False
    body = loop.regions[0].blocks[0]
    loaded = storage_offset(load.operands[0].type, load_index, body)
    written = storage_offset(store.operands[1].type, store_index, body)
    return loaded is not None and loaded == written


def _one_element_per_iteration(store, loop) -> bool:
    """The store's indices are distinct indices of the loop nest, and every index
    it leaves out has one value: no two iterations write the same element."""
    body = loop.regions[0].blocks[0]
    index = list(store.operands)[2:]
    if len(set(index)) != len(index) or any(not (isinstance(v, ir.BlockArgument) and v.owner == body) for v in index):
        return False
    extents = (int_list(loop.attributes["ranges"]) or []) + (int_list(loop.attributes["reduction_ranges"]) or [])
    return all(arg in index or extent == 1 for arg, extent in zip(body.arguments, extents))


def storage_offset(memref_type: ir.MemRefType, index: list[ir.Value], body: ir.Block):
    """The storage offset `index` addresses in a statically strided buffer, as
    (constant, coefficient per loop index) when linear, else as an affine
    expression of the loop indices; None when an index is not affine in them."""
    strides, offset = layout_of(memref_type)
    if any(is_dynamic(s) for s in strides) or is_dynamic(offset):
        return None
    total = ir.AffineConstantExpr.get(offset, context=body.owner.context)
    for value, stride in zip(index, strides):
        expr = _index_expr(value, body)
        if expr is None:
            return None
        total = total + expr * stride
    n = len(body.arguments)
    total = total.maybe_downcast()
    linear = linear_offset(total, n)
    if linear is not None:
        return linear[0], tuple(linear[1])
    return ir.AffineExpr.simplify_affine_expr(total, n, 0)


def _index_expr(value: ir.Value, body: ir.Block):
    """`value` as an affine expression of the loop nest's indices (dims), through
    `affine.apply`, index constants, additions and multiplications; else None."""
    if isinstance(value, ir.BlockArgument):
        return ir.AffineDimExpr.get(value.arg_number, context=body.owner.context) if value.owner == body else None
    op = value.owner
    name = _name(op)
    if name == "arith.constant" and isinstance(op.attributes["value"], ir.IntegerAttr):
        return ir.AffineConstantExpr.get(op.attributes["value"].value, context=body.owner.context)
    operands = [_index_expr(v, body) for v in op.operands]
    if any(e is None for e in operands):
        return None
    if name == "affine.apply":
        amap = op.attributes["map"].value
        if len(amap.results) != 1:
            return None
        expr = _substitute(amap.results[0], operands[: amap.n_dims], operands[amap.n_dims :])
    elif name == "arith.addi":
        expr = operands[0] + operands[1]
    elif name == "arith.muli" and any(isinstance(e, ir.AffineConstantExpr) for e in operands):
        expr = operands[0] * operands[1]
    else:
        return None
    # Python's operators on affine expressions return the class of the
    # operation even when the result simplified to another kind of expression.
    return expr.maybe_downcast()


def _substitute(expr: ir.AffineExpr, dims: list, symbols: list) -> ir.AffineExpr:
    """`expr` with its dims and symbols replaced by the given expressions."""
    if isinstance(expr, ir.AffineDimExpr):
        return dims[expr.position]
    if isinstance(expr, ir.AffineSymbolExpr):
        return symbols[expr.position]
    if isinstance(expr, ir.AffineConstantExpr):
        return expr
    lhs, rhs = _substitute(expr.lhs, dims, symbols), _substitute(expr.rhs, dims, symbols)
    if isinstance(expr, ir.AffineAddExpr):
        return ir.AffineExpr.get_add(lhs, rhs)
    if isinstance(expr, ir.AffineMulExpr):
        return ir.AffineExpr.get_mul(lhs, rhs)
    if isinstance(expr, ir.AffineFloorDivExpr):
        return ir.AffineExpr.get_floor_div(lhs, rhs)
    if isinstance(expr, ir.AffineCeilDivExpr):
        return ir.AffineExpr.get_ceil_div(lhs, rhs)
    return ir.AffineExpr.get_mod(lhs, rhs)


def _stores_after_every_reduction(loop, stores) -> bool:
    """A reduction loop nest with one store whose value depends on every `coil.reduce`
    in it: the store is in the last pass over the reduction range, after every
    read of the row by the earlier passes (in both backends' lowerings)."""
    if len(stores) != 1:
        return False
    reduces = {r.operation for r in ops_named(loop, "coil.reduce")}
    seen, stack = set(), [stores[0].operands[0]]
    while stack:
        value = stack.pop()
        if isinstance(value, ir.BlockArgument):
            continue
        owner = value.owner.operation
        if owner in seen:
            continue
        seen.add(owner)
        stack.extend(owner.operands)
    return reduces <= seen


# Extern calls whose result is a tensor of their own (never a view of an
# argument): once dead, its storage is the host's to overwrite or reuse.
FRESH_EXTERN_KERNELS = frozenset(
    {"aten::mm.default", "aten::addmm.default", "aten::bmm.default", "aten::baddbmm.default", "aten::convolution.default"}
)


# ATen ops that return an updated copy of their first argument, and the
# in-place overload that updates the argument itself (and returns it).
INPLACE_EXTERN_KERNELS = {
    "aten::index_put.default": "aten::index_put_.default",
    "aten::_unsafe_index_put.default": "aten::index_put_.default",
    "aten::index_add.default": "aten::index_add_.default",
    "aten::index_copy.default": "aten::index_copy_.default",
    "aten::index_fill.int_Scalar": "aten::index_fill_.int_Scalar",
    "aten::scatter.src": "aten::scatter_.src",
    "aten::scatter.value": "aten::scatter_.value",
    "aten::scatter_add.default": "aten::scatter_add_.default",
    "aten::scatter_reduce.two": "aten::scatter_reduce_.two",
    "aten::masked_scatter.default": "aten::masked_scatter_.default",
}


def _fresh_extern(value: ir.Value) -> bool:
    """A result of an extern call the host owns outright: a fresh tensor, or
    one written in place into a buffer the host owned (`coil.inplace`)."""
    if isinstance(value, ir.BlockArgument) or _name(value.owner) != "coil.extern":
        return False
    owner = value.owner
    return owner.attributes["kernel"].value in FRESH_EXTERN_KERNELS or "coil.inplace" in owner.attributes


def _host_owned(host, value: ir.Value) -> bool:
    """Whether the host may overwrite `value`'s storage once it is dead: a buffer it
    allocated (or reused), a fresh extern result, or a donated argument."""
    if isinstance(value, ir.BlockArgument):
        return _is_donated(host, value)
    return _name(value.owner) in ("coil.alloc", "coil.reuse") or _fresh_extern(value)


def _is_donated(host, value: ir.Value) -> bool:
    if not isinstance(value, ir.BlockArgument) or "arg_attrs" not in host.attributes:
        return False
    attrs = host.attributes["arg_attrs"]
    return value.arg_number < len(attrs) and "coil.donated" in ir.DictAttr(attrs[value.arg_number])


def _free_donated_arguments(host) -> None:
    """Deallocates each donated argument (not returned) right after its last use."""
    block = host.regions[0].blocks[0]
    donated = [a for a in block.arguments if _is_donated(host, a)]
    if not donated:
        return
    ops = list(block.operations)
    last: dict[ir.Value, int] = {}
    returned = set()
    for i, op in enumerate(ops):
        if _name(op) == "func.return":
            returned = {storage_root(v) for v in op.operands}
            continue
        for v in _used_values(op):
            root = storage_root(v)
            if root in donated:
                last[root] = i
    for arg in sorted(last, key=lambda a: -last[a]):
        if arg in returned:
            continue
        anchor = ops[last[arg]]
        with ir.InsertionPoint.after(anchor), anchor.location:
            builders.dealloc(arg)


# ---------------------------------------------------------------------------
# Into the input


def _loads_only_at_stores(kernel_fn, out_k: int, in_k: int) -> bool:
    """Whether kernel argument `in_k` is read only at exactly the indices argument
    `out_k` is stored at (each point is read before the same iteration writes it)."""
    entry_args = list(kernel_fn.regions[0].blocks[0].arguments)
    out, src = entry_args[out_k], entry_args[in_k]
    stores = [st for st in ops_named(kernel_fn, "coil.store") if st.operands[1] == out]
    if len(stores) != 1:
        return False
    index = list(stores[0].operands)[2:]
    reads = [l for l in ops_named(kernel_fn, "coil.load") if l.operands[0] == src]
    if any(st.operands[1] == src for st in ops_named(kernel_fn, "coil.store")):
        return False
    return all(list(l.operands)[1:] == index for l in reads)


def _stored_positions(kernel_fn) -> set[int]:
    entry = kernel_fn.regions[0].blocks[0]
    return {
        st.operands[1].arg_number
        for st in ops_named(kernel_fn, "coil.store")
        if isinstance(st.operands[1], ir.BlockArgument) and st.operands[1].owner == entry
    }


def _store_into_inputs(module_body: ir.Block, host) -> None:
    """Folds write-backs into mutated inputs into the kernels computing the new values."""
    block = host.regions[0].blocks[0]
    for writeback in [op for op in block.operations if _name(op) == "coil.launch" and "coil.writeback" in op.attributes]:
        ops = list(block.operations)
        dest, value = region_args(writeback)
        if not isinstance(dest, ir.BlockArgument) or isinstance(value, ir.BlockArgument):
            continue
        if _name(value.owner) != "coil.alloc" or value.type != dest.type:
            continue
        position = {op: i for i, op in enumerate(ops)}
        users = [u.owner.parent if _name(u.owner) == "coil.arg" else u.owner for u in value.uses]
        if any(_name(u) not in ("coil.launch", "coil.dealloc") and u != writeback for u in users):
            continue  # returned, viewed or read by ATen: keep it a buffer of its own
        writers = []
        for u in users:
            if _name(u) != "coil.launch" or u == writeback:
                continue
            fn = _kernel_func(module_body, u)
            args = region_args(u)
            if fn is None or any(args[k] == value for k in _stored_positions(fn)):
                writers.append((u, fn, args))
        if len(writers) != 1:
            continue
        producer, fn, args = writers[0]
        out_k = [k for k, a in enumerate(args) if a == value]
        in_ks = [k for k, a in enumerate(args) if storage_root(a) == dest]
        if len(out_k) != 1 or any(not _loads_only_at_stores(fn, out_k[0], k) or args[k] != dest for k in in_ks):
            continue
        # Nothing between the producer and the write-back may read the old value.
        start, end = position[producer], position[writeback]
        between = ops[start + 1 : end]
        if any(storage_root(v) == dest for op in between for v in _used_values(op)):
            continue
        writeback_fn = writeback.attributes["kernel"].value
        for u in users:
            if _name(u) == "coil.dealloc":
                u.erase()
        writeback.erase()
        value.replace_all_uses_with(dest)
        value.owner.erase()
        launched = {
            l.attributes["kernel"].value
            for f in module_body.operations
            if _name(f) == "func.func" and "coil.host" in f.attributes
            for l in ops_named(f, "coil.launch")
        }
        if writeback_fn not in launched:
            next(
                op for op in module_body.operations
                if _name(op) == "func.func" and op.attributes["sym_name"].value == writeback_fn
            ).erase()


@dataclass
class _Free:
    buffer: ir.Value
    dealloc: object
    position: int


def _free_at_last_use(host) -> None:
    """Moves each `coil.dealloc` up to right after the last op using its buffer
    (or a view of it). Outlining frees at last use, but kernel fusion may then
    merge a buffer's last reader into an earlier launch (a horizontal fusion
    of the kernels reading q and v out of one qkv matmul result)."""
    block = host.regions[0].blocks[0]
    ops = list(block.operations)
    last_use = {}
    for op in ops:
        if _name(op) != "coil.dealloc":
            for v in _used_values(op):
                last_use[storage_root(v)] = op
    for op in reversed(ops):  # deallocs moved behind one op keep their order
        if _name(op) == "coil.dealloc" and op.operands[0] in last_use:
            op.operation.move_after(last_use[op.operands[0]].operation)


def _plan_block(module_body: ir.Block, host, device: str) -> None:
    _store_into_inputs(module_body, host)
    _free_donated_arguments(host)
    _free_at_last_use(host)
    block = host.regions[0].blocks[0]
    ops = list(block.operations)
    returned = set()
    for op in ops:
        if _name(op) == "func.return":
            returned = {storage_root(v) for v in op.operands}

    # In place first: an ATen call updates the tensor it would copy, and a
    # kernel output takes the storage of an input dying at that launch.
    for extern in [op for op in block.operations if _name(op) == "coil.extern"]:
        _extern_in_place(host, extern, returned)

    for launch in [op for op in block.operations if _name(op) == "coil.launch"]:
        fn = _kernel_func(module_body, launch)
        if fn is None:
            continue
        for out_k, in_ks in _inplace_candidates(fn).items():
            args = region_args(launch)
            out = args[out_k]
            if isinstance(out, ir.BlockArgument) or _name(out.owner) != "coil.alloc" or out in returned:
                continue
            for in_k in in_ks:
                src = args[in_k]
                if not _host_owned(host, src):
                    continue
                if not _fits_in_place(src.type, out.type) or sum(1 for v in args if v == src) != 1:
                    continue
                if src.type == out.type and not same_sizes(shape_of(src), shape_of(out)):
                    continue  # `?` dims of different (or unknown) sizes
                free = _dealloc_right_after(launch, src)
                if free is None:
                    continue  # src must die at this launch
                with ir.InsertionPoint(out.owner), out.owner.location:
                    new = builders.reuse(src, out.type, list(out.owner.operands))
                new.owner.attributes["coil.inplace"] = ir.UnitAttr.get()
                out.replace_all_uses_with(new)
                out.owner.erase()
                free.erase()
                break

    # Reuse of freed buffers, walking in order with a pool keyed like Inductor's.
    # The live-bytes timeline keeps a reuse from raising the peak.
    ops = list(block.operations)
    timeline, live = [], 0
    for op in ops:
        live += _live_delta(op)[0]
        timeline.append(live)
    peak = max(timeline, default=0)
    pool: dict[tuple, list[_Free]] = {}
    for i, op in enumerate(ops):
        name = _name(op)
        if name == "coil.dealloc":
            buffer = op.operands[0]
            if _host_owned(host, buffer):
                key = _reuse_key(buffer, device)
                if key is not None:
                    pool.setdefault(key, []).append(_Free(buffer, op, i))
        elif name == "coil.alloc":
            t = op.results[0].type
            key = _reuse_key(op.results[0], device)
            candidates = pool.get(key, []) if key is not None else []
            size = buffer_bytes(op.results[0])
            for free in reversed(candidates):
                # Holding `free` from its dealloc to here adds its bytes in between.
                if all(timeline[j] + size <= peak for j in range(free.position, i)):
                    candidates.remove(free)
                    for j in range(free.position, i):
                        timeline[j] += size
                    with ir.InsertionPoint(op), op.location:
                        new = builders.reuse(free.buffer, t, dynamic_values(shape_of(op.results[0])))
                    op.results[0].replace_all_uses_with(new)
                    op.erase()
                    free.dealloc.erase()
                    break


def _extern_in_place(host, extern, returned: set) -> None:
    """Rewrites an extern call into its in-place form when the tensor it would
    copy is the host's own and dies at the call (module docstring)."""
    kernel = extern.attributes["kernel"].value
    if kernel not in INPLACE_EXTERN_KERNELS or len(extern.results) != 1:
        return
    args = region_args(extern)
    call_args = list(extern.attributes["args"])
    first = call_args[0] if call_args else None
    if not isinstance(first, OperandRefAttr) or ir.IntegerAttr(first.index).value != 0:
        return
    src, result = args[0], extern.results[0]
    if not _host_owned(host, src) or src in returned or result.type != src.type:
        return
    if sum(1 for v in args if storage_root(v) == src) != 1:
        return  # another argument is src or a view of it: the call would read what it writes
    free = _dealloc_right_after(extern, src)
    if free is None:
        return  # src must die at this call
    extern.attributes["kernel"] = ir.StringAttr.get(INPLACE_EXTERN_KERNELS[kernel])
    extern.attributes["coil.inplace"] = ir.UnitAttr.get()
    free.erase()


def _dealloc_right_after(launch, buffer: ir.Value):
    """The dealloc of `buffer` among the deallocs that directly follow `launch`, if any."""
    block_ops = list(launch.operation.block.operations)
    index = next(i for i, o in enumerate(block_ops) if o.operation == launch.operation)
    for o in block_ops[index + 1 :]:
        if _name(o) != "coil.dealloc":
            return None
        if o.operands[0] == buffer:
            return o
    return None


@register_pass(
    "coil-plan-memory",
    "Plan host buffers: in-place writes, reuse of freed buffers (Inductor's reuse key), peak estimate",
)
def plan_memory(module: ir.Operation) -> None:
    module_body = module.regions[0].blocks[0]
    for host in host_functions(module):
        device = host.attributes["coil.device"].value if "coil.device" in host.attributes else "cpu"
        _, total = simulate_peak(host.regions[0].blocks[0])
        _plan_block(module_body, host, device)
        after_peak, _ = simulate_peak(host.regions[0].blocks[0])
        i64 = ir.IntegerType.get_signless(64)
        host.attributes["coil.planned_peak_bytes"] = ir.IntegerAttr.get(i64, after_peak)
        host.attributes["coil.unplanned_bytes"] = ir.IntegerAttr.get(i64, total)
        verify_memory_plan(host)


# ---------------------------------------------------------------------------
# Verification


def verify_memory_plan(host) -> None:
    """Raises PassFailure if two buffers sharing storage are live at once."""
    block = host.regions[0].blocks[0]
    ops = list(block.operations)
    storage: dict[ir.Value, ir.Value] = {}  # buffer -> storage id (first buffer of the chain)
    start: dict[ir.Value, int] = {}
    end: dict[ir.Value, int] = {}
    inplace_at: dict[ir.Value, int] = {}
    for arg in block.arguments:
        if _is_donated(host, arg):
            storage[arg], start[arg] = arg, -1
    for i, op in enumerate(ops):
        name = _name(op)
        if name == "coil.reuse":
            src, new = op.operands[0], op.results[0]
            storage[new] = storage.get(src, src)
            start[new] = i
            if "coil.inplace" in op.attributes:
                inplace_at[new] = next(
                    (j for j in range(i + 1, len(ops)) if _name(ops[j]) == "coil.launch" and new in region_args(ops[j])),
                    -1,
                )
            continue  # taking over storage is not a use of the old buffer
        if name == "coil.extern" and "coil.inplace" in op.attributes:
            # Its result takes its first argument's storage at the call, which also uses it.
            src, new = region_args(op)[0], op.results[0]
            storage[new] = storage.get(src, src)
            start[new] = inplace_at[new] = i
        elif _owns_storage(op):
            for r in op.results:
                if isinstance(r.type, ir.MemRefType):
                    storage[r] = r
                    start[r] = i
        for v in _used_values(op):
            root = storage_root(v)
            if root in storage:
                end[root] = i
        if name == "func.return":
            for v in op.operands:
                end[storage_root(v)] = len(ops)
    by_storage: dict[ir.Value, list[ir.Value]] = {}
    for buffer, sid in storage.items():
        by_storage.setdefault(sid, []).append(buffer)
    for sid, buffers in by_storage.items():
        buffers.sort(key=lambda b: start[b])
        for earlier, later in zip(buffers, buffers[1:]):
            last = end.get(earlier, start[earlier])
            if last < start[later]:
                continue
            allowed = later in inplace_at and last == inplace_at[later] and _name(ops[last]) in ("coil.launch", "coil.extern")
            if not allowed:
                raise PassFailure(
                    f"buffers share storage while both are live: {earlier.get_name()} (used until op #{last}) "
                    f"and {later.get_name()} (defined at op #{start[later]})",
                    later.owner.location,
                )


@register_pass("coil-verify-memory", "Check that no two simultaneously live buffers share storage")
def verify_memory(module: ir.Operation) -> None:
    for host in host_functions(module):
        verify_memory_plan(host)
