"""Exports generators of the arch registry with random (untrained) weights to ONNX, for speed measurements only.

    python benchmarks/export_untrained.py OUT_DIR [--arch dmfn ...] [--preset small] [--region eyes]

Each file gets the runtime metadata of :func:`unmask.spec.meta_from_spec` (name ``untrained-ARCH-PRESET``,
version ``untrained``), so ``unmask bench --model OUT_DIR/untrained-dmfn-small.onnx`` loads it like a shipped
model. The outputs are noise: use them for timing, never for quality.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import onnx
import torch
from onnx import helper

from unmask.train import archs
from unmask.spec import META_KEY, meta_from_spec

OPSET = 17


def export(arch: str, preset: str, region: str, out_dir: Path, seed: int = 0) -> Path:
    mod = archs.get(arch)
    spec = mod.SPEC
    p = spec.preset(preset)
    torch.manual_seed(seed)
    G = mod.build_generator(p).eval()
    n, s = 1, p.size
    inputs = [torch.zeros(n, 3, s, s), torch.zeros(n, 1, s, s)] + [torch.zeros(n, 1, s, s) for _ in spec.extra_inputs]
    names = ["image", "mask", *spec.extra_inputs]
    path = out_dir / f"untrained-{arch}-{preset}.onnx"
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the TorchScript exporter's deprecation and tracer notes
        warnings.simplefilter("ignore")
        torch.onnx.export(
            G,
            tuple(inputs),
            str(path),
            dynamo=False,
            opset_version=OPSET,
            input_names=names,
            output_names=["output"],
            dynamic_axes={k: {0: "N"} for k in [*names, "output"]},
        )
    model = onnx.load(str(path))
    meta = meta_from_spec(
        spec, preset, region, name=path.stem, version="untrained", training={"note": "untrained weights, speed only"}
    )
    helper.set_model_props(model, {META_KEY: meta.to_json()})
    onnx.save(model, str(path))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--arch", action="append", help="arch name (repeat); default: all registered")
    ap.add_argument("--preset", default="small")
    ap.add_argument("--region", default="eyes")
    args = ap.parse_args(argv)
    for arch in args.arch or archs.names():
        path = export(arch, args.preset, args.region, args.out)
        print(f"{path} ({path.stat().st_size / 1e6:.1f} MB, untrained weights, speed only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
