"""HLO text reading (jaxtune/bench/hlo.py): ops named by the code that built them."""

import jax
import jax.numpy as jnp

from jaxtune.bench.hlo import Gemm, fused_dots, gemm_fusions, op_frames, source_label, stack_frames
from jaxtune.models.dropout import dropout_mask


def inner(x):
    return jnp.sort(x, axis=0)  # a sort: XLA fuses nothing into it


def middle(x):
    return inner(x @ x)


def outer(x, key):
    return middle(x) * dropout_mask(key, 0.5, x.shape)


def _module_text():
    return jax.jit(outer).lower(jnp.ones((8, 8)), jax.random.key(0)).compile().as_text()


def test_ops_are_attributed_to_the_function_that_built_them():
    text = _module_text()
    frames, ops = stack_frames(text), op_frames(text)
    labels = {op: source_label(frames, frame) for op, frame in ops.items()}
    (dot,) = [op for op in ops if op.startswith("dot")]
    assert labels[dot] == "test_bench_hlo.py:middle"
    (sort,) = [op for op in ops if op.startswith("sort")]
    assert labels[sort] == "test_bench_hlo.py:inner"
    # The parent chain: inner was called from middle, which outer called.
    frame = frames[ops[sort]]
    callers = []
    while frame.parent in frames and len(callers) < 2:
        frame = frames[frame.parent]
        callers.append(frame.function)
    assert callers == ["middle", "outer"]
    # An op built inside jaxtune is attributed to jaxtune's function, not to its caller.
    assert "models/dropout.py:dropout_mask" in labels.values()


FUSED_DOT = """
%fused_computation (param_0: f32[4,8], param_1: f32[8,32]) -> f32[4,32] {
  %param_0 = f32[4,8]{1,0} parameter(0)
  %param_1 = f32[8,32]{1,0} parameter(1)
  ROOT %dot.18 = f32[4,32]{1,0} dot(%param_0, %param_1), lhs_contracting_dims={1}
}

%fused_computation.2 (param_0.1: f32[4,32]) -> f32[4,32] {
  ROOT %tanh.1 = f32[4,32]{1,0} tanh(%param_0.1)
}

ENTRY %main (x: f32[4,8], w: f32[8,32]) -> f32[4,32] {
  %ynn_fusion.3 = f32[4,32]{1,0} fusion(%x, %w), kind=kCustom, calls=%fused_computation
  ROOT %tanh_fusion = f32[4,32]{1,0} fusion(%ynn_fusion.3), kind=kLoop, calls=%fused_computation.2
}
"""


BATCHED_DOT = (
    """
%fused_computation.7 (param_0.2: f32[3,16,4], param_1.2: f32[3,16,5]) -> f32[3,4,5] {
  %param_0.2 = f32[3,16,4]{2,1,0} parameter(0)
  %param_1.2 = f32[3,16,5]{2,1,0} parameter(1)
"""
    "  ROOT %dot.2 = f32[3,4,5]{2,1,0} dot(%param_0.2, %param_1.2), lhs_batch_dims={0}, "
    "lhs_contracting_dims={1}, rhs_batch_dims={0}, rhs_contracting_dims={1}\n"
    """}

ENTRY %main (a: f32[3,16,4], b: f32[3,16,5]) -> f32[3,4,5] {
  ROOT %ynn_fusion = f32[3,4,5]{2,1,0} fusion(%a, %b), kind=kCustom, calls=%fused_computation.7
}
"""
)


def test_gemm_fusions_without_metadata_are_named_by_their_shapes():
    assert fused_dots(FUSED_DOT) == {"ynn_fusion.3": "f32[4,8] x f32[8,32] -> f32[4,32]"}
    # FLOPs by hand: 2 x output elements x contracted length.
    assert gemm_fusions(FUSED_DOT)["ynn_fusion.3"].flops == 2 * 4 * 32 * 8
    assert gemm_fusions(BATCHED_DOT) == {
        "ynn_fusion": Gemm("f32[3,16,4] x f32[3,16,5] -> f32[3,4,5]", 2 * 3 * 4 * 5 * 16)
    }
