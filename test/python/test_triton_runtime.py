"""The GPU runtime's compile cache, checked on the CPU (Triton compiles for an explicit target).

A second process that compiles the same TTIR for the same target must find
the cubin on disk instead of compiling again.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

triton = pytest.importorskip("triton")

TTIR = Path(__file__).parent / "data" / "add_kernel.ttir"

_COMPILE = textwrap.dedent(
    """
    import sys
    import triton
    from triton import knobs
    from triton.backends.compiler import GPUTarget
    from coil.backends.triton.runtime import compile_ttir

    hits = []
    knobs.compilation.listener = lambda **info: hits.append(info["cache_hit"])
    kernel = compile_ttir(open(sys.argv[1]).read(), GPUTarget("cuda", 90, 32), 4)
    assert kernel.asm["cubin"], "no cubin"
    again = compile_ttir(open(sys.argv[1]).read(), GPUTarget("cuda", 90, 32), 4)
    assert again is kernel, "the in-process cache missed"
    print("cache_hit" if hits == [True] else "compiled" if hits == [False] else f"listener saw {hits}")
    """
)


def _compile_in_new_process(tmp_path) -> str:
    env = dict(os.environ, TRITON_CACHE_DIR=str(tmp_path / "triton"), COIL_CACHE_DIR=str(tmp_path / "coil"))
    done = subprocess.run(
        [sys.executable, "-c", _COMPILE, str(TTIR)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1]


def test_second_process_finds_the_compiled_kernel_on_disk(tmp_path):
    if not hasattr(triton.knobs.compilation, "listener"):
        pytest.skip(f"triton {triton.__version__} has no compilation listener to observe cache hits")
    assert _compile_in_new_process(tmp_path) == "compiled"
    assert _compile_in_new_process(tmp_path) == "cache_hit"
    # The TTIR is stored under a content-addressed name, so Triton's source name is stable.
    assert len(list((tmp_path / "coil" / "ttir").glob("*.ttir"))) == 1


def test_max_autotune_is_inductors_name_for_autotune():
    import coil

    assert coil.config.validate_options({"max_autotune": True}) == {"autotune": True}
    with coil.config.patch(max_autotune=True):
        assert coil.config.autotune is True
    assert coil.config.autotune is False
