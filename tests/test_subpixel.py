"""The sub-pixel rewrite made before int8 quantisation (issue 29): a ConvTranspose becomes ordinary convolutions and
a DepthToSpace that compute the same (ONNX Runtime has no int8 ConvTranspose on the CPU), a BatchNormalization
behind it is folded in, and what the rewrite cannot express is left as it was."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")


def _graph(cin: int, cout: int, k: int, s: int, pads: list[int], bias: bool, bn: bool, seed: int, **attrs):
    """x (1, cin, 7, 9) -> ConvTranspose [-> BatchNormalization] -> Relu -> y, random weights."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    inits = [numpy_helper.from_array(rng.normal(size=(cin, cout, k, k)).astype(np.float32), "w")]
    ins = ["x", "w"]
    if bias:
        inits.append(numpy_helper.from_array(rng.normal(size=cout).astype(np.float32), "b"))
        ins.append("b")
    nodes = [helper.make_node("ConvTranspose", ins, ["t"], kernel_shape=[k, k], strides=[s, s], pads=pads, **attrs)]
    last = "t"
    if bn:
        for name, lo, hi in (("g", 0.5, 2), ("beta", -1, 1), ("mean", -1, 1), ("var", 0.1, 3)):
            inits.append(numpy_helper.from_array(rng.uniform(lo, hi, cout).astype(np.float32), name))
        nodes.append(helper.make_node("BatchNormalization", ["t", "g", "beta", "mean", "var"], ["n"], epsilon=1e-3))
        last = "n"
    nodes.append(helper.make_node("Relu", [last], ["y"]))
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, 7, 9])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", "c", "h", "w"])],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


@pytest.mark.parametrize(
    ("k", "s", "pads", "bias", "bn"),
    [
        (4, 2, [1, 1, 1, 1], True, False),  # the shipped generators' upsampling
        (4, 2, [1, 1, 1, 1], False, True),  # the context encoder's, with its batch norm
        (2, 2, [0, 0, 0, 0], True, True),
        (6, 2, [2, 2, 2, 2], True, False),
        (3, 3, [0, 0, 0, 0], False, False),
        (5, 2, [1, 2, 2, 1], True, False),  # uneven pads
        (5, 3, [1, 1, 1, 1], True, True),
    ],
)
@pytest.mark.parametrize("cout", [5, 16])
def test_the_rewrite_computes_what_the_conv_transpose_did(k, s, pads, bias, bn, cout) -> None:
    from unmask.train.subpixel import ONE_CONV_BELOW, subpixel

    model = _graph(3, cout, k, s, pads, bias, bn, seed=k + s)
    x = np.random.default_rng(0).normal(size=(1, 3, 7, 9)).astype(np.float32)
    want = _run(model, x)
    assert subpixel(model) == 1
    onnx.checker.check_model(model)
    ops = [n.op_type for n in model.graph.node]
    assert "ConvTranspose" not in ops and "BatchNormalization" not in ops
    # one convolution per output phase, or one for all of them where the layer has few output channels
    assert ops.count("Conv") == (1 if cout < ONE_CONV_BELOW else s * s)
    names = {i.name for i in model.graph.initializer}
    assert "w" not in names, "the transposed weights are dropped"
    got = _run(model, x)
    assert got.shape == want.shape == (1, cout, 7 * s, 9 * s)
    np.testing.assert_allclose(got, want, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize(
    "attrs",
    [{"output_padding": [1, 1]}, {"dilations": [2, 2]}],
)
def test_what_the_rewrite_cannot_express_is_left_alone(attrs) -> None:
    from unmask.train.subpixel import subpixel

    model = _graph(3, 5, 4, 2, [1, 1, 1, 1], True, True, seed=1, **attrs)
    before = model.SerializeToString()
    assert subpixel(model) == 0
    assert model.SerializeToString() == before
    odd = _graph(3, 5, 3, 2, [1, 1, 1, 1], True, False, seed=2)  # output 2 * 7 - 1 rows: not a whole phase grid
    assert subpixel(odd) == 0 and [n.op_type for n in odd.graph.node] == ["ConvTranspose", "Relu"]
