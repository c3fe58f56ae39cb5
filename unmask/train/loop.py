"""The training loop: any registered arch, one process or many (``torchrun``), resumable to the bit.

:func:`train` sets a run up (:class:`~unmask.train.session.Session`: data, models, optimisers, checkpoint) and
drives it here: steps, validation, checkpoints and log lines at the config's cadence, and the stop conditions.
Per step (:func:`unmask.train.step.train_step`): ``trainer.phases(step)``, then a generator step
(``generator_loss``, backward, Adam) and a discriminator step on the detached output (``discriminator_loss``,
backward, Adam), as ``unmask.train.archs._base`` describes. On CUDA: autocast (bfloat16 where supported, else float16
with a ``GradScaler``) and channels_last; on CPU: float32, contiguous (bfloat16 autocast was measured to give no
speed-up there).

Determinism: models are initialised from ``seed``; every sample's masks and flips are a function of
``(seed, epoch, index)`` (:mod:`unmask.train.data.dataset`); the sampler, Adam, the scaler and the torch/numpy/Python
RNGs are all in the checkpoint. So ``max_steps=k`` then ``--resume`` to ``n`` gives the weights of a straight
``n``-step run (same device, threads and world size).

Multi-process: under ``torchrun`` the generator and each discriminator are wrapped in
``DistributedDataParallel`` (gloo on CPU, nccl on CUDA), each rank reads its shard of every epoch
(:class:`~unmask.train.data.dataset.EpochSampler`), and only rank 0 validates, logs and writes checkpoints.

Outputs under ``OUT/NAME/``: ``config.json``, ``checkpoints/last.pt``, ``metrics.jsonl`` (one JSON object per
logged step / validation), ``samples/step_NNNNNNN.png``, and TensorBoard event files in ``tb/`` when
tensorboard is installed. The library never prints: pass ``progress(event)``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from torch import nn

from unmask.train import checkpoint as ckpt_io
from unmask.train import dist
from unmask.train.config import ConfigError, TrainConfig
from unmask.train.events import Event, Meter, Progress, TrainResult
from unmask.train.session import Session, pick_device
from unmask.train.step import train_step
from unmask.train.validate import ValidatorFactory
from unmask.errors import JobFailed


class TrainingDiverged(JobFailed, RuntimeError):
    """The loss stayed non-finite for ``max_bad_steps`` steps in a row."""


def resume_config(
    source: str | os.PathLike, overrides: dict[str, Any] | None = None, runs: str | os.PathLike = "runs"
) -> tuple[TrainConfig, Path]:
    """The settings of the run that wrote checkpoint ``source`` (a file, run folder or run name under
    ``runs``), with the non-``None`` ``overrides`` applied (e.g. a larger ``max_steps``), and the checkpoint."""
    path = ckpt_io.resolve(source, runs)
    ckpt = ckpt_io.load(path)
    cfg = TrainConfig.from_dict(json.loads(ckpt["config"]))
    over = {k: v for k, v in (overrides or {}).items() if v is not None}
    for key in ("arch", "preset"):
        if key in over and over[key] != getattr(cfg, key):
            raise ConfigError(f"{path}: checkpoint is {key} {getattr(cfg, key)!r}; cannot resume it as {over[key]!r}")
    if path.parent.name == "checkpoints" and (path.parent.parent / "config.json").is_file():
        # a run folder's checkpoint: the run continues where it lives (a loose file keeps its config's name)
        over.setdefault("out", str(path.parent.parent.parent))
        over.setdefault("name", path.parent.parent.name)
    return cfg.merged(over), path


@contextlib.contextmanager
def _unwrapped(trainer: nn.Module, G: nn.Module, Ds: dict[str, nn.Module]) -> Iterator[None]:
    """Inside the block ``trainer.G``/``trainer.D`` are the bare modules (no DDP collectives), e.g. for
    rank-0-only validation."""
    saved_g, saved_d = trainer.G, {k: trainer.D[k] for k in Ds}
    trainer.G = G
    for k, m in Ds.items():
        trainer.D[k] = m
    try:
        yield
    finally:
        trainer.G = saved_g
        for k, m in saved_d.items():
            trainer.D[k] = m


def weights_digest(module: nn.Module) -> str:
    """SHA-256 over a module's state dict (names and raw tensor bytes, in order)."""
    h = hashlib.sha256()
    for k, v in module.state_dict().items():
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


# -- the run -----------------------------------------------------------------------------------------------------
def train(
    cfg: TrainConfig,
    *,
    resume_from: str | os.PathLike | None = None,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    validator: ValidatorFactory | None = None,
) -> TrainResult:
    """Trains ``cfg.arch`` as ``cfg`` says; continues from checkpoint ``resume_from`` when given (see
    :func:`resume_config`). Returns when ``max_steps`` or ``max_minutes`` is reached or ``should_stop()`` turns
    true, after a final validation (not when stopped) and checkpoint. ``validator`` scores the generator on the
    validation faces (``unmask train`` gives :class:`unmask.measure.validation.Validator`); without one, nothing is
    validated and a note says so. Raises :class:`ConfigError`,
    :class:`~unmask.train.checkpoint.CheckpointError`, :class:`unmask.train.data.prepare.PrepareError` or
    :class:`TrainingDiverged`, each with a one-line message."""
    device = pick_device(cfg.device)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    info = dist.init(device.type)
    if device.type == "cuda":
        device = torch.device("cuda", info.local_rank)
    run: Session | None = None
    try:
        run = Session(cfg, info, device, resume_from, progress, validator)
        return _drive(run, should_stop)
    finally:
        if run is not None:
            run.close()
        dist.shutdown(info)


# -- the loop ----------------------------------------------------------------------------------------------------
def _drive(run: Session, should_stop: Callable[[], bool] | None) -> TrainResult:
    """Steps ``run`` until ``max_steps``, ``max_minutes`` or ``should_stop()``, validating, checkpointing and
    logging at the config's cadence, then once more at the end."""
    cfg, st, info = run.cfg, run.state, run.info
    run.emit(Event("start", step=st.step, max_steps=cfg.max_steps, message=run.describe(), path=run.run_dir))
    t0 = time.monotonic()
    wall0 = st.wall
    window = [t0, 0]  # time and samples since the last step event
    meter = Meter()
    last_val = last_ckpt = st.step if run.ckpt is not None else -1
    skip = st.epoch_samples // info.world_size
    per_step = cfg.batch_size * info.world_size
    reason = ""

    def finished() -> bool:
        return cfg.max_steps is not None and st.step >= cfg.max_steps

    while not finished() and not reason:
        run.sampler.set_epoch(st.epoch, skip)
        for raw in run.loader:
            logs, bad = train_step(run, run.to_device(raw), run.trainer.phases(st.step))
            st.step += 1
            st.samples += per_step
            st.epoch_samples += per_step
            window[1] += per_step
            st.wall = wall0 + (time.monotonic() - t0)
            st.bad = st.bad + 1 if bad else 0
            if st.bad >= cfg.max_bad_steps:
                raise TrainingDiverged(
                    f"loss not finite for {st.bad} steps in a row (step {st.step}); last good checkpoint: "
                    f"{run.last if run.last.exists() else 'none'} (try a lower --lr)"
                )
            meter.add(logs)
            out_of_time = cfg.max_minutes is not None and time.monotonic() - t0 >= cfg.max_minutes * 60
            asked = should_stop() if should_stop is not None else False
            out_of_time, asked = dist.any_flags(info, [out_of_time, asked], run.device)
            if finished():
                reason = "max_steps"
            elif out_of_time or asked:
                reason = "max_minutes" if out_of_time else "stopped"
            if st.step % cfg.log_every == 0 or reason:
                _log_step(run, meter, window, t0)
            if st.step % cfg.val_every == 0:
                _validate(run)
                last_val = st.step
            if st.step % cfg.checkpoint_every == 0:
                run.save()
                last_ckpt = st.step
            if reason:
                break
        else:  # the epoch ran out
            st.epoch += 1
            st.epoch_samples = 0
            skip = 0
    dist.sync_buffers(info, run.G, run.D)
    if last_val != st.step and reason != "stopped":  # stopped by Ctrl-C / SIGTERM: the checkpoint only, at once
        _validate(run)
    if last_ckpt != st.step or not run.last.exists():
        run.save()
    reason = reason or "max_steps"
    run.emit(Event("end", step=st.step, max_steps=cfg.max_steps, samples=st.samples, message=reason, path=run.last))
    return TrainResult(
        run.run_dir, run.last, st.step, st.samples, st.wall, dict(st.metrics), reason, weights_digest(run.G)
    )


def _log_step(run: Session, meter: Meter, window: list, t0: float) -> None:
    st = run.state
    now = time.monotonic()
    means = dist.mean_logs(run.info, meter.pop(), run.device)
    rate = window[1] / max(now - window[0], 1e-9)
    window[0], window[1] = now, 0
    run.log.write("train", st.step, means, samples=st.samples, samples_per_s=rate)
    run.emit(
        Event("step", step=st.step, max_steps=run.cfg.max_steps, epoch=st.epoch, samples=st.samples,
              elapsed=now - t0, samples_per_s=rate, logs=means)
    )  # fmt: skip


def _validate(run: Session) -> None:
    """Scores the generator on the fixed validation masks and writes a sample grid (rank 0)."""
    from unmask.train.validate import Candidate, eval_mode

    if run.validator is not None:
        st = run.state
        grid = run.run_dir / "samples" / f"step_{st.step:07d}.png"
        with _unwrapped(run.trainer, run.G, run.Ds), eval_mode(run.trainer):
            st.metrics = run.validator.run(
                Candidate(run.trainer.export_module(), run.trainer.generator_inputs, grid, run.memory_format)
            )
        run.log.write("val", st.step, st.metrics)
        run.emit(Event("val", step=st.step, max_steps=run.cfg.max_steps, logs=dict(st.metrics), path=grid))
    dist.barrier(run.info)
