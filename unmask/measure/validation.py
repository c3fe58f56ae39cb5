"""Training's validation on fixed masks: PSNR and SSIM in the hole, LPIPS (SqueezeNet v0.1) of the composited crop and of the
hole's box (``box_lpips``: the box padded by a quarter of its height, short side resampled to 64 px), ``detail``
(mean |Laplacian| of grey in the hole 2 px in from its edge, output over target, summed over the set), and a
sample grid PNG (input | output | target per row).

The output is composited first (generator output inside the hole, the clean target outside), which is what the
pipeline pastes back. Validation is RNG-neutral (the torch, numpy and Python global generators are restored
afterwards), so validating does not change what training does next: a resumed run stays identical to an
uninterrupted one.

The measurement wing scores; the training wing calls it through :class:`unmask.train.validate.Validates`
(``unmask train`` hands :class:`Validator` to :func:`unmask.train.loop.train`), so training never imports measurement.
"""

from __future__ import annotations


import cv2
import numpy as np
import torch

from unmask.codec import hole_of
from unmask.infer.io.write import write_png
from unmask.measure.metrics import LPIPS, l1_hole, psnr_hole, ssim_box
from unmask.measure.texture import hole_box_crop
from unmask.train.data.dataset import CensorDataset, from_range
from unmask.train.features import WeightsNotFound
from unmask.train.validate import Candidate, rng_neutral

GRID_ROWS = 8
"""Samples shown in the validation grid."""


def laplacian_energy(rgb: np.ndarray, region: np.ndarray) -> float:
    """Sum of |Laplacian| (3x3) of the grey of ``rgb`` (HxWx3 uint8) over ``region`` (bool HxW)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1))[region].sum())


def hole_box_pair(a: np.ndarray, b: np.ndarray, hole: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``a`` and ``b`` (HxWx3 uint8) cut at the hole's padded box as ``unmask eval``'s hole LPIPS cuts it
    (:func:`unmask.measure.texture.hole_box_crop`: a quarter of its height each side, short side 64 px)."""
    return hole_box_crop(a, hole), hole_box_crop(b, hole)


class Validator:
    """Scores a generator on ``dataset`` (validation mode: fixed masks per index).

    ``lpips_weights`` / ``features_weights`` as :class:`unmask.measure.metrics.LPIPS` resolves them; when they are
    missing, LPIPS is left out and :attr:`note` says why.
    """

    def __init__(
        self,
        dataset: CensorDataset,
        device: torch.device,
        batch_size: int = 16,
        lpips_weights: str | None = None,
        features_weights: str | None = None,
    ) -> None:
        self.dataset = dataset
        self.device = device
        self.batch_size = batch_size
        self.note = ""
        self.lpips: LPIPS | None = None
        with rng_neutral():
            try:
                self.lpips = LPIPS(lpips_weights, features_weights, device=str(device), batch_size=batch_size)
            except WeightsNotFound as e:
                self.note = f"LPIPS left out: {e}"

    def run(self, candidate: Candidate) -> dict[str, float]:
        """Mean ``psnr`` (dB, hole), ``ssim`` (hole box), ``l1`` (hole, [0, 1] units) and ``lpips`` (when
        available) over the dataset, for ``candidate`` (:class:`unmask.train.validate.Candidate`: the generator, its
        inputs, the grid's path, the memory format). Writes the grid to ``candidate.grid_path`` when given."""
        generator, inputs, memory_format = candidate.generator, candidate.inputs, candidate.memory_format
        vr = self.dataset.spec.value_range
        psnr, ssim, l1, lp, box_lp = [], [], [], [], []
        lap_out, lap_true = 0.0, 0.0
        kernel = np.ones((5, 5), np.uint8)
        grid: list[np.ndarray] = []
        with rng_neutral(), torch.no_grad():
            for start in range(0, len(self.dataset), self.batch_size):
                items = [self.dataset[i] for i in range(start, min(start + self.batch_size, len(self.dataset)))]
                batch = {
                    k: torch.stack([it[k] for it in items]).to(self.device, memory_format=memory_format)
                    for k in items[0]
                }
                out = generator(*inputs(batch)).float()
                mask = batch["mask"].float()
                comp = out * mask + batch["target"].float() * (1.0 - mask)
                comp_u8, target_u8 = from_range(comp, vr), from_range(batch["target"], vr)
                holes = hole_of(mask[:, 0].cpu().numpy())
                for c, t, h in zip(comp_u8, target_u8, holes):
                    if not h.any():
                        continue
                    psnr.append(psnr_hole(c, t, h))
                    ssim.append(ssim_box(c, t, h))
                    l1.append(l1_hole(c, t, h))
                    inner = cv2.erode(h.astype(np.uint8), kernel) > 0
                    if inner.any():
                        lap_out += laplacian_energy(c, inner)
                        lap_true += laplacian_energy(t, inner)
                    if self.lpips is not None:
                        bc, bt = hole_box_pair(c, t, h)
                        box_lp.append(float(self.lpips(bc, bt)[0]))
                if self.lpips is not None:
                    lp.extend(self.lpips(list(comp_u8), list(target_u8)).tolist())
                if len(grid) < GRID_ROWS:
                    inp_u8 = from_range(batch["image"], vr)
                    for row in zip(inp_u8, comp_u8, target_u8):
                        if len(grid) < GRID_ROWS:
                            grid.append(np.concatenate(row, axis=1))
        metrics = {"psnr": float(np.mean(psnr)), "ssim": float(np.mean(ssim)), "l1": float(np.mean(l1))}
        if lp:
            metrics["lpips"] = float(np.mean(lp))
        if box_lp:
            metrics["box_lpips"] = float(np.mean(box_lp))
        if lap_true > 0:
            metrics["detail"] = lap_out / lap_true
        if candidate.grid_path is not None and grid:
            write_png(candidate.grid_path, np.concatenate(grid, axis=0))
        return metrics
