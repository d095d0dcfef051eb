"""FX graph -> coil dialect: Inductor's `GraphLowering`, building MLIR.

The importer interprets the FX graph node by node. Placeholders become
arguments of one `func.func @graph`; each `call_function` node is lowered by
its rule from the lowering table, or becomes a `coil.extern` call to ATen;
Python arithmetic on sizes is evaluated. Metadata (dtype, sizes, strides) for
every node comes from running the node's op on meta tensors.

With symbolic inputs (FakeTensors with SymInt sizes, SymInt placeholders, as
`torch.compile(dynamic=True)` gives them) the metadata stays symbolic: it is
the FakeTensor tracing recorded (`node.meta["val"]`), Dynamo's symbols become
`index` arguments of @graph, and each size a rule uses becomes an int or an
`index` value built at the top of @graph (`sizes.SizeMaterializer`).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

import sympy
import torch
import torch.fx
from torch._guards import detect_fake_mode
from torch._subclasses.fake_tensor import FakeTensor, FakeTensorMode
from torch.fx.experimental.symbolic_shapes import free_unbacked_symbols, statically_known_true

from coil import config, metrics
from coil.dialects import builders, make_context
from coil.errors import LoweringError
from coil.mlir import func, ir
from coil.dialects.ops import DYNAMIC

from . import lowerings  # noqa: F401  (fills the table)
from .fx_rewrites import restore_fused_updates
from .lowering import LOWERINGS, LoweringContext, TensorValue, Unsupported, find_lowering
from .scalar_ops import SUPPORTED_DTYPES, element_type
from .sizes import SizeMaterializer, is_symbolic, same_size, size_expr

aten = torch.ops.aten


@dataclass
class InputSpec:
    """Placeholder i: a tensor that is argument `arg_index` of @graph, or a Python value.

    Tensor constants of the graph (get_attr) follow the placeholders as kind
    "constant": arguments of @graph that the compiled program passes itself.
    """

    kind: str  # "tensor", "value", "constant" or "symbol" (value: the symbol's name)
    arg_index: int = -1
    value: object = None


@dataclass
class OutputSpec:
    """Graph output i: result `result_index` of @graph, input `input_index`, or a constant.

    A symbolic size output (AOT forward graphs return sizes the backward needs)
    is kind "symbol": `value` is the SymInt (`value.node.expr`, its sympy
    expression over Dynamo's symbols) and `index` the @graph index argument
    when it is exactly one symbol (else -1).
    """

    kind: str  # "result", "input", "value" or "symbol"
    index: int = -1
    value: object = None


@dataclass
class ImportedGraph:
    module: ir.Module
    context: ir.Context
    inputs: list[InputSpec]
    outputs: list[OutputSpec]
    device: torch.device
    extern_ops: list[str] = field(default_factory=list)
    # Metadata of each @graph result: (sizes, strides, dtype); SymInts where symbolic.
    result_meta: list[tuple] = field(default_factory=list)
    # @graph index argument -> where the host reads it: ("input", placeholder),
    # ("size", placeholder, dim) or ("stride", placeholder, dim).
    symbols: dict[int, tuple] = field(default_factory=dict)


def meta_like(x: torch.Tensor) -> torch.Tensor:
    """A meta tensor with x's sizes, strides, storage offset and dtype."""
    return torch.empty_strided(
        tuple(int(s) for s in x.shape), tuple(int(s) for s in x.stride()), dtype=x.dtype, device="meta"
    )


def _has_symbols(x) -> bool:
    if isinstance(x, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return True
    if isinstance(x, torch.Tensor):
        return any(isinstance(s, torch.SymInt) for s in (*x.shape, *x.stride(), x.storage_offset()))
    return False


def _shape_env(x):
    if isinstance(x, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return x.node.shape_env
    if isinstance(x, torch.Tensor):
        for s in (*x.shape, *x.stride()):
            if isinstance(s, torch.SymInt):
                return s.node.shape_env
    return None


def _hint(v: torch.SymInt):
    hint = v.node.hint
    if hint is None:
        hint = _symbol_hint(v.node.shape_env, v.node.expr)
    return hint


def _symbol_hint(shape_env, sym):
    if shape_env is None:
        return None
    values = getattr(shape_env, "backed_var_to_val", None)
    if values is None:
        values = shape_env.var_to_val
    value = values.get(sym)
    return int(value) if value is not None else None


def _static_dims(sizes) -> list[int]:
    """Sizes for an MLIR type: DYNAMIC (`?`) for a symbolic one."""
    return [DYNAMIC if is_symbolic(s) else int(size_expr(s) if size_expr(s) is not None else s) for s in sizes]


def _tensor_type(shape, dtype) -> ir.RankedTensorType:
    return ir.RankedTensorType.get(_static_dims(shape), element_type(dtype))


def _strides_attr(strides) -> ir.ArrayAttr:
    return builders.i64_array(_static_dims(strides))


def _symbolic_contiguous(shape, strides) -> bool:
    """Symbolic strides that are the row-major strides of the (symbolic) shape.

    `coil.strides` writes both s1 and an unrelated s2 as `?`; this says which.
    """
    if not any(is_symbolic(s) for s in strides):
        return False
    expected = 1
    for size, stride in reversed(list(zip(shape, strides))):
        if not (same_size(size, 1) or same_size(stride, expected)):
            return False
        expected = expected * size
    return True


def _layout_attrs(shape, strides) -> dict:
    """`coil.strides` (`?` where symbolic), and `coil.contiguous` where symbolic
    strides are provably the row-major ones, so bufferization may use the
    identity layout."""
    attrs = {"coil.strides": _strides_attr(strides)}
    if _symbolic_contiguous(shape, strides):
        attrs["coil.contiguous"] = ir.UnitAttr.get()
    return attrs


def _location_for(node: torch.fx.Node) -> ir.Location:
    """The node's name, wrapping the user's source line when Dynamo recorded one."""
    child = None
    stack = node.meta.get("stack_trace")
    if stack:
        frames = re.findall(r'File "([^"]+)", line (\d+)', stack)
        if frames:
            filename, line = frames[-1]
            child = ir.Location.file(filename, int(line), 0)
    name = f"{node.name}"
    return ir.Location.name(name, childLoc=child) if child is not None else ir.Location.name(name)


def _op_name(target) -> str:
    if isinstance(target, torch._ops.OpOverload):
        return f"{target._schema.name}.{target._overloadname}".replace("::", ".", 1)
    return getattr(target, "__name__", str(target))


def _kernel_name(target: torch._ops.OpOverload) -> str:
    """`aten::add.Tensor`: the form coil.extern records."""
    return f"{target._schema.name}.{target._overloadname}"


class GraphImporter:
    """Builds `func.func @graph` for one FX graph and concrete input metadata."""

    def __init__(self, gm: torch.fx.GraphModule, inputs: list, device: torch.device | None = None):
        self.gm = gm
        self.inputs = inputs
        self.context = make_context()
        self.env: dict[torch.fx.Node, object] = {}
        self.extern_ops: list[str] = []
        # Input mutations (`copy_(placeholder, value)`): @graph argument -> new value,
        # and the FX nodes that are a mutated input (the copy_ nodes, the placeholder).
        self.mutations: dict[int, TensorValue] = {}
        self.mutated_nodes: dict[torch.fx.Node, int] = {}
        tensors = [x for x in inputs if isinstance(x, torch.Tensor)]
        # A CUDA graph may also take 0-d CPU tensors (as eager allows): the
        # graph's device is the accelerator's when there is one.
        devices = [t.device for t in tensors if t.device.type != "cpu"] or [t.device for t in tensors]
        self.device = device or (devices[0] if devices else torch.device("cpu"))
        # Symbolic sizes (FakeTensors with SymInt sizes, SymInt inputs): metadata
        # stays symbolic and sizes become index values of @graph.
        self.symbolic = any(_has_symbols(x) for x in inputs)
        self.fake_mode = None
        self.shape_env = None
        self.sizes: SizeMaterializer | None = None
        self._symbol_args: dict = {}
        if self.symbolic:
            self.shape_env = next(
                (_shape_env(x) for x in inputs if _shape_env(x) is not None), None
            )
            self.fake_mode = detect_fake_mode(inputs) or FakeTensorMode(shape_env=self.shape_env)

    def run(self) -> ImportedGraph:
        restore_fused_updates(self.gm)
        with self.context, ir.Location.unknown():
            module = ir.Module.create()
            placeholders = [n for n in self.gm.graph.nodes if n.op == "placeholder"]
            if len(placeholders) != len(self.inputs):
                raise LoweringError(f"graph has {len(placeholders)} inputs but {len(self.inputs)} were given")
            input_specs, arg_types, arg_attrs = [], [], []
            # Symbolic graphs: Dynamo's symbol -> @graph index argument, and where the host reads it.
            symbol_args: dict[sympy.Symbol, int] = {}
            symbols: dict[int, tuple] = {}
            index = ir.IndexType.get()
            i64 = ir.IntegerType.get_signless(64)

            def symbol_arg(sym, hint, source):
                symbol_args[sym] = len(arg_types)
                symbols[len(arg_types)] = source
                arg_types.append(index)
                attrs = {"coil.symbol": ir.StringAttr.get(str(sym))}
                if hint is not None:
                    attrs["coil.size_hint"] = ir.IntegerAttr.get(i64, int(hint))
                arg_attrs.append(ir.DictAttr.get(attrs))

            for i, (node, value) in enumerate(zip(placeholders, self.inputs)):
                if isinstance(value, torch.Tensor):
                    if value.dtype not in SUPPORTED_DTYPES:
                        raise LoweringError(f"input of dtype {value.dtype} is not supported", node)
                    input_specs.append(InputSpec("tensor", arg_index=len(arg_types)))
                    arg_types.append(_tensor_type(value.shape, value.dtype))
                    arg_attrs.append(ir.DictAttr.get(_layout_attrs(value.shape, value.stride())))
                elif isinstance(value, torch.SymInt) and isinstance(value.node.expr, sympy.Symbol):
                    if value.node.expr in symbol_args:  # the same symbol twice: a plain value
                        input_specs.append(InputSpec("value", value=value))
                        continue
                    input_specs.append(InputSpec("symbol", arg_index=len(arg_types), value=str(value.node.expr)))
                    symbol_arg(value.node.expr, _hint(value), ("input", i))
                else:
                    input_specs.append(InputSpec("value", value=value))
            # Tensor constants (get_attr) become trailing arguments, bound at call time.
            constant_nodes = []
            for node in self.gm.graph.nodes:
                if node.op == "get_attr" and isinstance(getattr(self.gm, node.target, None), torch.Tensor):
                    value = getattr(self.gm, node.target)
                    if value.dtype not in SUPPORTED_DTYPES:
                        raise LoweringError(f"constant of dtype {value.dtype} is not supported", node)
                    constant_nodes.append((node, value))
                    input_specs.append(InputSpec("constant", arg_index=len(arg_types), value=value))
                    arg_types.append(ir.RankedTensorType.get(list(value.shape), element_type(value.dtype)))
                    arg_attrs.append(ir.DictAttr.get({"coil.strides": builders.i64_array(value.stride())}))
            if self.symbolic:
                # Symbols of input shapes that no placeholder passes: read from a tensor.
                for sym, source in self._shape_symbol_sources(placeholders).items():
                    if sym not in symbol_args:
                        symbol_arg(sym, _symbol_hint(self.shape_env, sym), source)

            with ir.InsertionPoint(module.body):
                fn = func.FuncOp("graph", ir.FunctionType.get(arg_types, []))
                fn.attributes["coil.device"] = ir.StringAttr.get(str(self.device))
                if arg_attrs:
                    fn.arg_attrs = ir.ArrayAttr.get(arg_attrs)
                entry = fn.add_entry_block()
            args = list(entry.arguments)
            self._symbol_args = dict(symbol_args)
            if self.symbolic:
                self.sizes = SizeMaterializer(entry, {sym: args[k] for sym, k in symbol_args.items()})
            for node, value, spec in zip(placeholders, self.inputs, input_specs):
                if spec.kind == "tensor":
                    self.env[node] = TensorValue(args[spec.arg_index], self._meta(value))
                else:
                    self.env[node] = value
            for (node, value), spec in zip(constant_nodes, input_specs[len(placeholders) :]):
                self.env[node] = TensorValue(args[spec.arg_index], self._meta(value))

            with ir.InsertionPoint(entry):
                outputs, results, result_meta = self._import_body()
                func.ReturnOp([r.value for r in results])
            fn.attributes["function_type"] = ir.TypeAttr.get(
                ir.FunctionType.get(arg_types, [r.value.type for r in results])
            )
            if results:
                attrs = [_layout_attrs(m[0], m[1]) for m in result_meta]
                for (arg_index, _), attr in zip(self.mutations.items(), attrs[len(attrs) - len(self.mutations) :]):
                    attr["coil.mutates"] = ir.IntegerAttr.get(ir.IntegerType.get_signless(64), arg_index)
                fn.result_attrs = ir.ArrayAttr.get([ir.DictAttr.get(a) for a in attrs])
        return ImportedGraph(
            module, self.context, input_specs, outputs, self.device, self.extern_ops, result_meta, symbols
        )

    def _shape_symbol_sources(self, placeholders) -> dict:
        """Each free symbol of the tensor inputs' sizes and strides -> the first
        ("size"|"stride", placeholder, dim) that is exactly that symbol."""
        sources, seen = {}, set()
        for i, value in enumerate(self.inputs):
            if not isinstance(value, torch.Tensor):
                continue
            for kind, values in (("size", value.shape), ("stride", value.stride())):
                for d, v in enumerate(values):
                    e = size_expr(v)
                    if e is None:
                        continue
                    seen |= e.free_symbols
                    if isinstance(e, sympy.Symbol) and e not in sources:
                        sources[e] = (kind, i, d)
            e = size_expr(value.storage_offset())
            if e is not None:
                seen |= e.free_symbols
        missing = seen - set(sources)
        bound = {v.node.expr for v in self.inputs if isinstance(v, torch.SymInt)}
        if missing - bound:
            names = ", ".join(sorted(str(s) for s in missing - bound))
            raise LoweringError(f"input sizes use symbols {names} that no input passes as a size")
        return sources

    def _meta(self, x: torch.Tensor) -> torch.Tensor:
        """x's metadata as a meta tensor (fake, keeping symbolic sizes, in symbolic graphs)."""
        if not self.symbolic:
            return meta_like(x)
        if isinstance(x, FakeTensor):
            return x
        with self.fake_mode:
            return torch.empty_strided(tuple(x.shape), tuple(x.stride()), dtype=x.dtype, device=self.device)

    # -- nodes ---------------------------------------------------------------

    def _import_body(self):
        output_node = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder" or node in self.env:
                continue
            if node.op == "output":
                output_node = node
                break
            with _location_for(node):
                self.env[node] = self._import_node(node)
        return self._import_outputs(output_node)

    def _lookup(self, arg):
        if isinstance(arg, torch.fx.Node):
            return self.env[arg]
        if isinstance(arg, (list, tuple)):
            return type(arg)(self._lookup(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self._lookup(v) for k, v in arg.items()}
        return arg

    def _import_node(self, node: torch.fx.Node):
        if node.op == "get_attr":
            attr = getattr(self.gm, node.target)
            raise LoweringError(f"get_attr of {type(attr).__name__} is not supported", node)
        if node.op != "call_function":
            raise LoweringError(f"FX op '{node.op}' is not supported", node)
        args = self._lookup(node.args)
        kwargs = self._lookup(node.kwargs)
        target = node.target
        if target is operator.getitem:
            return args[0][args[1]]
        if target is aten.copy_.default and self._is_input(args[0]):
            return self._mutate_input(node, *args, **kwargs)
        metas_args = _to_meta(args, keep_device=self.symbolic)
        metas_kwargs = _to_meta(kwargs, keep_device=self.symbolic)
        out_meta = self._node_meta(node, target, metas_args, metas_kwargs)
        if not isinstance(target, torch._ops.OpOverload):
            # Python arithmetic on sizes (operator.mul, sym_size, ...): a value.
            if _contains_tensor(out_meta):
                raise LoweringError("a Python function returning tensors is not supported", node)
            return out_meta
        if not _contains_tensor(out_meta):
            return out_meta  # e.g. aten.sym_size.int: a size, known here
        if self.symbolic:
            with self.fake_mode:
                out_meta = _elementwise_layout(target, metas_args, metas_kwargs, out_meta)
        else:
            out_meta = _elementwise_layout(target, metas_args, metas_kwargs, out_meta)
        rule = find_lowering(target)
        name = _op_name(target)
        if rule is not None and name not in config.force_extern and _dtypes_supported(args, out_meta):
            ctx = self._context(node, out_meta)
            try:
                result = rule(ctx, *args, **kwargs)
            except Unsupported:
                result = None
            except LoweringError:
                raise
            except Exception as error:
                raise LoweringError(f"lowering failed: {type(error).__name__}: {error}", node) from error
            if result is not None:
                return _with_meta(result, out_meta)
        return self._extern(node, target, args, kwargs, out_meta)

    def _node_meta(self, node, target, metas_args, metas_kwargs):
        """The node's output metadata: from running its op on meta tensors, or in
        a symbolic graph from the FakeTensors tracing recorded (`meta["val"]`)."""
        if self.symbolic and isinstance(target, torch._ops.OpOverload):
            val = node.meta.get("val")
            if _contains_tensor(val) and not _unbacked(val):
                return val
        try:
            with torch.no_grad():
                if self.symbolic:
                    with self.fake_mode:
                        return target(*metas_args, **metas_kwargs)
                return target(*metas_args, **metas_kwargs)
        except Exception as error:
            raise LoweringError(f"cannot compute the output metadata: {error}", node) from error

    def _context(self, node, out_meta) -> LoweringContext:
        return LoweringContext(node, out_meta, ir.Location.current, self.device, self.sizes, self.fake_mode)

    @staticmethod
    def _is_input(x) -> bool:
        return isinstance(x, TensorValue) and isinstance(x.value, ir.BlockArgument)

    def _mutate_input(self, node, dst: TensorValue, src, non_blocking=False):
        """`dst.copy_(src)` into a graph input, as AOTAutograd leaves input mutations.

        The input's new value becomes an extra result of @graph marked
        `coil.mutates = <argument>`; outlining writes it back into the input's
        storage (or has the kernel computing it store there directly). Later
        nodes that read the input see the new value, as in eager.
        """
        if not isinstance(src, TensorValue) or not _same_shape(src.meta.shape, dst.meta.shape) or src.dtype != dst.dtype:
            # Broadcast or cast to the input's shape and dtype first.
            ctx = self._context(node, self._meta(dst.meta))
            src = LOWERINGS[aten.copy.default](ctx, dst, src)
        new = TensorValue(src.value, self._meta(dst.meta))
        arg_number = dst.value.arg_number
        self.mutations[arg_number] = new
        self.mutated_nodes[node] = arg_number
        for fx_node, value in list(self.env.items()):
            if value is dst:
                self.env[fx_node] = new
                self.mutated_nodes[fx_node] = arg_number
            elif self.mutated_nodes.get(fx_node) == arg_number:
                self.env[fx_node] = new
        return new

    def _extern(self, node, target, args, kwargs, out_meta):
        """A `coil.extern` call of `target` with the node's arguments."""
        inputs: list[ir.Value] = []

        def encode(a):
            if isinstance(a, TensorValue):
                inputs.append(a.value)
                return builders.OperandRef(len(inputs) - 1)
            if isinstance(a, (list, tuple)):
                return [encode(x) for x in a]
            if isinstance(a, torch.fx.immutable_collections.immutable_dict):
                return dict(a)
            if isinstance(a, torch.SymInt) and not is_symbolic(a):
                return int(size_expr(a))
            if isinstance(a, (torch.SymInt, torch.SymFloat, torch.SymBool)):
                raise LoweringError(f"symbolic value {a} is an argument of an ATen call (not supported)", node)
            return a

        encoded_args = encode(list(args))
        encoded_kwargs = {k: encode(v) for k, v in kwargs.items()}
        outs = out_meta if isinstance(out_meta, (list, tuple)) else [out_meta]
        tensor_positions = [i for i, o in enumerate(outs) if isinstance(o, torch.Tensor)]
        for i, o in enumerate(outs):
            if o is not None and not isinstance(o, torch.Tensor):
                raise LoweringError(f"extern output #{i} of type {type(o).__name__} is not supported", node)
            if isinstance(o, torch.Tensor) and o.dtype not in SUPPORTED_DTYPES:
                raise LoweringError(f"extern output of dtype {o.dtype} is not supported", node)
        result_types = [_tensor_type(outs[i].shape, outs[i].dtype) for i in tensor_positions]
        if not result_types:
            raise LoweringError("an op with no tensor result is not supported", node)
        values = builders.extern(_kernel_name(target), inputs, encoded_args, encoded_kwargs, result_types)
        extern_op = (values[0].owner if len(values) == 1 else values[0].owner.operands[0].owner)
        extern_op.attributes["coil.result_strides"] = ir.ArrayAttr.get(
            [_strides_attr(outs[i].stride()) for i in tensor_positions]
        )
        if any(_symbolic_contiguous(outs[i].shape, outs[i].stride()) for i in tensor_positions):
            extern_op.attributes["coil.result_contiguous"] = ir.ArrayAttr.get(
                [ir.BoolAttr.get(_symbolic_contiguous(outs[i].shape, outs[i].stride())) for i in tensor_positions]
            )
        if isinstance(out_meta, (list, tuple)) and (
            tensor_positions != list(range(len(tensor_positions))) or len(tensor_positions) == 1
        ):
            # Some outputs are None (convolution_backward with a False in its
            # output_mask): the host reads result k of the call at position k here.
            extern_op.attributes["coil.result_positions"] = builders.i64_array(tensor_positions)
        name = _op_name(target)
        self.extern_ops.append(name)
        metrics.record_extern(name)
        results = [None] * len(outs)
        for i, v in zip(tensor_positions, values):
            results[i] = TensorValue(v, outs[i])
        if isinstance(out_meta, (list, tuple)):
            return tuple(results)
        return results[0]

    def _import_outputs(self, output_node):
        outputs: list[OutputSpec] = []
        results: list[TensorValue] = []
        result_meta: list[tuple] = []
        (values,) = output_node.args
        single = not isinstance(values, (list, tuple))
        if single:
            values = [values]
        args = list(self.env[n] if isinstance(n, torch.fx.Node) else n for n in values)
        arg_values = {}
        for n, v in zip(values, args):
            if n in self.mutated_nodes:
                # The mutated input itself (eager returns that tensor), new value written back.
                outputs.append(OutputSpec("input", index=self.mutated_nodes[n]))
                continue
            if isinstance(v, TensorValue):
                if isinstance(v.value, ir.BlockArgument):
                    outputs.append(OutputSpec("input", index=v.value.arg_number))
                    continue
                key = v.value
                if key in arg_values:
                    outputs.append(OutputSpec("result", index=arg_values[key]))
                    continue
                arg_values[key] = len(results)
                outputs.append(OutputSpec("result", index=len(results)))
                results.append(v)
                result_meta.append((tuple(v.meta.shape), tuple(v.meta.stride()), v.meta.dtype))
            else:
                if is_symbolic(v):
                    expr = size_expr(v)
                    arg = self._symbol_args.get(expr, -1) if isinstance(expr, sympy.Symbol) else -1
                    outputs.append(OutputSpec("symbol", index=arg, value=v))
                    continue
                outputs.append(OutputSpec("value", value=v))
        # Then the new values of mutated inputs, one result each (after the
        # outputs, so output indices are unaffected), with the input's strides.
        for value in self.mutations.values():
            results.append(value)
            result_meta.append((tuple(value.meta.shape), tuple(value.meta.stride()), value.meta.dtype))
        return outputs, results, result_meta


def _to_meta(x, keep_device: bool = False):
    """Arguments with metas for tensors; devices become "meta" unless the metas
    are FakeTensors of the graph's device (symbolic graphs)."""
    if isinstance(x, TensorValue):
        return x.meta
    if isinstance(x, (list, tuple)):
        return type(x)(_to_meta(a, keep_device) for a in x)
    if isinstance(x, dict):
        return {k: _to_meta(v, keep_device) for k, v in x.items()}
    if isinstance(x, torch.device) and not keep_device:
        return torch.device("meta")
    return x


def _same_shape(a, b) -> bool:
    """Equal shapes, symbolic sizes compared without adding guards."""
    return len(a) == len(b) and all(same_size(x, y) or statically_known_true(x == y) for x, y in zip(a, b))


def _unbacked(val) -> bool:
    """Metadata with data-dependent sizes (symbols no input binds)."""
    return bool(free_unbacked_symbols(val))


# Pointwise ops whose meta kernels build the result in several steps and so lose
# the layout eager's TensorIterator gives it (a transposed operand gives eager a
# transposed result, meta a row-major one).
_LAYOUT_LOSING_META = {
    aten.logical_and.default,
    aten.logical_or.default,
    aten.logical_xor.default,
    aten.div.Tensor_mode,
    aten.div.Scalar_mode,
    aten.floor_divide.default,
    aten.floor_divide.Scalar,
    aten.add.Tensor,  # with alpha
    aten.add.Scalar,
    aten.sub.Tensor,
    aten.sub.Scalar,
}


# Pointwise ops whose eager result is always contiguous (pow(Scalar, Tensor)
# allocates it so), where the meta kernel keeps the operand's layout.
_CONTIGUOUS_RESULT = {aten.pow.Scalar}


def _elementwise_layout(target, args, kwargs, out_meta):
    """The output of an op in `_LAYOUT_LOSING_META` with the strides of a plain
    TensorIterator binary op (`aten.add.Tensor` without alpha) on its operands;
    of an op in `_CONTIGUOUS_RESULT`, contiguous."""
    if not isinstance(out_meta, torch.Tensor) or out_meta.dim() == 0:
        return out_meta
    if target in _CONTIGUOUS_RESULT:
        return out_meta if out_meta.is_contiguous() else torch.empty(out_meta.shape, dtype=out_meta.dtype, device="meta")
    if target not in _LAYOUT_LOSING_META:
        return out_meta
    tensors = [a for a in list(args) + list(kwargs.values()) if isinstance(a, torch.Tensor)]
    if not 1 <= len(tensors) <= 2:
        return out_meta
    strides = aten.add.Tensor(tensors[0], tensors[1] if len(tensors) == 2 else 1).stride()
    if strides == out_meta.stride() or len(strides) != out_meta.dim():
        return out_meta
    return torch.empty_strided(out_meta.shape, strides, dtype=out_meta.dtype, device="meta")


def _contains_tensor(x) -> bool:
    if isinstance(x, torch.Tensor):
        return True
    if isinstance(x, (list, tuple)):
        return any(_contains_tensor(a) for a in x)
    return False


def _dtypes_supported(args, out_meta) -> bool:
    def ok(x):
        if isinstance(x, TensorValue):
            return x.dtype in SUPPORTED_DTYPES
        if isinstance(x, torch.Tensor):
            return x.dtype in SUPPORTED_DTYPES
        if isinstance(x, (list, tuple)):
            return all(ok(a) for a in x)
        return True

    return ok(list(args)) and ok(out_meta)


def _with_meta(result, out_meta):
    """Gives a rule's result the exact metadata (strides) eager produces."""
    if isinstance(result, TensorValue) and isinstance(out_meta, torch.Tensor):
        if not _same_shape(result.meta.shape, out_meta.shape) or result.dtype != out_meta.dtype:
            raise LoweringError(
                f"rule produced {list(result.meta.shape)} {result.dtype}, "
                f"but the op gives {list(out_meta.shape)} {out_meta.dtype}"
            )
        return TensorValue(result.value, out_meta)
    if isinstance(result, (list, tuple)) and isinstance(out_meta, (list, tuple)):
        return type(result)(_with_meta(r, m) if r is not None else None for r, m in zip(result, out_meta))
    return result
