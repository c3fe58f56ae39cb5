"""Warm-starting a generator from an exported ONNX model (``unmask train --init models/NAME.onnx``).

An exported generator keeps its weights as ONNX initializers named after the PyTorch parameters (the exporter
keeps the names unless it folds a layer into another, as it folds batch normalisation into the convolution
before it). When every generator tensor is found by name and shape, the weights are copied; otherwise the model
cannot be warm-started from its ONNX file and :class:`OnnxInitError` names what is missing (start from a
checkpoint instead). The discriminators start fresh: they are never exported.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from unmask.spec import META_KEY
from unmask.errors import UsageError


class OnnxInitError(UsageError):
    """An ONNX file whose weights cannot initialise the generator; the message names the file and why."""


def onnx_meta(path: str | Path) -> dict[str, Any]:
    """The unmask metadata (JSON object) of an exported model."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props}
    if META_KEY not in props:
        raise OnnxInitError(f"{path}: not an unmask model (no '{META_KEY}' metadata)")
    return json.loads(props[META_KEY])


def load_onnx_weights(G: torch.nn.Module, path: str | Path) -> int:
    """Copies the initializers of the ONNX file at ``path`` into ``G``'s state (by name and shape). Returns the
    number of tensors copied. Raises :class:`OnnxInitError` when any tensor of ``G`` is not found."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    inits = {i.name: i for i in model.graph.initializer}
    state = G.state_dict()
    missing = []
    new = {}
    for key, value in state.items():
        if key.endswith("num_batches_tracked"):
            new[key] = value
            continue
        init = inits.get(key)
        if init is None:
            missing.append(key)
            continue
        arr = torch.from_numpy(numpy_helper.to_array(init).copy())
        if tuple(arr.shape) != tuple(value.shape):
            raise OnnxInitError(f"{path}: {key} has shape {tuple(arr.shape)}, the generator {tuple(value.shape)}")
        new[key] = arr.to(value.dtype)
    if missing:
        raise OnnxInitError(
            f"{path}: {len(missing)} generator tensors are not in the ONNX file by name (e.g. {missing[0]}; layers "
            "folded at export): warm-start from a checkpoint instead"
        )
    G.load_state_dict(new)
    return len(new)
