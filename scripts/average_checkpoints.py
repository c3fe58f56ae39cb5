"""Average the generator weights of several checkpoints of one run (checkpoint averaging, as in stochastic weight
averaging): a GAN fine-tune's generator moves from step to step with its discriminator, and the mean of its last
checkpoints is steadier than any one of them.

Run: python scripts/average_checkpoints.py CKPT.pt [CKPT.pt ...] -o AVERAGED.pt
Then: unmask export AVERAGED.pt -o models/NAME.onnx --name NAME

The output is the last checkpoint given (settings, step, discriminators and optimiser state as they were) with its
generator replaced by the element-wise mean of every checkpoint's generator (floating-point tensors; integer
buffers are the last checkpoint's). All checkpoints must be of one arch and preset.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("checkpoints", type=Path, nargs="+")
    ap.add_argument("-o", "--output", type=Path, required=True)
    args = ap.parse_args()
    cks = [torch.load(p, map_location="cpu", weights_only=False) for p in args.checkpoints]
    last = cks[-1]
    for p, ck in zip(args.checkpoints, cks):
        if (ck.get("arch"), ck.get("preset")) != (last.get("arch"), last.get("preset")):
            raise SystemExit(
                f"{p}: a {ck.get('arch')} {ck.get('preset')} checkpoint, not {last.get('arch')} {last.get('preset')}"
            )
        if ck["G"].keys() != last["G"].keys():
            raise SystemExit(f"{p}: its generator has other weights than {args.checkpoints[-1]}'s")
    mean = {}
    for k, v in last["G"].items():
        if torch.is_floating_point(v):
            mean[k] = torch.stack([ck["G"][k].float() for ck in cks]).mean(0).to(v.dtype)
        else:
            mean[k] = v
    last["G"] = mean
    steps = [int(ck.get("step", -1)) for ck in cks]
    last["averaged_steps"] = steps
    args.output.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.output.with_suffix(".tmp")
    torch.save(last, tmp)
    tmp.replace(args.output)
    print(f"wrote {args.output}: generator averaged over steps {steps}")


if __name__ == "__main__":
    main()
