"""coil-split-reductions: one reduction over a huge range -> partial reductions and a final one.

Inductor's `split_reduction` (`Reduction.num_splits`, `create_multilayer`).
A GPU kernel runs its output points on parallel programs; a reduction with
few output points and a long range (`x.sum()` of 16M floats: one program;
`x.sum(0)` of 8192x4096: 4096 columns, 64 programs of 64 columns) leaves
most of the 132 SMs idle. This pass rewrites such a reduction, on the
graph-level IR before outlining, into

  partial[s, x...] = reduce_{j < C} body(x..., r = s*C + j)      ranges [S] + X, reduction [C]
  result[x...]     = reduce_{s < S} partial[s, x...]             ranges X, reduction [S]

two kernels, the first with S times the programs. The split index s goes
first, so the partial buffer is contiguous along the output's own fast index
(a column reduction stays a column reduction) and the final step reads it
along x (a short column reduction, persistent on the GPU).

Heuristic (options in brackets, defaults for an H100):
  - only reductions of at least `min-numel` elements in all [2^18], and at
    least 2 * `min-chunk` along the reduction [256];
  - the programs the un-split kernel would get, estimated as the Triton
    backend tiles it: a column reduction (loads contiguous along the output
    index) covers 32 output points a program, a row reduction one row (wide
    rows) or 1024 / RBLOCK rows (narrow ones);
  - split only when that is fewer than `min-programs-per-sm` programs per SM
    of `num-sms` [2, 132], except a column reduction whose programs fill
    at least `column-fill` of the SMs [0.75]: its looped [64, 32] tile
    with 16 warps streams about as fast as the split partial step, and the
    split's final kernel costs ~5 us more (H100, 8192x4096 sum over dim 0:
    54.2 us whole against 53.6 + 4.9 split in float32, 32.3 against
    31.5 + 4.9 in bfloat16). That includes welford: the Triton backend
    folds its m2 into the mean's loop (one-pass Welford), reading the
    column once (x.var(0): 55.6 us whole against 57.5 split in float32,
    34.7 against 36.6 in bfloat16);
    then S is the power of two that brings the
    programs to about `target-programs-per-sm` per SM [8: full occupancy
    with 8-warp programs], at most `max-split` [1024] and at most
    R / `min-chunk`; a divisor of R within a factor of two of it is
    preferred (no ragged last chunk).

Semantics:
  - sum, prod, max, min, any, xor_sum combine partials with themselves.
    A ragged last chunk (S*C > R) reads a clamped index and contributes the
    reduction's identity (0, 1, -inf/+inf or the integer extremes, false),
    so no load goes out of bounds and nothing is counted twice; max/min
    propagate NaN through both levels as one-level max/min do.
  - float16/bfloat16 sums and products keep their partials in float32 and
    round once, after the final reduction (a pointwise truncf that kernel
    fusion makes the final kernel's epilogue), as Inductor does.
  - welford (mean, m2, weight) is split only into equal chunks (C divides
    R): per chunk (mean_s, m2_s) in two passes as usual, then Chan's exact
    combination for equal weights: mean = sum(mean_s) / S and
    m2 = sum(m2_s) + C * sum((mean_s - mean)^2), never E[x^2] - E[x]^2.
  - argmax/argmin are left alone (the partials would have to carry
    (value, index) pairs).

Reductions with a symbolic range or output size are left whole: the split
factor and chunk length are functions of the sizes, which one compiled
graph does not know.

Only GPU pipelines run it: the CPU backend parallelizes over output points
with other trade-offs. coil/compile_fx.py adds it for CUDA graphs after
graph-level fusion, before outlining.
"""

from __future__ import annotations

import math

from coil.dialects import builders
from coil.mlir import affine, arith, ir

from .registry import register_pass
from .walk import depends_on, ops_named, remap_operands

SPLITTABLE = ("sum", "prod", "max", "min", "any", "xor_sum", "welford")
COLUMN_OUTPUTS_PER_PROGRAM = 32  # the Triton backend's column-reduction XBLOCK
ROW_TILE = 1024  # rows up to this wide share a program


def _ints(attr) -> list[int]:
    return [a.value for a in attr]


def _product(values) -> int:
    n = 1
    for v in values:
        n *= v
    return n


def _next_pow2(n: int) -> int:
    p = 1
    while p < n:
        p *= 2
    return p


def _contiguous_position(source: ir.Value, rank: int) -> int | None:
    """The position of the index along which `source` is contiguous (graph inputs carry their strides)."""
    t = source.type
    shape = list(t.shape)
    if isinstance(source, ir.BlockArgument):
        fn = source.owner.owner
        if fn is not None and "arg_attrs" in fn.attributes:
            attrs = fn.attributes["arg_attrs"][source.arg_number]
            if "coil.strides" in attrs:
                strides = _ints(attrs["coil.strides"])
                for p in range(rank - 1, -1, -1):
                    if strides[p] == 1 and shape[p] > 1:
                        return p
                return None
    for p in range(rank - 1, -1, -1):
        if shape[p] > 1:
            return p
    return None


def is_column_like(op: ir.Operation) -> bool:
    """Whether the body reads contiguously along its innermost output index and never along the reduction's.

    As in the Triton backend's `is_column_reduction`, only loads that vary
    along that output index vote: LayerNorm's weight gradient reads mean and
    rstd along the rows, one value per row for all the columns."""
    ranges, rranges = _ints(op.attributes["ranges"]), _ints(op.attributes["reduction_ranges"])
    args = list(op.regions[0].blocks[0].arguments)
    inner_out = max((i for i, e in enumerate(ranges) if e > 1), default=None)
    inner_red = max((i for i, e in enumerate(rranges) if e > 1), default=None)
    if inner_out is None or inner_red is None:
        return False
    out_arg, red_arg = args[inner_out], args[len(ranges) + inner_red]
    column = row = False
    for load in ops_named(op, "coil.load"):
        indices = list(load.operands)[1:]
        if not indices or not any(depends_on(i, out_arg) for i in indices):
            continue
        p = _contiguous_position(load.operands[0], len(indices))
        if p is None:
            continue
        column |= indices[p] == out_arg
        row |= indices[p] == red_arg
    return column and not row


def estimated_programs(op: ir.Operation) -> int:
    """How many programs the Triton backend launches for this reduction un-split."""
    xnumel = _product(_ints(op.attributes["ranges"]))
    rnumel = _product(_ints(op.attributes["reduction_ranges"]))
    if is_column_like(op):
        per_program = COLUMN_OUTPUTS_PER_PROGRAM
    else:
        per_program = max(1, ROW_TILE // _next_pow2(rnumel))
    return -(-xnumel // per_program)


def choose_split(op: ir.Operation, options: dict) -> int | None:
    """RSPLIT for `op`, or None to leave it whole (see the module docstring)."""
    rtype = op.attributes["reduction_type"].value
    if rtype not in SPLITTABLE:
        return None
    # Symbolic sizes: RSPLIT and the chunk length are chosen from the sizes
    # (and a ragged chunk or welford's equal chunks depend on R mod RSPLIT),
    # so one choice cannot serve every size; such reductions stay whole.
    if len(list(op.operands)) > 0:  # the `sizes` of its dynamic ranges
        return None
    xnumel = _product(_ints(op.attributes["ranges"]))
    rnumel = _product(_ints(op.attributes["reduction_ranges"]))
    if xnumel == 0 or rnumel < 2 * options["min_chunk"] or xnumel * rnumel < options["min_numel"]:
        return None
    programs = estimated_programs(op)
    num_sms = options["num_sms"]
    if programs >= options["min_programs_per_sm"] * num_sms:
        return None
    if is_column_like(op) and programs >= options["column_fill"] * num_sms:
        return None
    target = options["target_programs_per_sm"] * num_sms
    split = _next_pow2(-(-target // programs))
    split = min(split, options["max_split"], rnumel // options["min_chunk"])
    if split < 2:
        return None
    if rnumel % split:
        divisors = [d for d in range(max(2, split // 2), 2 * split + 1) if rnumel % d == 0 and rnumel // d >= options["min_chunk"]]
        if divisors:
            split = min(divisors, key=lambda d: (abs(math.log2(d / split)), -d))
    if rtype == "welford" and rnumel % split:
        return None
    return split


def _identity(rtype: str, t: ir.Type):
    """The reduction's identity as an attribute value of scalar type `t`."""
    if isinstance(t, (ir.F16Type, ir.BF16Type, ir.F32Type, ir.F64Type)):
        return {"sum": 0.0, "xor_sum": 0.0, "any": 0.0, "prod": 1.0, "max": -math.inf, "min": math.inf}[rtype]
    width = ir.IntegerType(t).width
    if width == 1:
        return {"sum": 0, "xor_sum": 0, "any": 0, "prod": 1, "max": 0, "min": 1}[rtype]
    low, high = -(1 << (width - 1)), (1 << (width - 1)) - 1
    return {"sum": 0, "xor_sum": 0, "any": 0, "prod": 1, "max": low, "min": high}[rtype]


def _constant(t: ir.Type, value):
    if isinstance(t, ir.IntegerType) or isinstance(t, ir.IndexType):
        return arith.constant(t, ir.IntegerAttr.get(t, int(value)))
    return arith.constant(t, float(value))


def _is_half(t: ir.Type) -> bool:
    return isinstance(t, (ir.F16Type, ir.BF16Type))


def split_reduction(op: ir.Operation, split: int) -> None:
    """Rewrites `op` (before it) into the partial and final reductions; erases it."""
    ranges, rranges = _ints(op.attributes["ranges"]), _ints(op.attributes["reduction_ranges"])
    rtype = op.attributes["reduction_type"].value
    rnumel = _product(rranges)
    chunk = -(-rnumel // split)
    ragged = chunk * split != rnumel
    old_block = op.regions[0].blocks[0]
    yielded_type = old_block.operations[len(old_block.operations) - 1].operands[0].type
    upcast = rtype in ("sum", "prod") and _is_half(yielded_type)
    f32 = ir.F32Type.get()
    partial_type = f32 if upcast else yielded_type
    n_results = len(op.results)
    result_elements = [r.type.element_type for r in op.results]
    partial_elements = [f32 if upcast else e for e in result_elements]
    index = ir.IndexType.get()

    def partial_body(indices, rindices):
        s, x, j = indices[0], list(indices[1:]), rindices[0]
        flat_map = ir.AffineMap.get(2, 0, [ir.AffineExpr.get_dim(0) * chunk + ir.AffineExpr.get_dim(1)])
        flat = affine.apply(flat_map, [s, j])
        valid = None
        if ragged:
            valid = arith.cmpi(arith.CmpIPredicate.ult, flat, _constant(index, rnumel))
            flat = arith.minsi(flat, _constant(index, rnumel - 1))
        # The original reduction indices: row-major digits of the flat index.
        digits = []
        stride = rnumel
        for k, extent in enumerate(rranges):
            stride //= extent
            expr = ir.AffineExpr.get_dim(0)
            if stride > 1:
                expr = ir.AffineExpr.get_floor_div(expr, stride)
            if k > 0:
                expr = ir.AffineExpr.get_mod(expr, extent)
            digits.append(flat if (stride == 1 and k == 0) else affine.apply(ir.AffineMap.get(1, 0, [expr]), [flat]))
        mapping = dict(zip(old_block.arguments, x + digits))
        value = None
        for inner in old_block.operations:
            if inner.name == "coil.yield":
                value = mapping.get(inner.operands[0], inner.operands[0])
                continue
            clone = inner.clone()
            remap_operands(clone, mapping)
            for old_r, new_r in zip(inner.results, clone.results):
                mapping[old_r] = new_r
        if upcast:
            value = arith.extf(f32, value)
        if valid is not None:
            value = arith.select(valid, value, _constant(partial_type, _identity(rtype, partial_type)))
        return value

    with ir.InsertionPoint(op), op.location:
        partials = builders.reduction([split] + ranges, [chunk], rtype, partial_elements, partial_body)
        if rtype == "welford":
            results = _combine_welford(partials, ranges, split, chunk, rnumel, op)
        else:

            def final_body(indices, rindices):
                return builders.load(partials[0], [rindices[0]] + list(indices))

            (total,) = builders.reduction(ranges, [split], rtype, partial_elements, final_body)
            if upcast:

                def round_body(indices):
                    return arith.truncf(result_elements[0], builders.load(total, list(indices)))

                total = builders.pointwise(ranges, result_elements[0], round_body)
            results = [total]
    assert len(results) == n_results
    for old, new in zip(op.results, results):
        if new is not None:
            old.replace_all_uses_with(new)
    op.erase()


def _combine_welford(partials, ranges, split, chunk, rnumel, op):
    """Chan's combination of S equal-weight (mean_s, m2_s): the final mean, m2 and weight."""
    mean_p, m2_p, _ = partials
    t = mean_p.type.element_type

    def load_partial(buffer, indices, s):
        return builders.load(buffer, [s] + list(indices))

    (total,) = builders.reduction(ranges, [split], "sum", [t], lambda idx, r: load_partial(mean_p, idx, r[0]))

    def mean_body(indices):
        return arith.divf(builders.load(total, list(indices)), _constant(t, split))

    mean = builders.pointwise(ranges, t, mean_body)

    def m2_body(indices, rindices):
        mean_s = load_partial(mean_p, indices, rindices[0])
        deviation = arith.subf(mean_s, builders.load(mean, list(indices)))
        spread = arith.mulf(arith.mulf(deviation, deviation), _constant(t, chunk))
        return arith.addf(load_partial(m2_p, indices, rindices[0]), spread)

    (m2,) = builders.reduction(ranges, [split], "sum", [t], m2_body)
    weight = None
    if len(list(op.results[2].uses)):
        weight = builders.pointwise(ranges, t, lambda indices: _constant(t, rnumel))
    return [mean, m2, weight]


@register_pass(
    "coil-split-reductions",
    "Split reductions with few output points and a long range into partial and final reductions (GPU)",
    options={
        "num-sms": "streaming multiprocessors of the target GPU (default 132)",
        "min-numel": "split only reductions of at least this many elements in all (default 262144)",
        "min-programs-per-sm": "split when the kernel would get fewer programs than this per SM (default 2)",
        "target-programs-per-sm": "choose RSPLIT for about this many programs per SM (default 8)",
        "max-split": "at most this many partial reductions per output point (default 1024)",
        "min-chunk": "each partial reduces at least this many elements (default 256)",
        "column-fill": "a one-pass column reduction whose programs fill this fraction of the SMs stays whole (default 0.75)",
    },
)
def split_reductions(
    module: ir.Operation,
    num_sms: str = "132",
    min_numel: str = str(1 << 18),
    min_programs_per_sm: str = "2",
    target_programs_per_sm: str = "8",
    max_split: str = "1024",
    min_chunk: str = "256",
    column_fill: str = "0.75",
) -> None:
    options = dict(
        num_sms=int(num_sms),
        min_numel=int(min_numel),
        min_programs_per_sm=int(min_programs_per_sm),
        target_programs_per_sm=int(target_programs_per_sm),
        max_split=int(max_split),
        min_chunk=int(min_chunk),
        column_fill=float(column_fill),
    )
    for op in ops_named(module, "coil.reduction"):
        split = choose_split(op.operation, options)
        if split is not None:
            split_reduction(op.operation, split)
