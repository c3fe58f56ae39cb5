"""One optimisation step of a :class:`~unmask.train.session.Session`: a generator step (``generator_loss``,
backward, Adam) and a discriminator step on the detached output (``discriminator_loss``, backward, Adam), in the
phases the trainer asks for, through the run's autocast and ``GradScaler``; a non-finite loss skips its update on
every rank."""

from __future__ import annotations

import math

import torch

from unmask.train import dist
from unmask.train.session import Session


def train_step(run: Session, batch: dict[str, torch.Tensor], phases: set[str]) -> tuple[dict[str, float], bool]:
    """One optimisation step. Returns (logged scalars, whether a loss was non-finite and its update skipped).

    Backward always runs (so DDP's gradient reduction completes on every rank); a non-finite loss on any rank
    skips that optimiser's update on all ranks."""
    trainer, opt_g, opt_d, scaler, autocast = run.trainer, run.opt_g, run.opt_d, run.scaler, run.autocast
    info, device = run.info, run.device
    logs: dict[str, float] = {}
    bad = False
    if "g" in phases:
        with autocast():
            loss_g, lg, fake = trainer.generator_loss(batch)
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss_g).backward()
        (bad,) = dist.any_flags(info, [not math.isfinite(float(loss_g.detach()))], device)
        if bad:
            opt_g.zero_grad(set_to_none=True)
        else:
            scaler.step(opt_g)
            logs.update({f"g/{k}": v for k, v in lg.items()})
            logs["g/total"] = float(loss_g.detach())
    else:
        with torch.no_grad(), autocast():
            _, _, fake = trainer.generator_loss(batch)
    if "d" in phases and opt_d is not None and not bad:
        with autocast():
            loss_d, ld = trainer.discriminator_loss(batch, fake.detach())
        opt_d.zero_grad(set_to_none=True)
        scaler.scale(loss_d).backward()
        (bad_d,) = dist.any_flags(info, [not math.isfinite(float(loss_d.detach()))], device)
        if bad_d:
            opt_d.zero_grad(set_to_none=True)
            bad = True
        else:
            scaler.step(opt_d)
            logs.update({f"d/{k}": v for k, v in ld.items()})
            logs["d/total"] = float(loss_d.detach())
    if opt_d is not None:
        opt_d.zero_grad(set_to_none=True)  # the G step's adversarial term may have left gradients there
    if scaler.is_enabled():
        scaler.update()
        logs["scale"] = float(scaler.get_scale())
    return logs, bad
