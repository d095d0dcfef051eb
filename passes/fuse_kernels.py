"""coil-fuse-kernels: Inductor's scheduler fusion, over outlined kernels.

After outlining, every realized node is its own kernel. This pass merges the
kernels of two launches into one `coil.loop_nest` when their iteration spaces
line up, as Inductor's scheduler fuses SchedulerNodes:

  - pointwise + pointwise over the same ranges (vertical, or horizontal when
    they share an input);
  - a reduction and a pointwise over its output ranges (size-1 ranges
    aside: a [B] pointwise after a [B, 1] row reduction): an epilogue, run
    once per output point after the reduction;
  - a reduction and a pointwise over its ranges x reduction ranges (e.g.
    softmax's final division): the pointwise runs in the reduction domain,
    in a later pass over the reduction range of the same kernel; except a
    pointwise that gathers (loads at an index it loaded) before a reduction
    over its points, which stays a kernel of its own, its gathers spread over
    its points' programs rather than chained in the reduction's few;
  - two reductions with the same ranges and reduction ranges (layernorm's
    statistics, softmax's max and sum), dependent or not.

Ranges compare as host values: a kernel's symbolic range is its index
argument, which stands for the value its launch passes; two ranges are the
same only when provably so (equal ints, or the same host SSA value), since
two different symbols may differ at run time. The fused kernel takes the
index arguments of both (once each).

Legality is checked, not assumed. A value the second kernel reads from the
first's output is forwarded as an SSA value only when it is read at exactly
the point where it was stored; any other read (a shifted, transposed or
broadcast read of the buffer) refuses the fusion. The second launch moves up
to the first, so every other buffer it reads must already exist there. A
buffer whose only reader was the fused kernel is no longer stored or
allocated at all.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cached_property

from coil.dialects import builders, mixed_ranges, region_args
from coil.dialects.types import kernel_arg_type
from coil.mlir import arith, func, ir

from .inline_producers import gathers
from .registry import register_pass
from .sizes import same_size, same_sizes
from .walk import ops_named, remap_operands

ZERO = "zero"
NOT_HERE = object()


@dataclass(eq=False)
class Kernel:
    """One launch of a single-loop kernel. A kernel's body never changes (a
    fusion builds a new kernel), so what is read off it is computed once."""

    launch: ir.Operation
    func: ir.Operation
    loop: ir.Operation
    args: list[ir.Value]  # host values, in kernel argument order
    position: int = 0  # launch order in the host; a fused kernel takes its first kernel's

    @cached_property
    def entry(self) -> ir.Block:
        return self.func.regions[0].blocks[0]

    @cached_property
    def ranges(self) -> list:
        """Ranges as host sizes: ints, or the host index values the launch passes."""
        return [self._host_size(s) for s in mixed_ranges(self.loop, "ranges")]

    @cached_property
    def rranges(self) -> list:
        return [self._host_size(s) for s in mixed_ranges(self.loop, "reduction_ranges")]

    def _host_size(self, size):
        if isinstance(size, ir.Value):
            host = _host_of(size, self)
            return size if host is None else host
        return size

    @cached_property
    def _accesses(self) -> tuple[frozenset[int], frozenset[int]]:
        """(loaded, stored) argument numbers, from one walk of the body."""
        loaded, stored = set(), set()
        for op in ops_named(self.loop, "coil.load", "coil.store"):
            if op.operation.name == "coil.store":
                stored.add(op.operands[1].arg_number)
                continue
            source = op.operands[0]
            if isinstance(source, ir.BlockArgument) and source.owner == self.entry:
                loaded.add(source.arg_number)
        return frozenset(loaded), frozenset(stored)

    def stored_args(self) -> frozenset[int]:
        return self._accesses[1]

    def loaded_args(self) -> frozenset[int]:
        return self._accesses[0]

    @cached_property
    def reads(self) -> frozenset[ir.Value]:
        """The host buffers the kernel loads from."""
        return frozenset(self.args[k] for k in self.loaded_args())

    @cached_property
    def writes(self) -> frozenset[ir.Value]:
        """The host buffers the kernel stores to."""
        return frozenset(self.args[k] for k in self.stored_args())


def _kernel_of(launch: ir.Operation, fn: ir.Operation | None) -> Kernel | None:
    if fn is None:
        return None
    loops = [op for op in fn.regions[0].blocks[0].operations if op.operation.name == "coil.loop_nest"]
    if len(loops) != 1:
        return None
    return Kernel(launch, fn, loops[0], region_args(launch))


def _domain_map(outer: list[int], reduction: list[int], shape: list[int]) -> list | None:
    """How a pointwise over `shape` indexes a (outer, reduction) space, if its points are that space's points."""
    unit = lambda s: same_size(s, 1)  # noqa: E731
    group_positions = [k for k, s in enumerate(outer) if not unit(s)] + [len(outer) + k for k in range(len(reduction))]
    group_sizes = [s for s in outer if not unit(s)] + list(reduction)
    own = [s for s in shape if not unit(s)]
    if not same_sizes(own, group_sizes):
        return None
    positions = iter(group_positions)
    return [ZERO if unit(s) else next(positions) for s in shape]


def _outer_map(outer: list, shape: list) -> list | None:
    """How a pointwise over `shape` indexes a reduction's output ranges `outer` when the two
    differ only in size-1 ranges (a [64] pointwise after a [64, 1] row reduction), else None."""
    unit = lambda s: same_size(s, 1)  # noqa: E731
    positions = [k for k, s in enumerate(outer) if not unit(s)]
    if not same_sizes([s for s in shape if not unit(s)], [outer[k] for k in positions]):
        return None
    positions = iter(positions)
    return [ZERO if unit(s) else next(positions) for s in shape]


def iteration_maps(a: Kernel, b: Kernel):
    """(ranges, reduction_ranges, map_a, map_b) of a space running both kernels, or None.

    A map lists, for each of a kernel's indices, the group index it reads
    (an int) or ZERO for an index of a size-1 range.
    """
    ra, rb = a.ranges, b.ranges
    rra, rrb = a.rranges, b.rranges
    identity = lambda n: list(range(n))  # noqa: E731
    if not rra and not rrb:
        if same_sizes(ra, rb):
            return ra, [], identity(len(ra)), identity(len(rb))
        return None
    if rra and rrb:
        if same_sizes(ra, rb) and same_sizes(rra, rrb):
            n = len(ra) + len(rra)
            return ra, rra, identity(n), identity(n)
        return None
    if rra:  # a reduces, b is pointwise
        if same_sizes(rb, ra):
            return ra, rra, identity(len(ra) + len(rra)), identity(len(rb))
        mapping = _outer_map(ra, rb)
        if mapping is not None:
            return ra, rra, identity(len(ra) + len(rra)), mapping
        mapping = _domain_map(ra, rra, rb)
        if mapping is not None:
            return ra, rra, identity(len(ra) + len(rra)), mapping
        return None
    if same_sizes(ra, rb):  # a pointwise over b's outer ranges
        return rb, rrb, identity(len(ra)), identity(len(rb) + len(rrb))
    mapping = _domain_map(rb, rrb, ra)
    if mapping is not None:
        return rb, rrb, mapping, identity(len(rb) + len(rrb))
    return None


class _Merge:
    """Builds the fused kernel of `a` then `b`."""

    def __init__(self, module_body: ir.Block, a: Kernel, b: Kernel, space, name: str):
        self.module_body = module_body
        self.a, self.b = a, b
        self.ranges, self.rranges, self.map_a, self.map_b = space
        self.name = name

    def _index_values(self, mapping, group_args, zero):
        return [zero if m == ZERO else group_args[m] for m in mapping]

    @staticmethod
    def _same_point(x: list[ir.Value], y: list[ir.Value], zero_like: set) -> bool:
        if len(x) != len(y):
            return False
        for u, v in zip(x, y):
            if u == v:
                continue
            if u in zero_like and v in zero_like:
                continue
            if not (_is_const_zero(u) or u in zero_like) or not (_is_const_zero(v) or v in zero_like):
                return False
        return True

    def plan(self):
        """Checks legality; returns the host buffers to forward and to eliminate, or None."""
        a, b = self.a, self.b
        a_stored = {a.args[i]: i for i in a.stored_args()}
        forwarded = {}
        for k in b.loaded_args():
            if b.args[k] in a_stored:
                forwarded[b.args[k]] = a_stored[b.args[k]]
        if not b.writes.isdisjoint(a.writes):
            return None  # both write one buffer
        if not a.reads.isdisjoint(b.writes):
            return None  # a reads what b writes
        return forwarded

    def build(self, forwarded: dict, eliminated: set) -> ir.Operation:
        a, b = self.a, self.b
        args: list[ir.Value] = []
        for v in a.args + b.args:
            if v not in args and v not in eliminated:
                args.append(v)
        # Buffers first, then the index arguments, as outlining orders them.
        args = [v for v in args if not isinstance(v.type, ir.IndexType)] + [
            v for v in args if isinstance(v.type, ir.IndexType)
        ]
        arg_types = [kernel_arg_type(v.type) for v in args]
        with ir.InsertionPoint(self.module_body), a.func.location:
            fused = func.FuncOp(self.name, ir.FunctionType.get(arg_types, []))
            fused.attributes["coil.kernel"] = ir.UnitAttr.get()
            entry = fused.add_entry_block()
        new_args = dict(zip(args, entry.arguments))
        stored_values: dict[ir.Value, tuple[ir.Value, list[ir.Value]]] = {}
        ok = [True]

        with ir.InsertionPoint(entry), a.func.location:
            zero = arith.constant(ir.IndexType.get(), 0)
            # Constants captured by either kernel body live at the top of its function.
            constants = {}
            for k in (a, b):
                for op in k.func.regions[0].blocks[0].operations:
                    if op.operation.name == "arith.constant":
                        clone = op.clone()
                        constants[op.results[0]] = clone.results[0]

            def body(indices, rindices):
                group = list(indices) + list(rindices)
                zero_like = {zero} | {g for g, size in zip(group, self.ranges + self.rranges) if same_size(size, 1)}
                for kernel, mapping in ((a, self.map_a), (b, self.map_b)):
                    block = kernel.loop.regions[0].blocks[0]
                    values = dict(constants)
                    for old, new in zip(block.arguments, self._index_values(mapping, group, zero)):
                        values[old] = new
                    fn_args = kernel.func.regions[0].blocks[0].arguments
                    for old, host in zip(fn_args, kernel.args):
                        if host in new_args:
                            values[old] = new_args[host]
                    for inner in block.operations:
                        if inner.operation.name == "coil.yield":
                            continue
                        if inner.operation.name == "coil.load" and kernel is b:
                            source = inner.operands[0]
                            host = _host_of(source, kernel)
                            if host is not None and host in forwarded:
                                value, point = stored_values[host]
                                indices_here = [values.get(v, v) for v in list(inner.operands)[1:]]
                                if not self._same_point(indices_here, point, zero_like):
                                    ok[0] = False
                                    return
                                values[inner.results[0]] = value
                                continue
                        if inner.operation.name == "coil.store" and kernel is a:
                            host = _host_of(inner.operands[1], kernel)
                            if host is not None and host in forwarded:
                                stored_values[host] = (
                                    values.get(inner.operands[0], inner.operands[0]),
                                    [values.get(v, v) for v in list(inner.operands)[2:]],
                                )
                                if host in eliminated:
                                    continue
                        clone = inner.clone()
                        remap_operands(clone, values)
                        for old, new in zip(inner.results, clone.results):
                            values[old] = new

            local = lambda sizes: [new_args[s] if isinstance(s, ir.Value) else s for s in sizes]  # noqa: E731
            builders.loop_nest(local(self.ranges), local(self.rranges), body)
            func.ReturnOp([])
        if not ok[0]:
            fused.operation.erase()
            return None
        return fused, args


def _host_of(value: ir.Value, kernel: Kernel):
    if isinstance(value, ir.BlockArgument) and value.owner == kernel.entry:
        return kernel.args[value.arg_number]
    return None


def _is_const_zero(v: ir.Value) -> bool:
    if isinstance(v, ir.BlockArgument) or v.owner.operation.name != "arith.constant":
        return False
    attr = v.owner.attributes["value"]
    return isinstance(attr, ir.IntegerAttr) and attr.value == 0


def _defined_before(value: ir.Value, anchor: ir.Operation) -> bool:
    if isinstance(value, ir.BlockArgument):
        return True
    owner = value.owner.operation
    anchor = anchor.operation
    return owner.block == anchor.block and owner.is_before_in_block(anchor)


def _host_users(value: ir.Value) -> list[ir.Operation]:
    """Host ops using `value` (a coil.arg counts as its launch or extern)."""
    users = []
    for use in value.uses:
        owner = use.owner
        if owner.operation.name == "coil.arg":
            owner = owner.parent
        users.append(owner)
    return users


class _Fuser:
    """The scheduler loop: fuses pairs of kernels in the order a full rescan would.

    The rule is Inductor's greedy one: take the first pair (a, b), a launched
    before b, that reads a buffer the other reads or writes and fuses;
    fuse it; start over. Only pairs sharing a buffer are candidates, so the
    kernels are indexed by the buffers they load and store. Whether a pair
    fuses depends on the two kernels and on where the host values b reads
    are defined relative to a's launch; a fusion changes the latter only for
    the buffers whose allocs it moves up (b's outputs). So a pair that failed
    stays failed until one of its kernels is fused away or its second kernel
    uses a moved buffer, and a heap of the pairs not known to fail, ordered
    by launch positions (a fused kernel takes its first kernel's), yields the
    pair a rescan would find first, without rescanning.
    """

    def __init__(self, module_body: ir.Block, names: set[str], launches: Counter, counter: list[int]):
        self.module_body = module_body
        self.names = names  # every func.func in the module
        self.launches = launches  # kernel name -> launches of it, in every host
        self.counter = counter
        self.readers: dict[ir.Value, set[Kernel]] = defaultdict(set)  # kernels loading a buffer
        self.touchers: dict[ir.Value, set[Kernel]] = defaultdict(set)  # kernels loading or storing it
        self.users: dict[ir.Value, set[Kernel]] = defaultdict(set)  # kernels taking it as an argument
        self.heap: list = []
        self.queued: set[tuple[Kernel, Kernel]] = set()
        self.alive: set[Kernel] = set()
        self.last_input: dict[Kernel, ir.Operation | None] = {}
        self.pushed = itertools.count()

    def _add(self, k: Kernel) -> None:
        self.alive.add(k)
        for v in k.reads:
            self.readers[v].add(k)
        for v in k.reads | k.writes:
            self.touchers[v].add(k)
        for v in k.args:
            self.users[v].add(k)

    def _remove(self, k: Kernel) -> None:
        self.alive.discard(k)
        for index in (self.readers, self.touchers, self.users):
            for v in k.args:
                kernels = index.get(v)
                if kernels is not None:
                    kernels.discard(k)
                    if not kernels:
                        del index[v]

    def _push(self, a: Kernel, b: Kernel) -> None:
        if (a, b) not in self.queued:
            self.queued.add((a, b))
            heapq.heappush(self.heap, (a.position, b.position, next(self.pushed), a, b))

    def _push_later(self, a: Kernel) -> None:
        """Queues (a, b) for every later b that loads what a loads or stores."""
        for v in a.reads | a.writes:
            for b in self.readers.get(v, ()):
                if b.position > a.position:
                    self._push(a, b)

    def _push_earlier(self, b: Kernel) -> None:
        """Queues (a, b) for every earlier a that loads or stores what b loads."""
        for v in b.reads:
            for a in self.touchers.get(v, ()):
                if a.position < b.position:
                    self._push(a, b)

    def _fresh_name(self) -> str:
        name = f"fused_{self.counter[0]}"
        while name in self.names:
            self.counter[0] += 1
            name = f"fused_{self.counter[0]}"
        return name

    def run(self, kernels: list[Kernel]) -> None:
        for position, k in enumerate(kernels):
            k.position = position
            self._add(k)
        for k in kernels:
            self._push_later(k)
        while self.heap:
            *_, a, b = heapq.heappop(self.heap)
            self.queued.discard((a, b))
            if a not in self.alive or b not in self.alive:
                continue
            name = self._fresh_name()
            fused = self.try_fuse(a, b, name)
            if fused is None:
                continue
            self.counter[0] += 1
            fused_kernel, moved = fused
            self._remove(a)
            self._remove(b)
            if fused_kernel is not None:
                fused_kernel.position = a.position
                self._add(fused_kernel)
                self._push_earlier(fused_kernel)
                self._push_later(fused_kernel)
            for v in moved:
                for k in list(self.users.get(v, ())):
                    self.last_input.pop(k, None)
                    self._push_earlier(k)

    def _last_input(self, b: Kernel):
        """The last host op defining an argument of b's launch that b does not
        write (None: all are function arguments), or NOT_HERE when one is
        defined outside the launch's block."""
        if b not in self.last_input:
            last = None
            block = b.launch.operation.block
            for v in b.args:
                if v in b.writes or isinstance(v, ir.BlockArgument):
                    continue
                owner = v.owner.operation
                if owner.block != block:
                    last = NOT_HERE
                    break
                if last is None or last.is_before_in_block(owner):
                    last = owner
            self.last_input[b] = last
        return self.last_input[b]

    def try_fuse(self, a: Kernel, b: Kernel, name: str):
        """Fuses b into a as kernel `name`: (the fused kernel, the buffers whose allocs moved up), or None."""
        # b moves up to a: everything else it reads must exist there already.
        # (What a forwards to it does: a's launch takes it.) The cheapest
        # test, and the one most pairs fail, so it comes first.
        last = self._last_input(b)
        if last is NOT_HERE or (last is not None and not last.is_before_in_block(a.launch.operation)):
            return None
        module_body = self.module_body
        space = iteration_maps(a, b)
        if space is None:
            return None
        if not a.rranges and b.rranges and any(m != ZERO and m >= len(space[0]) for m in space[2]) and gathers(a.loop):
            # A gather into a reduction over its points: kept apart (see inline_producers).
            return None
        merge = _Merge(module_body, a, b, space, name)
        forwarded = merge.plan()
        if forwarded is None:
            return None
        # In argument order: the order of a set of values follows heap addresses.
        b_outputs = list(dict.fromkeys(b.args[k] for k in sorted(b.stored_args())))
        for v in b_outputs:
            if not isinstance(v, ir.BlockArgument) and v.owner.operation.name == "coil.alloc":
                # Its alloc moves up too, so its symbolic sizes must exist there.
                if all(_defined_before(size, a.launch) for size in v.owner.operands):
                    continue
            return None
        # A forwarded buffer that nothing else reads is not stored at all.
        eliminated = set()
        for v in forwarded:
            if isinstance(v, ir.BlockArgument) or v.owner.operation.name != "coil.alloc":
                continue
            others = [u for u in _host_users(v) if u not in (a.launch, b.launch) and u.operation.name != "coil.dealloc"]
            if not others:
                eliminated.add(v)
        built = merge.build(forwarded, eliminated)
        if built is None:
            return None
        fused, args = built
        for v in b_outputs:
            v.owner.move_before(a.launch)
        with ir.InsertionPoint(a.launch), a.launch.location:
            launch = builders.launch(name, args)
        for v in eliminated:
            for user in _host_users(v):
                if user.operation.name == "coil.dealloc":
                    user.erase()
        a.launch.erase()
        b.launch.erase()
        for v in eliminated:
            v.owner.erase()
        self.names.add(name)
        self.launches[name] += 1
        for k in (a, b):
            self.launches[k.func.attributes["sym_name"].value] -= 1
        for k in (a, b):
            kernel_name = k.func.attributes["sym_name"].value
            if not self.launches[kernel_name] and kernel_name in self.names:
                k.func.erase()
                self.names.discard(kernel_name)
        return _kernel_of(launch, fused), b_outputs


@register_pass(
    "coil-fuse-kernels",
    "Fuse kernels whose iteration spaces line up: epilogues, reduction-domain pointwise, sibling reductions",
)
def fuse_kernels(module: ir.Operation) -> None:
    module_body = module.regions[0].blocks[0]
    counter = [0]
    hosts = [op for op in module_body.operations if op.operation.name == "func.func" and "coil.host" in op.attributes]
    launches = Counter(launch.attributes["kernel"].value for host in hosts for launch in ops_named(host, "coil.launch"))
    for host in hosts:
        funcs = {op.attributes["sym_name"].value: op for op in module_body.operations if op.operation.name == "func.func"}
        kernels = []
        for op in host.regions[0].blocks[0].operations:
            if op.operation.name == "coil.launch":
                kernel = _kernel_of(op, funcs.get(op.attributes["kernel"].value))
                if kernel is not None:
                    kernels.append(kernel)
        _Fuser(module_body, set(funcs), launches, counter).run(kernels)
