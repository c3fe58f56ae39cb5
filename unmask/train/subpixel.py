"""Transposed convolutions -> ordinary ones (sub-pixel convolution), an exact rewrite of an ONNX graph made before
int8 quantisation (:mod:`unmask.train.quantize`).

ONNX Runtime has no int8 kernel for ``ConvTranspose`` on the CPU: in a QDQ graph it stays float32 between a
DequantizeLinear and a QuantizeLinear, and in dmfn-eyes-int8 its two upsampling layers took 37% of the int8 time
(51 of 137 ms a batch-2 call, ONNX Runtime's profiler; issue 29). A ``ConvTranspose`` with stride ``s`` whose output
is exactly ``s`` times its input (``kernel - pad_begin - pad_end == s`` on each axis) computes, for each of the
``s x s`` output phases, an ordinary convolution of its input with the kernel taps that phase reads (a 4x4 kernel
of stride 2: four 2x2 convolutions, the same multiply-adds as the ``ConvTranspose``); :func:`subpixel` replaces it by
those ``Conv`` nodes, a ``Concat`` of their outputs (phase-major) and a ``DepthToSpace`` (``DCR``) that interleaves
them. The ``Conv`` nodes quantise to ``QLinearConv``. Same results to float rounding (1e-6 on dmfn-eyes). One 3x3
``Conv`` with all phases' taps (2.25x the multiply-adds, zeros included) measured 8% slower in the int8 dmfn-eyes. A ``BatchNormalization`` that is the only reader of a rewritten layer is folded
into its weights first (one float round trip less in the int8 graph).

Tensors are ONNX's NCHW; ``ConvTranspose`` weights are ``(C_in, C_out, kH, kW)``, ``Conv`` weights
``(C_out, C_in, kH, kW)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

CONV_TRANSPOSE = "ConvTranspose"

ONE_CONV_BELOW = 16
"""A layer with fewer output channels than this becomes one ``Conv`` for all its phases (each phase's taps in one
kernel spanning all their input offsets, zeros elsewhere; no ``Concat``) rather than one per phase: ONNX Runtime's
int8 convolution is slow with few output channels (context-encoder's last layer, 3 channels: four 2x2 convolutions
took 1.05 ms a batch-2 call, the float ConvTranspose 0.59)."""


def _attrs(node: Any) -> dict[str, Any]:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _taps(kernel: int, stride: int, pad: int) -> list[dict[int, int]] | None:
    """Per output phase ``a`` (0..stride-1) along one axis: {input offset: kernel tap}, or None where a phase's
    offsets do not fit a padded convolution (no tap, or not covering offset 0). Output ``o = stride * m + a`` reads
    input ``m + d`` through tap ``k`` where ``o + pad = stride * (m + d) + k``."""
    phases = [{(a + pad - k) // stride: k for k in range(kernel) if (a + pad - k) % stride == 0} for a in range(stride)]
    return None if any(not p or min(p) > 0 or max(p) < 0 for p in phases) else phases


def _phase_convs(w: np.ndarray, stride: int, pads: list[int]) -> list[tuple[np.ndarray, list[int]]] | None:
    """``ConvTranspose`` weights ``w`` (C_in, C_out, kH, kW) -> per output phase, row-major ((0, 0), (0, 1), ...):
    (``Conv`` weights (C_out, C_in, KH, KW), the ``Conv``'s pads), or None where the rewrite does not fit."""
    ph, pw = _taps(w.shape[2], stride, pads[0]), _taps(w.shape[3], stride, pads[1])
    if ph is None or pw is None:
        return None
    out = []
    for rows in ph:
        for cols in pw:
            cw = np.zeros((w.shape[1], w.shape[0], len(rows), len(cols)), np.float32)
            for dy, ky in rows.items():
                for dx, kx in cols.items():
                    cw[:, :, dy - min(rows), dx - min(cols)] = w[:, :, ky, kx].T
            out.append((cw, [-min(rows), -min(cols), max(rows), max(cols)]))
    return out


def _one_conv(phases: list[tuple[np.ndarray, list[int]]]) -> tuple[np.ndarray, list[int]]:
    """The phases' convolutions as one: every phase's taps in one kernel spanning all their input offsets (zeros
    elsewhere), the phases' output channels one after another."""
    lo_h, lo_w = min(-p[0] for _, p in phases), min(-p[1] for _, p in phases)
    hi_h, hi_w = max(p[2] for _, p in phases), max(p[3] for _, p in phases)
    cout, cin = phases[0][0].shape[:2]
    out = np.zeros((len(phases), cout, cin, hi_h - lo_h + 1, hi_w - lo_w + 1), np.float32)
    for i, (cw, p) in enumerate(phases):
        y, x = -p[0] - lo_h, -p[1] - lo_w
        out[i, :, :, y : y + cw.shape[2], x : x + cw.shape[3]] = cw
    return out.reshape(len(phases) * cout, cin, *out.shape[-2:]), [-lo_h, -lo_w, hi_h, hi_w]


def _fits(node: Any, w: np.ndarray) -> int | None:
    """The stride of a ``ConvTranspose`` this rewrite can replace, else None."""
    at = _attrs(node)
    if w.ndim != 4 or at.get("group", 1) != 1 or at.get("output_shape") or at.get("auto_pad", b"NOTSET") != b"NOTSET":
        return None
    strides, pads = at.get("strides", [1, 1]), at.get("pads", [0, 0, 0, 0])
    if any(d != 1 for d in at.get("dilations", [1, 1])) or any(at.get("output_padding", [0, 0])):
        return None
    kernel = at.get("kernel_shape", list(w.shape[2:]))
    s = strides[0]
    if s < 2 or strides[1] != s or list(kernel) != list(w.shape[2:]):
        return None
    if len(pads) != 4 or any(kernel[i] - pads[i] - pads[i + 2] != s for i in (0, 1)):
        return None
    return s


def _batchnorm_after(graph: Any, node: Any, arrays: dict[str, np.ndarray]) -> tuple[Any, np.ndarray, np.ndarray]:
    """(the inference ``BatchNormalization`` that alone reads ``node``'s output, its scale, its shift) per channel,
    or (None, 1, 0)."""
    readers = [n for n in graph.node if node.output[0] in n.input]
    outputs = {o.name for o in graph.output}
    none = (None, np.float64(1.0), np.float64(0.0))
    if len(readers) != 1 or readers[0].op_type != "BatchNormalization" or node.output[0] in outputs:
        return none  # type: ignore[return-value]
    bn = readers[0]
    if _attrs(bn).get("training_mode", 0) or len(bn.output) != 1 or not all(i in arrays for i in bn.input[1:5]):
        return none  # type: ignore[return-value]
    gamma, beta, mean, var = (arrays[i].astype(np.float64) for i in bn.input[1:5])
    scale = gamma / np.sqrt(var + _attrs(bn).get("epsilon", 1e-5))
    return bn, scale, beta - mean * scale


def subpixel(model: Any) -> int:
    """Rewrites, in place, every ``ConvTranspose`` of ``model`` (an ``onnx.ModelProto``) that has constant weights
    and fits (see the module's docstring) into ``Conv`` + ``DepthToSpace``; returns how many were rewritten."""
    from onnx import helper, numpy_helper

    graph = model.graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    nodes, dropped, done = [], set(), 0
    for node in list(graph.node):
        if tuple(node.output) in dropped:
            continue
        w = arrays.get(node.input[1]) if node.op_type == CONV_TRANSPOSE and len(node.input) > 1 else None
        s = None if w is None else _fits(node, w)
        bias = node.input[2] if len(node.input) > 2 else ""
        pads = _attrs(node).get("pads", [0, 0, 0, 0])
        made = None if s is None or (bias and bias not in arrays) else _phase_convs(w, s, pads)  # type: ignore[arg-type]
        if s is None or made is None:
            nodes.append(node)
            continue
        bn, scale, shift = _batchnorm_after(graph, node, arrays)
        b = arrays[bias].astype(np.float64) if bias else np.zeros(made[0][0].shape[0])
        b, scale = (b * scale + shift).astype(np.float32), scale * np.ones_like(b)
        out = node.output[0] if bn is None else bn.output[0]
        if bn is not None:
            dropped.add(tuple(bn.output))
        base = node.name or node.output[0]
        made = [((cw * scale[:, None, None, None]).astype(np.float32), cpads) for cw, cpads in made]
        if b.size < ONE_CONV_BELOW:
            made, b = [_one_conv(made)], np.tile(b, s * s)
        phases = []
        for i, (cw, cpads) in enumerate(made):
            wn, bname, o = f"{base}/subpixel{i}_weight", f"{base}/subpixel{i}_bias", f"{base}/subpixel{i}"
            graph.initializer.extend([numpy_helper.from_array(cw, wn), numpy_helper.from_array(b, bname)])
            nodes.append(helper.make_node("Conv", [node.input[0], wn, bname], [o], name=f"{o}/conv",
                                          kernel_shape=list(cw.shape[2:]), pads=cpads, strides=[1, 1]))  # fmt: skip
            phases.append(o)
        if len(phases) > 1:
            nodes.append(helper.make_node("Concat", phases, [f"{base}/subpixel"], name=f"{base}/subpixel_concat",
                                          axis=1))  # fmt: skip
        nodes.append(helper.make_node("DepthToSpace", [f"{base}/subpixel" if len(phases) > 1 else phases[0]], [out],
                                      name=f"{base}/subpixel_d2s", blocksize=s, mode="DCR"))  # fmt: skip
        done += 1
    del graph.node[:]
    graph.node.extend(nodes)
    used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
    keep = [i for i in graph.initializer if i.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return done
