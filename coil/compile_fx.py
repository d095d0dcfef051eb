"""Compiling one ATen FX graph: the pipeline from import to a callable.

Inductor's `compile_fx_inner` for coil. The stages, each an MLIR pass or a
step that reads MLIR:

  import (frontend)      FX graph -> coil dialect, func @graph over tensors
  simplify               coil-fold-views, canonicalize, cse
  outline                coil-outline-kernels: host function + kernel functions
  kernels (backends)     CPU: coil.loop_nest -> scf -> LLVM, JIT-compiled;
                         CUDA: coil.loop_nest -> TTIR -> triton.compile
  host (backends)        host function -> Python source

A graph whose sizes are symbolic (`dynamic=True`, or a dimension Dynamo
marked dynamic) is compiled once: Dynamo's symbols become `index` arguments
of @graph, kernels take sizes as arguments, and the host program reads the
symbols from its inputs, so one compiled program serves every size that
passes Dynamo's guards. Only if coil cannot keep some size symbolic does the
graph fall back to compiling per concrete size signature at call time (one
warning, counted as `specialized_graphs`).

Any failure falls back to running the graph eagerly, with one warning naming
the FX node and op (`coil.config.strict` raises instead).
"""

from __future__ import annotations

import itertools
import os
import time
import warnings
from dataclasses import dataclass, field

import torch

from coil import config, metrics
from coil.errors import CompilationError, LoweringError

_graph_ids = itertools.count()

# Graph-level simplification (and vertical fusion), then outlining into a host
# function and kernels (and kernel fusion).
SIMPLIFY_PIPELINE = "builtin.module(coil-fold-views, canonicalize, cse)"
FUSED_SIMPLIFY_PIPELINE = "builtin.module(coil-fold-views, canonicalize, cse, coil-inline-producers, canonicalize, cse)"
FUSED_OUTLINE_PIPELINE = "builtin.module(coil-outline-kernels, coil-fuse-kernels)"
# Memory planning, the verifier that no two live buffers share storage, then kernel arguments (merge, noalias).
PLAN_PIPELINE = "builtin.module(coil-plan-memory, coil-verify-memory, coil-kernel-args)"
# CUDA: adjacent independent pointwise launches as one (combo) launch.
COMBINE_PIPELINE = "builtin.module(coil-combine-kernels)"


def outline_pipeline(device: torch.device) -> str:
    """Outlining (and kernel fusion); on CUDA first coil-split-reductions, which
    turns few output points over a long range into partial and final
    reductions sized for the device's multiprocessors."""
    passes = ["coil-outline-kernels", "coil-fuse-kernels"] if config.fusion else ["coil-outline-kernels"]
    if device.type == "cuda":
        sms = torch.cuda.get_device_properties(device).multi_processor_count
        passes.insert(0, f"coil-split-reductions{{num-sms={sms}}}")
    return f"builtin.module({', '.join(passes)})"


def combine_pipeline(device: torch.device) -> str | None:
    """After memory planning, on CUDA: coil-combine-kernels, which groups adjacent
    independent pointwise launches into one (`config.combo_kernels`); None elsewhere."""
    if device.type == "cuda" and config.fusion and config.combo_kernels:
        return COMBINE_PIPELINE
    return None


@dataclass
class CompiledGraph:
    """A compiled graph: its host source, kernels and the IR of each stage."""

    call: object
    source: str
    kernels: dict
    stages: dict[str, str] = field(default_factory=dict)
    extern_ops: list[str] = field(default_factory=list)

    def __call__(self, args):
        return self.call(args)


class _DebugWriter:
    """Writes each stage of one graph to COIL_DEBUG_DIR/graph_<id>/."""

    def __init__(self, graph_id: int):
        self.directory = None
        if config.debug_dir:
            self.directory = os.path.join(config.debug_dir, f"graph_{graph_id}")
            os.makedirs(self.directory, exist_ok=True)

    def write(self, name: str, text: str) -> None:
        if self.directory:
            with open(os.path.join(self.directory, name), "w") as f:
                f.write(text)


def _verified_text(module) -> str:
    """The module's text after a pass pipeline, which verified it after every pass:
    printing with `str` would verify it once more (every launch looks up its kernel)."""
    return module.operation.get_asm(assume_verified=True)


def _run_pipeline(module, context, pipeline: str, stage: str) -> None:
    from coil.mlir import ir
    from coil.passes.registry import build_pass_manager

    with context:
        pm = build_pass_manager(pipeline)
        pm.enable_verifier(True)
        try:
            pm.run(module.operation)
        except ir.MLIRError as error:
            raise CompilationError(f"{stage} failed: {error}") from error


def compile_static(
    gm: torch.fx.GraphModule, inputs: list, donated: frozenset[int] = frozenset(), inference: bool = False
) -> CompiledGraph:
    """Compiles `gm` for inputs with exactly these sizes and strides (meta or real tensors, ints).

    `donated`: placeholder indices of inputs only this graph holds (a backward's
    saved activations), which its memory plan may free, overwrite and reuse.
    `inference`: no backward keeps the outputs; on the CPU they may then come
    from the graph's output pool (`config.cpu_output_pool`).
    """
    from coil.backends.host_codegen import HostCodegen, OutputBinding, build_host_program
    from coil.backends.llvm.jit import compile_cpu_kernels
    from coil.frontend.importer import GraphImporter

    graph_id = next(_graph_ids)
    debug = _DebugWriter(graph_id)
    debug.write("fx_graph.py", gm.code)
    stages = {}

    imported = GraphImporter(gm, inputs).run()
    if imported.device.type not in ("cpu", "cuda"):
        raise CompilationError(f"coil does not generate code for device {imported.device}")
    if imported.device.type == "cuda":
        from coil.backends.triton.compile_pool import warm_compile_pool

        warm_compile_pool()  # workers start while the passes run
    module, context = imported.module, imported.context
    # Printing verifies the coil ops, whose verifiers need the context.
    with context:
        stages["import"] = str(module)
        debug.write("01_import.mlir", stages["import"])
        _run_pipeline(module, context, FUSED_SIMPLIFY_PIPELINE if config.fusion else SIMPLIFY_PIPELINE, "simplify")
        stages["simplify"] = _verified_text(module)
        debug.write("02_simplify.mlir", stages["simplify"])
        _run_pipeline(module, context, outline_pipeline(imported.device), "outline")
        stages["outline"] = _verified_text(module)
        debug.write("03_outline.mlir", stages["outline"])
        if config.memory_planning:
            _mark_donated(module, imported, donated)
            _run_pipeline(module, context, PLAN_PIPELINE, "plan memory")
            stages["plan"] = _verified_text(module)
            debug.write("04_plan_memory.mlir", stages["plan"])
        combine = combine_pipeline(imported.device)
        if combine:
            _run_pipeline(module, context, combine, "combine kernels")
            stages["combine"] = _verified_text(module)
            debug.write("05_combine.mlir", stages["combine"])

    with context:
        if imported.device.type == "cuda":
            from coil.backends.triton.runtime import compile_gpu_kernels

            kernels = compile_gpu_kernels(module, imported.device, autotune=config.autotune, write_debug=debug.write)
        else:
            kernels = compile_cpu_kernels(module, threads=config.threads)
        host = next(op for op in module.body.operations if "coil.host" in op.attributes)
        if "coil.planned_peak_bytes" in host.attributes:
            metrics.record_memory_plan(
                host.attributes["coil.planned_peak_bytes"].value, host.attributes["coil.unplanned_bytes"].value
            )
        tensor_args = {spec.arg_index: i for i, spec in enumerate(imported.inputs) if spec.kind in ("tensor", "constant")}
        graph_constants = [spec.value for spec in imported.inputs if spec.kind == "constant"]
        outputs = []
        constants = []
        symbol_outputs = []  # (output position, SymInt) computed from the call's inputs
        for position, out in enumerate(imported.outputs):
            if out.kind == "symbol":
                symbol_outputs.append((position, out.value))
                outputs.append(OutputBinding("value", value=None))
                constants.append(None)
                continue
            if out.kind == "result":
                outputs.append(OutputBinding("result", out.index))
            elif out.kind == "input":
                placeholder = tensor_args[out.index]
                outputs.append(OutputBinding("input", placeholder))
            else:
                outputs.append(OutputBinding("value", value=out.value))
            constants.append(out.value)
        symbol_args = getattr(imported, "symbols", None)
        codegen = HostCodegen(
            host,
            str(imported.device),
            len(imported.inputs),
            tensor_args,
            outputs,
            symbol_args=symbol_args or None,
            pool_outputs=inference and config.cpu_output_pool,
        )
        source = codegen.generate()
    source = f"# coil host program for graph {graph_id}\n" + source
    debug.write("host.py", source)
    filename = f"<coil graph {graph_id}>"
    call = build_host_program(source, kernels, filename, constants, pool_slots=len(codegen.pool_slots))
    device = imported.device
    cpu_scalars = [
        i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.device.type == "cpu" and x.dim() == 0
    ]
    if device.type != "cpu" and cpu_scalars:
        # Eager lets a 0-d CPU tensor join a CUDA computation; kernels read
        # device memory, so such inputs are copied over first.
        program = call

        def call(args):
            for i in cpu_scalars:
                args[i] = args[i].to(device, non_blocking=True)
            return program(args)

    if symbol_outputs:
        call = _with_symbol_outputs(call, imported, symbol_outputs)
    if device.type != "cpu":
        graph_constants = [c.to(device) if isinstance(c, torch.Tensor) and c.device != device else c for c in graph_constants]
    if graph_constants:
        program = call

        def call(args):
            args.extend(graph_constants)
            return program(args)

    metrics.increment("graphs")
    metrics.increment("kernels", len(kernels))
    return CompiledGraph(call, source, kernels, stages, imported.extern_ops)


def _mark_donated(module, imported, donated: frozenset[int]) -> None:
    """`coil.donated` on the host arguments of the donated placeholders."""
    from coil.mlir import ir

    arguments = {spec.arg_index for i, spec in enumerate(imported.inputs) if spec.kind == "tensor" and i in donated}
    if not arguments:
        return
    host = next(op for op in module.body.operations if "coil.host" in op.attributes)
    count = len(host.regions[0].blocks[0].arguments)
    old = list(host.attributes["arg_attrs"]) if "arg_attrs" in host.attributes else [ir.DictAttr.get({})] * count
    attrs = []
    for k, entry in enumerate(old):
        entry = ir.DictAttr(entry)
        if k in arguments:
            entry = ir.DictAttr.get({**{a.name: a.attr for a in entry}, "coil.donated": ir.UnitAttr.get()})
        attrs.append(entry)
    host.attributes["arg_attrs"] = ir.ArrayAttr.get(attrs)


def _donated_inputs() -> frozenset[int]:
    """AOTAutograd's donated buffers of the backward being compiled (placeholder indices)."""
    if not torch._functorch.config.donated_buffer:
        return frozenset()
    context = torch._guards.TracingContext.try_get()
    metadata = getattr(context, "fw_metadata", None) if context is not None else None
    return frozenset(getattr(metadata, "bw_donated_idxs", None) or ())


def _with_symbol_outputs(program, imported, symbol_outputs):
    """Sizes a forward graph returns for the backward (AOTAutograd saves them):
    read from this call's inputs, where the host program reads its symbols,
    and evaluated for expressions of several symbols."""
    graph = next(op for op in imported.module.body.operations if "coil.host" in op.attributes)
    names = {}
    for arg_index, attrs in enumerate(graph.arg_attrs):
        if "coil.symbol" in attrs:
            names[arg_index] = attrs["coil.symbol"].value
    readers = [(names[arg_index], source) for arg_index, source in imported.symbols.items()]

    def read(args, source):
        kind, placeholder = source[0], source[1]
        if kind == "input":
            return int(args[placeholder])
        tensor = args[placeholder]
        return int(tensor.size(source[2]) if kind == "size" else tensor.stride(source[2]))

    def call(args):
        env = {name: read(args, source) for name, source in readers}
        result = program(args)
        for position, value in symbol_outputs:
            expr = value.node.expr
            result[position] = int(expr.xreplace({s: env[s.name] for s in expr.free_symbols}))
        return result

    return call


def _is_symbolic(x) -> bool:
    if isinstance(x, (torch.SymInt, torch.SymFloat, torch.SymBool)):
        return True
    if isinstance(x, torch.Tensor):
        return any(isinstance(s, torch.SymInt) for s in (*x.shape, *x.stride())) or isinstance(
            x.storage_offset(), torch.SymInt
        )
    return False


def _failure_op(error: BaseException) -> str:
    if isinstance(error, LoweringError) and error.op_name:
        return error.op_name
    return type(error).__name__


def _eager(gm: torch.fx.GraphModule):
    def run(args):
        result = gm(*args)
        args.clear()
        return result

    run._boxed_call = True
    return run


def _report_failure(gm: torch.fx.GraphModule, error: BaseException):
    """Strict mode raises; otherwise one warning, a metric, and eager execution."""
    if config.strict:
        raise error
    op = _failure_op(error)
    metrics.record_fallback(op)
    warnings.warn(f"coil: could not compile a graph ({error}); running it eagerly", stacklevel=2)
    return _eager(gm)


class SpecializingGraph:
    """A graph with symbolic sizes: compiled per concrete size signature at call time."""

    def __init__(self, gm: torch.fx.GraphModule, settings: dict):
        self.gm = gm
        self.settings = settings
        self.compiled: dict[tuple, object] = {}

    @staticmethod
    def _key(args) -> tuple:
        key = []
        for a in args:
            if isinstance(a, torch.Tensor):
                key.append((tuple(a.shape), tuple(a.stride()), a.dtype, a.device))
            else:
                key.append(a)
        return tuple(key)

    def __call__(self, args):
        key = self._key(args)
        program = self.compiled.get(key)
        if program is None:
            with config.patch(**self.settings):
                try:
                    # No output pool: each of an unbounded number of sizes would keep its own.
                    program = compile_static(self.gm, list(args))
                except Exception as error:  # noqa: BLE001 - the failure policy
                    program = _report_failure(self.gm, error)
            self.compiled[key] = program
        return program(args)


SpecializingGraph._boxed_call = True


def compile_fx(
    gm: torch.fx.GraphModule,
    example_inputs: list,
    settings: dict | None = None,
    backward: bool = False,
    inference: bool = False,
):
    """The AOTAutograd forward, backward (`backward`) and inference (`inference`) compiler: a boxed callable for `gm`."""
    settings = settings or {}
    with config.patch(**settings):
        symbolic = any(_is_symbolic(x) for x in example_inputs)
        try:
            started = time.perf_counter()
            donated = _donated_inputs() if backward else frozenset()
            compiled = compile_static(gm, list(example_inputs), donated, inference=inference)
            metrics.increment("compile_time_us", int((time.perf_counter() - started) * 1e6))
        except Exception as error:  # noqa: BLE001 - the failure policy
            if not symbolic or config.strict:
                return _report_failure(gm, error)
            # Sizes coil could not keep symbolic: still compiled, once per size.
            metrics.increment("specialized_graphs")
            warnings.warn(
                f"coil: could not compile a graph with symbolic sizes ({error}); "
                "compiling it for each concrete size instead",
                stacklevel=2,
            )
            specializing = SpecializingGraph(gm, settings)

            def run(args):
                return specializing(args)

            run._boxed_call = True
            return run

    def run(args):
        return compiled(args)

    run._boxed_call = True
    run.compiled_graph = compiled
    return run
