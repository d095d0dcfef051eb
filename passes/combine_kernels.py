"""coil-combine-kernels: independent pointwise launches as one launch (Inductor's combo kernels).

A GPU pays for every kernel boundary: the launch, and the tail of the first
kernel's last wave, during which SMs idle until the next kernel may start.
Where a graph launches several pointwise kernels over different ranges that
touch disjoint memory (an optimizer step over parameters of several shapes:
AdamW's 1024x1024 matrices, its 4096x1024 one and its 1024-wide vectors),
nothing orders them, and one launch can run them side by side.

This pass, over each host function, walks its launches in order and groups
adjacent ones whose kernels are *combinable*: one `coil.loop_nest`, pointwise
(no reduction ranges), every range static, every argument a buffer of static
shape and strides. A launch joins the group when no buffer it passes may share storage
with one a grouped launch passes while either of the two kernels writes it
(the storages a value may use: `kernel_args.storage_roots`). Between two
grouped launches the host may hold only ops that touch no memory a kernel
reads (`coil.view`, `coil.alloc`, `coil.reuse`, constants) and `coil.dealloc`s,
which move after the combined launch; an alloc after such a dealloc ends the
group (moving the free past it could raise the caching allocator's peak).

Each group of two or more becomes one kernel, `@combo_N`, marked `coil.combo`:
its arguments are the grouped launches' buffers (each host value once), its
body the kernels' loop nests in launch order, each with its own ranges. The
loop nests of a `coil.combo` kernel are independent: they may run in any order
or at once. The Triton backend gives each its own range of program ids
(`backends/triton/emit.py`). The launch takes the last grouped launch's place.
The kernels' `coil.noalias` marks carry over: an argument is noalias in the
combo when it is in every kernel that takes it (grouped kernels never overlap
where one writes, so no new aliasing arises between them).

Only the CUDA pipeline runs this pass (after memory planning and
coil-kernel-args): the CPU backend runs one loop nest per kernel, in order,
and gains nothing from fewer launches.
"""

from __future__ import annotations

from collections import Counter

from coil.dialects import builders, region_args
from coil.dialects.ops import is_dynamic
from coil.dialects.types import kernel_arg_type
from coil.mlir import func, ir

from .kernel_args import NOALIAS_ATTR, noalias_positions, storage_roots, written_arguments
from .plan_memory import host_functions
from .registry import register_pass
from .walk import ops_named, remap_operands

COMBO_ATTR = "coil.combo"
# At most this many kernels a combo, and this many arguments (CUDA passes a
# launch's parameters in 4 KiB; a pointer takes 8 bytes).
MAX_COMBO_PARTS = 8
MAX_COMBO_ARGS = 256
# Host ops that read or write no buffer: a group may span them.
_PASSIVE_OPS = {"coil.view", "coil.alloc", "coil.reuse", "arith.constant"}


def _combinable(fn) -> bool:
    """Whether kernel function `fn` can be part of a combo (see the module docstring)."""
    if fn is None or COMBO_ATTR in fn.attributes:
        return False
    entry = fn.regions[0].blocks[0]
    for arg in entry.arguments:
        if not isinstance(arg.type, ir.MemRefType):
            return False
        t = ir.MemRefType(arg.type)
        if not t.has_static_shape:
            return False
        strides, _ = t.get_strides_and_offset()
        if any(is_dynamic(s) for s in strides):
            return False  # a stride known only at launch (a parameter of its own)
    nests = [op for op in entry.operations if op.operation.name == "coil.loop_nest"]
    if len(nests) != 1:
        return False
    nest = nests[0]
    if len(nest.attributes["reduction_ranges"]) or len(list(nest.operands)):
        return False  # a reduction, or a symbolic range
    return True


class _Part:
    """One grouped launch: its kernel, host arguments and the storages it reads and writes."""

    def __init__(self, launch, fn, memo: dict):
        self.launch, self.fn = launch, fn
        self.args = region_args(launch)
        written = written_arguments(fn)
        self.roots = [(storage_roots(v, memo), k in written) for k, v in enumerate(self.args)]

    def conflicts(self, other: "_Part") -> bool:
        """Whether one of the two may write storage the other touches."""
        for roots, written in self.roots:
            for other_roots, other_written in other.roots:
                if (written or other_written) and roots & other_roots:
                    return True
        return False


class _Grouper:
    def __init__(self, module_body: ir.Block, funcs: dict, launches: Counter, counter: list[int]):
        self.module_body = module_body
        self.funcs = funcs
        self.launches = launches  # kernel name -> launches left in every host
        self.counter = counter
        self.memo: dict = {}

    def run(self, host) -> None:
        group: list[_Part] = []
        between: list = []  # deallocs inside the group's span
        for op in list(host.regions[0].blocks[0].operations):
            name = op.operation.name
            if name == "coil.launch":
                fn = self.funcs.get(op.attributes["kernel"].value)
                if _combinable(fn):
                    part = _Part(op, fn, self.memo)
                    if self._joins(group, part):
                        group.append(part)
                        continue
                    self._close(group, between)
                    group, between = [part], []
                    continue
            elif group and name == "coil.dealloc":
                between.append(op)
                continue
            elif group and name in _PASSIVE_OPS and not (name == "coil.alloc" and between):
                continue
            self._close(group, between)
            group, between = [], []
        self._close(group, between)

    @staticmethod
    def _joins(group: list[_Part], part: _Part) -> bool:
        if not group or len(group) >= MAX_COMBO_PARTS:
            return False
        if len({v for p in group + [part] for v in p.args}) > MAX_COMBO_ARGS:
            return False
        return not any(part.conflicts(other) for other in group)

    def _fresh_name(self) -> str:
        while f"combo_{self.counter[0]}" in self.funcs:
            self.counter[0] += 1
        return f"combo_{self.counter[0]}"

    def _close(self, group: list[_Part], between: list) -> None:
        if len(group) < 2:
            return
        name = self._fresh_name()
        args = list(dict.fromkeys(v for part in group for v in part.args))
        combo = self._build(name, group, args)
        self.funcs[name] = combo
        last = group[-1].launch
        with ir.InsertionPoint(last), last.location:
            launch = builders.launch(name, args)
        for dealloc in reversed(between):
            dealloc.operation.move_after(launch)
        for part in group:
            kernel = part.fn.attributes["sym_name"].value
            part.launch.erase()
            self.launches[kernel] -= 1
            if not self.launches[kernel]:
                part.fn.erase()
                del self.funcs[kernel]

    def _build(self, name: str, group: list[_Part], args: list[ir.Value]):
        position = {v: k for k, v in enumerate(args)}
        noalias = [True] * len(args)
        for part in group:
            marked = noalias_positions(part.fn)
            for k, v in enumerate(part.args):
                if k not in marked:
                    noalias[position[v]] = False
        with ir.InsertionPoint(self.module_body), group[0].fn.location:
            combo = func.FuncOp(name, ir.FunctionType.get([kernel_arg_type(v.type) for v in args], []))
            combo.attributes["coil.kernel"] = ir.UnitAttr.get()
            combo.attributes[COMBO_ATTR] = ir.UnitAttr.get()
            combo.attributes["arg_attrs"] = ir.ArrayAttr.get(
                [ir.DictAttr.get({NOALIAS_ATTR: ir.UnitAttr.get()} if n else {}) for n in noalias]
            )
            entry = combo.add_entry_block()
        # Each kernel's ops before its loop nest (constants) first, then the loop nests in launch order.
        preludes, nests = [], []
        for part in group:
            mapping = {old: entry.arguments[position[host]] for old, host in zip(part.fn.regions[0].blocks[0].arguments, part.args)}
            for op in part.fn.regions[0].blocks[0].operations:
                if op.operation.name == "func.return":
                    continue
                (nests if op.operation.name == "coil.loop_nest" else preludes).append((op, mapping))
        with ir.InsertionPoint(entry), group[0].fn.location:
            for op, mapping in preludes + nests:
                clone = op.clone()
                remap_operands(clone, mapping)
                for old, new in zip(op.results, clone.results):
                    mapping[old] = new
            func.ReturnOp([])
        return combo


@register_pass(
    "coil-combine-kernels",
    "Run adjacent independent static pointwise launches as one coil.combo kernel (one GPU launch)",
)
def combine_kernels(module: ir.Operation) -> None:
    module_body = module.regions[0].blocks[0]
    funcs = {op.attributes["sym_name"].value: op for op in module_body.operations if op.operation.name == "func.func"}
    launches = Counter(op.attributes["kernel"].value for op in ops_named(module, "coil.launch"))
    counter = [0]
    for host in host_functions(module):
        _Grouper(module_body, funcs, launches, counter).run(host)
