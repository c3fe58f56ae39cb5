"""Small unmask ONNX generators built by the tests themselves (no torch needed): a fixed box blur of the
input image, so restored holes are predictable (the hole's grey fill is smeared with its surroundings)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from unmask.spec import META_KEY, ModelMeta


def make_model(
    path: Path,
    size: int = 64,
    region: str = "eyes",
    name: str | None = None,
    blur: int = 9,
    hole_fill: str = "zero",
    meta: dict | None = None,
) -> Path:
    """Writes an ONNX file taking (image Nx3xSxS, mask Nx1xSxS) in [-1, 1] and returning a blurred image."""
    k = np.full((3, 1, blur, blur), 1.0 / blur**2, np.float32)
    nodes = [
        helper.make_node("Conv", ["image", "k"], ["blurred"], group=3, pads=[blur // 2] * 4),
        helper.make_node("Mul", ["mask", "zero"], ["m0"]),
        helper.make_node("Add", ["blurred", "m0"], ["output"]),
    ]
    graph = helper.make_graph(
        nodes,
        "blur",
        [
            helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", 3, size, size]),
            helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["N", 1, size, size]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["N", 3, size, size])],
        [numpy_helper.from_array(k, "k"), numpy_helper.from_array(np.zeros((1,), np.float32), "zero")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    m = ModelMeta(
        arch="test-blur",
        region=region,
        size=size,
        value_range=(-1.0, 1.0),
        mask_convention="1=hole",
        hole_fill=hole_fill,
        inputs=("image", "mask"),
        name=name or path.stem,
        version="test",
    )
    raw = m.to_json() if meta is None else __import__("json").dumps(meta)
    helper.set_model_props(model, {META_KEY: raw})
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path
