"""Multiply-adds of an ONNX graph, counted from the shapes ONNX shape inference gives (:func:`count_macs`).

Needs the ``onnx`` package (the ``train`` extra), imported only when counting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import onnx


@dataclass
class MacCount:
    """Multiply-adds of one run of an ONNX graph at ``batch``: ``total``, per op type ``by_op``, and the nodes of
    counted types whose shapes could not be inferred (``unknown``: their cost is missing from ``total``)."""

    total: int
    by_op: dict[str, int]
    batch: int
    unknown: list[str] = field(default_factory=list)

    @property
    def per_face(self) -> float:
        return self.total / self.batch


COUNTED_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def _static_inputs(model: "onnx.ModelProto", batch: int) -> None:
    """Fixes every symbolic dimension of the graph inputs: the first to ``batch``; others are an error."""
    inits = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        for k, d in enumerate(inp.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if k != 0:
                raise ValueError(
                    f"input {inp.name!r} has a symbolic dimension {k} ({d.dim_param!r}) other than the batch"
                )
            d.ClearField("dim_param")
            d.dim_value = batch


def _shapes(model: "onnx.ModelProto") -> dict[str, tuple[int, ...] | None]:
    from onnx import numpy_helper

    def dims(vi: Any) -> tuple[int, ...] | None:
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            return None
        out = []
        for d in t.shape.dim:
            if not d.HasField("dim_value"):
                return None
            out.append(int(d.dim_value))
        return tuple(out)

    g = model.graph
    shapes: dict[str, tuple[int, ...] | None] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        shapes[vi.name] = dims(vi)
    for init in g.initializer:
        shapes[init.name] = tuple(int(d) for d in init.dims)
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = tuple(numpy_helper.to_array(a.t).shape)
    return shapes


def count_macs(model: "str | Path | onnx.ModelProto", batch: int = 1) -> MacCount:
    """Multiply-adds of one run at ``batch`` (the graph's symbolic batch dimension fixed to it), counted over
    Conv, ConvTranspose, MatMul and Gemm nodes from the shapes ONNX shape inference gives (bias additions,
    activations, normalisations and resampling are not counted: they are a few percent of a conv net).

    Conv: output elements x input channels per group x kernel area. ConvTranspose: input elements x output
    channels per group x kernel area. MatMul: output elements x the shared dimension. Gemm: M x N x K.
    Needs the ``onnx`` package (the ``train`` extra)."""
    import onnx
    from onnx import shape_inference

    proto = (
        onnx.load(str(model))
        if isinstance(model, (str, Path))
        else onnx.ModelProto.FromString(model.SerializeToString())
    )
    _static_inputs(proto, batch)
    proto = shape_inference.infer_shapes(proto, strict_mode=False, data_prop=True)
    shapes = _shapes(proto)
    by_op: dict[str, int] = {}
    unknown: list[str] = []
    for node in proto.graph.node:
        if node.op_type not in COUNTED_OPS:
            continue
        ins = [shapes.get(n) for n in node.input]
        outs = [shapes.get(n) for n in node.output]
        macs = _node_macs(node, ins, outs)
        if macs is None:
            unknown.append(node.name or f"{node.op_type}:{node.output[0]}")
            continue
        by_op[node.op_type] = by_op.get(node.op_type, 0) + macs
    return MacCount(sum(by_op.values()), by_op, batch, unknown)


def _node_macs(node: Any, ins: list, outs: list) -> int | None:
    op = node.op_type
    if op == "Conv":
        w, y = (ins[1] if len(ins) > 1 else None), outs[0]
        if w is None or y is None:
            return None
        return int(np.prod(y)) * int(np.prod(w[1:]))
    if op == "ConvTranspose":
        x, w = ins[0], (ins[1] if len(ins) > 1 else None)
        if x is None or w is None:
            return None
        return int(np.prod(x)) * int(np.prod(w[1:]))
    if op == "MatMul":
        a, y = ins[0], outs[0]
        if a is None or y is None:
            return None
        return int(np.prod(y)) * int(a[-1])
    if op == "Gemm":
        a, y = ins[0], outs[0]
        if a is None or y is None:
            return None
        trans_a = next((at.i for at in node.attribute if at.name == "transA"), 0)
        k = a[0] if trans_a else a[1]
        return int(np.prod(y)) * int(k)
    return None
