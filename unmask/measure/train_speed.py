"""Training throughput of an arch at its `small` preset on this machine, with data loading measured separately
(``benchmarks/train_speed.py`` is the command line).

For an arch: faces/s of the censor dataset alone (the loop's data path: crop cache -> censor -> tensors, one
process), and faces/s of full training steps (generator loss + backward + Adam, discriminator loss + backward + Adam,
as `unmask.train.loop` runs them) on batches drawn from that dataset, after warm-up steps.
"""

from __future__ import annotations

import os
import time
from typing import Any

import torch

from unmask.train import archs
from unmask.train.archs._base import merge_weights, requires_features
from unmask.train.data.dataset import CensorDataset
from unmask.train.data.prepare import CropStore, prepare
from unmask.train.features import SqueezeFeatures

KINDS = {"bar": 0.3, "pixelate": 0.2, "surgical": 0.5}
"""The censor mix drawn while timing."""


def train_speed(
    name: str, data: str, features: str, batch: int = 16, steps: int = 4, warmup: int = 1, threads: int = 2
) -> dict[str, Any]:
    """One JSON-ready row for arch ``name``: its parameters, the median step time, training and data faces/s."""
    mod = archs.get(name)
    spec = mod.SPEC
    preset = spec.preset("small")
    store = CropStore(prepare(data, preset.size).root)
    ds = CensorDataset(store, spec, KINDS, spec.hole_fill)
    loader = torch.utils.data.DataLoader(ds, batch_size=batch, shuffle=True, num_workers=0,
                                         generator=torch.Generator().manual_seed(0))  # fmt: skip
    it = iter(loader)
    batches = [next(it)]  # the first batch pays one-off costs (opening the cache shards)
    t = time.perf_counter()
    batches += [next(it) for _ in range(warmup + steps - 1)]
    data_fps = (len(batches) - 1) * batch / max(time.perf_counter() - t, 1e-9)

    weights = merge_weights(spec, None)
    needs = requires_features(weights, getattr(mod.Trainer, "feature_keys", ()))
    G, D = mod.build_generator(preset), mod.build_discriminators(preset)
    tr = mod.Trainer(spec, preset, G, D, weights, SqueezeFeatures(features) if needs else None)
    opt_g = torch.optim.Adam(G.parameters(), lr=spec.lr, betas=spec.betas)
    opt_d = torch.optim.Adam(D.parameters(), lr=spec.d_lr or spec.lr, betas=spec.betas) if len(D) else None
    times = []
    for i, b in enumerate(batches):
        t = time.perf_counter()
        loss, _, out = tr.generator_loss(b)
        opt_g.zero_grad(set_to_none=True)
        loss.backward()
        opt_g.step()
        if opt_d is not None:
            d_loss, _ = tr.discriminator_loss(b, out.detach())
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        if i >= warmup:
            times.append(time.perf_counter() - t)
    step = sorted(times)[len(times) // 2]
    return {
        "arch": name,
        "size": preset.size,
        "g_params_m": round(sum(p.numel() for p in G.parameters()) / 1e6, 3),
        "d_params_m": round(sum(p.numel() for p in D.parameters()) / 1e6, 3),
        "batch": batch,
        "threads": threads,
        "step_s_median": round(step, 3),
        "train_faces_per_s": round(batch / step, 2),
        "data_faces_per_s": round(data_fps, 1),
        "load_1min": round(os.getloadavg()[0], 2),
    }
