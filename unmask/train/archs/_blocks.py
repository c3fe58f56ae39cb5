"""Building blocks shared by the architectures: convolutions with "same" padding, gated convolutions,
residual blocks, discriminators, and small helpers for trainers.

Tensor conventions follow :mod:`unmask.spec`: images ``N x 3 x S x S`` in [-1, 1], masks ``N x 1 x S x S`` with
``1`` = hole. Every block here is exportable to ONNX (opset 17) with a dynamic batch axis; the discriminators
never are exported and may use spectral normalisation.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

NORMS = ("none", "instance", "batch")
ACTS = ("none", "relu", "lrelu", "elu", "tanh", "sigmoid")


def same_conv(cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1, bias: bool = True) -> nn.Conv2d:
    """A ``k x k`` convolution whose output is ``ceil(in / stride)`` pixels (odd ``k``)."""
    return nn.Conv2d(cin, cout, k, stride, padding=dilation * (k - 1) // 2, dilation=dilation, bias=bias)


def norm_layer(kind: str, ch: int) -> nn.Module:
    """``none`` -> identity, ``instance`` -> InstanceNorm2d without affine (as DMFN/EdgeConnect), ``batch``."""
    if kind == "none":
        return nn.Identity()
    if kind == "instance":
        return nn.InstanceNorm2d(ch, affine=False)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    raise ValueError(f"unknown norm {kind!r} (choose from {', '.join(NORMS)})")


def activation(kind: str) -> nn.Module:
    layers = {
        "none": nn.Identity,
        "relu": nn.ReLU,
        "lrelu": lambda: nn.LeakyReLU(0.2),
        "elu": nn.ELU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
    }
    if kind not in layers:
        raise ValueError(f"unknown activation {kind!r} (choose from {', '.join(ACTS)})")
    return layers[kind]()


class ConvBlock(nn.Sequential):
    """conv -> norm -> activation (``k`` odd, "same" padding, optional stride and dilation)."""

    def __init__(
        self,
        cin: int,
        cout: int,
        k: int = 3,
        stride: int = 1,
        dilation: int = 1,
        norm: str = "none",
        act: str = "relu",
    ) -> None:
        super().__init__(
            same_conv(cin, cout, k, stride, dilation, bias=norm != "batch"), norm_layer(norm, cout), activation(act)
        )


class UpBlock(nn.Sequential):
    """Transposed 4x4 convolution with stride 2 (doubles the size) -> norm -> activation."""

    def __init__(self, cin: int, cout: int, norm: str = "none", act: str = "relu") -> None:
        super().__init__(
            nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=norm != "batch"), norm_layer(norm, cout), activation(act)
        )


class GatedConv2d(nn.Module):
    """Gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution", 2019):
    ``ELU(conv_f(x)) * sigmoid(conv_g(x))``, both convolutions computed as one with ``2 * cout`` outputs.

    Initialised so a stack keeps its activations' scale (PyTorch's default shrinks them about 3x per gated
    layer, which stalls training): feature weights ~ N(0, 4 / fan_in) (ReLU gain, doubled for the ~0.5 gate),
    gate weights ~ N(0, 1 / fan_in), biases 0."""

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, dilation: int = 1, act: str = "elu") -> None:
        super().__init__()
        self.cout = cout
        self.conv = same_conv(cin, 2 * cout, k, stride, dilation)
        self.act = activation(act)
        fan_in = cin * k * k
        with torch.no_grad():
            self.conv.weight[:cout].normal_(0.0, 2.0 / math.sqrt(fan_in))
            self.conv.weight[cout:].normal_(0.0, 1.0 / math.sqrt(fan_in))
            self.conv.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f, g = torch.split(self.conv(x), self.cout, dim=1)
        return self.act(f) * torch.sigmoid(g)


class GatedResBlock(nn.Module):
    """``x + gated(gated(x, dilation))``: a residual block of two gated convolutions, the first dilated."""

    def __init__(self, ch: int, dilation: int = 2) -> None:
        super().__init__()
        self.body = nn.Sequential(GatedConv2d(ch, ch, 3, dilation=dilation), GatedConv2d(ch, ch, 3, act="none"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def maybe_sn(module: nn.Module, on: bool) -> nn.Module:
    """``module`` with spectral normalisation of its weight when ``on``."""
    return spectral_norm(module) if on else module


class Discriminator(nn.Module):
    """A stack of strided ``k x k`` convolutions (channels ``width, 2 width, ...`` capped at ``8 width``) with
    LeakyReLU(0.2), then either a patch head (a 3x3 conv to one logit per patch, ``head="patch"``) or a
    global head (flatten + linear to ``out`` values per image, ``head="global"``, which needs the input size).

    ``forward(x)`` returns ``(logits, features)``: ``logits`` ``N x 1 x h x w`` (patch) or ``N x out`` (global),
    ``features`` the activations after each strided layer (for feature-matching losses).
    ``norm`` is ``none`` (with spectral normalisation when ``sn``) or ``batch`` (DCGAN style, first layer bare).
    """

    def __init__(
        self,
        cin: int,
        width: int,
        layers: int,
        k: int = 4,
        head: str = "patch",
        size: int | None = None,
        sn: bool = True,
        norm: str = "none",
        out: int = 1,
    ) -> None:
        super().__init__()
        if head not in ("patch", "global"):
            raise ValueError(f"unknown head {head!r}")
        chans = [min(width * 2**i, width * 8) for i in range(layers)]
        pad = (k - 1) // 2 if k % 2 else k // 2 - 1  # halves even sizes exactly
        blocks = []
        c = cin
        for i, co in enumerate(chans):
            conv = nn.Conv2d(c, co, k, 2, padding=pad, bias=norm != "batch" or i == 0)
            blocks.append(nn.Sequential(maybe_sn(conv, sn), norm_layer(norm if i else "none", co), nn.LeakyReLU(0.2)))
            c = co
        self.blocks = nn.ModuleList(blocks)
        self.head_kind = head
        if head == "patch":
            self.head: nn.Module = maybe_sn(same_conv(c, 1, 3), sn)
        else:
            if size is None:
                raise ValueError("a global head needs the input size")
            side = size
            for _ in range(layers):
                side = math.floor((side + 2 * pad - k) / 2) + 1
            self.head = maybe_sn(nn.Linear(c * side * side, out), sn)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        feats = []
        for block in self.blocks:
            x = block(x)
            feats.append(x)
        if self.head_kind == "global":
            x = x.flatten(1)
        return self.head(x), feats


def down_layers(size: int, final: int = 4) -> int:
    """How many stride-2 layers bring ``size`` down to ``final`` pixels (at least 1)."""
    n = 0
    while size > final:
        size = (size + 1) // 2
        n += 1
    return max(n, 1)


def init_normal(module: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN-style initialisation used by several of the papers: conv weights ~ N(0, std), biases 0,
    batch-norm scales ~ N(1, std)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return module


def init_kaiming(module: nn.Module) -> nn.Module:
    """He initialisation (fan-in, ReLU gain) of every convolution in ``module``, biases 0: keeps the scale of
    activations through stacks without normalisation."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def masked_input(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``image`` with the mask appended as a 4th channel: ``N x 4 x S x S``. The hole pixels are passed as they
    come: the caller (dataset, runtime) has already filled them as the model's ``hole_fill`` says (``zero``:
    blanked; ``keep``: the censor's own pixels, e.g. a mosaic's block colours, which the network then sees)."""
    return torch.cat([image, mask], dim=1)


def composite(pred: torch.Tensor, known: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``pred`` inside the hole, ``known`` outside (what the runtime's blend does, without feathering)."""
    return pred * mask + known * (1.0 - mask)


@contextmanager
def frozen(*modules: nn.Module) -> Iterator[None]:
    """Parameters of ``modules`` do not require grad inside the block (graphs built there do not reach them),
    so a generator step leaves the discriminators' gradients untouched."""
    params = [p for m in modules for p in m.parameters()]
    states = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, s in zip(params, states):
            p.requires_grad_(s)
