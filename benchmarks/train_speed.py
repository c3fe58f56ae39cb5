"""Training throughput per arch at its `small` preset on this machine, with data loading measured separately.

For each registered arch: faces/s of the censor dataset alone (the loop's data path: crop cache -> censor ->
tensors, one process), and faces/s of full training steps (generator loss + backward + Adam, discriminator loss +
backward + Adam, as `unmask.train.loop` runs them) on batches drawn from that dataset, after warm-up steps.

Run (needs ../shared and a prepared 128 px crop cache, e.g. from any `unmask train` run):
    python benchmarks/train_speed.py [--steps 4] [--batch 16] [--threads 2] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=4)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default="../shared/data/celeba/val")
    ap.add_argument("--features", default=os.environ.get("UNMASK_PERCEPTUAL_WEIGHTS", "../shared/weights/squeezenet1_1_features.pth"))
    ap.add_argument("--archs", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    from unmask.train import archs
    from unmask.train.archs._base import merge_weights, requires_features
    from unmask.train.data.dataset import CensorDataset
    from unmask.train.data.prepare import CropStore, prepare
    from unmask.train.features import SqueezeFeatures

    rows = []
    names = args.archs.split(",") if args.archs else archs.names()
    for name in names:
        mod = archs.get(name)
        spec = mod.SPEC
        preset = spec.preset("small")
        store = CropStore(prepare(args.data, preset.size).root)
        ds = CensorDataset(store, spec, {"bar": 0.3, "pixelate": 0.2, "surgical": 0.5}, spec.hole_fill)
        loader = torch.utils.data.DataLoader(ds, batch_size=args.batch, shuffle=True, num_workers=0,
                                             generator=torch.Generator().manual_seed(0))
        it = iter(loader)
        batches = [next(it)]  # the first batch pays one-off costs (opening the cache shards)
        t = time.perf_counter()
        batches += [next(it) for _ in range(args.warmup + args.steps - 1)]
        data_fps = (len(batches) - 1) * args.batch / max(time.perf_counter() - t, 1e-9)

        weights = merge_weights(spec, None)
        features = SqueezeFeatures(args.features) if requires_features(weights, getattr(mod.Trainer, "feature_keys", ())) else None
        G, D = mod.build_generator(preset), mod.build_discriminators(preset)
        tr = mod.Trainer(spec, preset, G, D, weights, features)
        opt_g = torch.optim.Adam(G.parameters(), lr=spec.lr, betas=spec.betas)
        opt_d = torch.optim.Adam(D.parameters(), lr=spec.d_lr or spec.lr, betas=spec.betas) if len(D) else None
        times = []
        for i, batch in enumerate(batches):
            t = time.perf_counter()
            loss, _, out = tr.generator_loss(batch)
            opt_g.zero_grad(set_to_none=True)
            loss.backward()
            opt_g.step()
            if opt_d is not None:
                d_loss, _ = tr.discriminator_loss(batch, out.detach())
                opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                opt_d.step()
            if i >= args.warmup:
                times.append(time.perf_counter() - t)
        step = sorted(times)[len(times) // 2]
        row = {
            "arch": name,
            "size": preset.size,
            "g_params_m": round(sum(p.numel() for p in G.parameters()) / 1e6, 3),
            "d_params_m": round(sum(p.numel() for p in D.parameters()) / 1e6, 3),
            "batch": args.batch,
            "threads": args.threads,
            "step_s_median": round(step, 3),
            "train_faces_per_s": round(args.batch / step, 2),
            "data_faces_per_s": round(data_fps, 1),
            "load_1min": round(os.getloadavg()[0], 2),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
