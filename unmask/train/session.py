"""A training run set up, ready for the loop (:class:`Session`): device and precision, the checkpoint it resumes
(or the weights it starts from), the crop caches or training set, models, trainer, optimisers and scaler, the
data loader and validator, DDP wrapping under ``torchrun``, and the checkpoint it writes.

Set-up order is part of the resumption contract (:mod:`unmask.train.loop`): models are seeded before they are
built, and the training stream's RNG is seeded (or restored from the checkpoint) after every construction that
draws from it.
"""

from __future__ import annotations

import contextlib
import copy
import os
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import default_collate

from unmask.infer.io.atomic import remove_stale_temps, write_atomic
from unmask.train import checkpoint as ckpt_io
from unmask.train import dist
from unmask.train.config import (
    ConfigError,
    Resolved,
    TrainConfig,
    default_data,
    kind_probs,
    resolved,
)
from unmask.train.events import Event, Progress, RunLog
from unmask.train.validate import ValidatorFactory


@dataclass
class RunState:
    """Where a run stands: steps, samples, seconds, epoch and place in it, last validation metrics, and how many
    steps in a row had a non-finite loss."""

    step: int = 0
    samples: int = 0
    wall: float = 0.0
    epoch: int = 0
    epoch_samples: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    bad: int = 0


# -- setup helpers -----------------------------------------------------------------------------------------------
def pick_device(name: str) -> torch.device:
    """``auto``: CUDA when available, else CPU. ``cuda`` without a GPU is a :class:`ConfigError`."""
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda: no CUDA device is available to torch")
        return torch.device("cuda")
    return torch.device("cpu")


def precision(device: torch.device, amp: bool) -> tuple[torch.memory_format, torch.dtype | None]:
    """Memory format and autocast dtype of a run on ``device``.

    CUDA: channels_last, and with ``amp`` bfloat16 autocast where the GPU supports it, else float16 (which turns the
    run's ``GradScaler`` on). CPU: contiguous float32, no autocast (no speed-up from bfloat16 autocast measured there)."""
    if device.type != "cuda":
        return torch.contiguous_format, None
    dtype = (torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16) if amp else None
    return torch.channels_last, dtype


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _worker_init(_: int) -> None:
    import cv2

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


def _default_name(cfg: TrainConfig, preset: str) -> str:
    return f"{cfg.arch}-{preset}-{cfg.region}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _untrained_generator_params(trainer: nn.Module, batch: dict[str, torch.Tensor]) -> bool:
    """Whether a generator step leaves some generator parameter without a gradient (e.g. EdgeConnect's edge
    stage does not train its image generator): DDP must then look for unused parameters every step. Probed
    once on a copy of the trainer, so neither the models, their buffers nor the RNGs change."""
    from unmask.train.validate import rng_neutral

    probe = copy.deepcopy(trainer)
    with rng_neutral():
        loss, _, _ = probe.generator_loss(batch)
        loss.backward()
    return any(p.requires_grad and p.grad is None for p in probe.G.parameters())


def _has_trainable(m: nn.Module) -> bool:
    return any(p.requires_grad for p in m.parameters())


def _store(data: Any) -> Any:
    """The faces of what :meth:`Session._prepare` returned: a training set as it is, a crop cache's store."""
    from unmask.train.data.prepare import CropStore, Prepared

    return CropStore(data.root) if isinstance(data, Prepared) else data


class Session:
    """One training run set up from a config (and a checkpoint); :mod:`unmask.train.loop` drives it."""

    def __init__(
        self,
        cfg: TrainConfig,
        info: dist.DistInfo,
        device: torch.device,
        resume_from: str | os.PathLike | None,
        progress: Progress | None,
        validator: ValidatorFactory | None = None,
    ) -> None:
        from unmask.train import archs

        self.info, self.device = info, device
        self.emit: Progress = progress if (progress is not None and info.is_main) else (lambda e: None)
        self.log = RunLog(Path("."), enabled=False)
        if cfg.arch not in archs.names():
            raise ConfigError(f"unknown arch {cfg.arch!r} (choose from {', '.join(archs.names())})")
        self.module = archs.get(cfg.arch)
        self.spec = self.module.SPEC
        self.arch_settings: Resolved = resolved(cfg, self.spec)
        self.preset = self.spec.preset(self.arch_settings.preset)
        self.ckpt_path = Path(resume_from) if resume_from is not None else None
        self.ckpt = self._read_checkpoint(cfg.arch)
        name = cfg.name or dist.broadcast(info, _default_name(cfg, self.arch_settings.preset))
        self.run_dir = Path(cfg.out) / name
        self.last = self.run_dir / "checkpoints" / ckpt_io.LAST
        if self.ckpt is None and self.last.exists():
            raise ConfigError(f"run {self.run_dir} exists (it has {self.last}): pass --resume {name} or another --name")
        self.cfg = self._prepare_data(cfg, name)
        self._build()
        self.state = self._restore()
        self._make_loader()
        self._make_validator(validator)
        # the training stream's RNG, after every construction that draws from it
        ck = self.ckpt
        if ck is not None and info.rank < len(ck.get("rng", [])) and int(ck.get("world_size", 1)) == info.world_size:
            ckpt_io.restore_rng(ck["rng"][info.rank])
        else:
            seed_all(self.cfg.seed * 1000 + 1 + info.rank + self.state.step)
        self._wrap()
        if info.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temps([self.last])
            write_atomic(self.run_dir / "config.json", (self.cfg.to_json() + "\n").encode("utf-8"))
        self.log = RunLog(self.run_dir, info.is_main, self.state.step)  # steps after the checkpoint are cut

    # -- setup ----------------------------------------------------------------------------------------------------
    def _read_checkpoint(self, arch: str) -> dict[str, Any] | None:
        if self.ckpt_path is None:
            return None
        ckpt = ckpt_io.load(self.ckpt_path, arch=arch)
        if ckpt_io.is_slim(ckpt):
            raise ckpt_io.CheckpointError(
                f"{self.ckpt_path}: a slim checkpoint (weights only) cannot be resumed; start from it with --init"
            )
        if ckpt["preset"] != self.arch_settings.preset:
            raise ckpt_io.CheckpointError(
                f"{self.ckpt_path}: checkpoint of preset {ckpt['preset']!r}, not {self.arch_settings.preset!r}"
            )
        return ckpt

    def _prepare_data(self, cfg: TrainConfig, name: str) -> TrainConfig:
        """Crop caches of the training and validation folders (rank 0 builds them, the others wait); returns
        the config with the run name, preset and absolute data folders filled in."""
        data = cfg.data or default_data("train")
        if data is None:
            raise ConfigError("no training photos: pass --data DIR (or set UNMASK_DATA)")
        val = (cfg.val or default_data("val")) if cfg.validate else None
        self.train_set = self._prepare(cfg, data, "train", None)
        self.val_set = self._prepare(cfg, val, "val", cfg.val_images + max(8, cfg.val_images // 4)) if val else None
        self.holdout = self._holdout(cfg, data, val)
        return cfg.merged(
            {"name": name, "preset": self.arch_settings.preset, "data": str(Path(data).resolve()),
             "val": str(Path(val).resolve()) if val else cfg.val, "holdout": self.holdout}
        )  # fmt: skip

    def _holdout(self, cfg: TrainConfig, data: str, val: str | None) -> int:
        """Faces at the end of the training data held out for validation and samples: none with a validation set
        or ``validate=False``; else the stored count of the run (a resume splits as the run did; a run from before
        hold-outs existed has none), or for a new run :func:`~unmask.train.data.split.holdout_size`, said once."""
        from unmask.train.data.split import holdout_size

        if val or not cfg.validate:
            return 0
        faces = len(_store(self.train_set))
        if cfg.holdout is not None or self.ckpt is not None:
            return min(int(cfg.holdout or 0), faces)
        n = holdout_size(faces, cfg.val_images)
        if n:
            self.emit(Event("note", message=f"no validation set (--val): validating on the last {n} of the {faces} "
                                            f"faces of {data}, held out from training, and writing samples from "
                                            "them (--val SET to use another set, --no-val to skip)"))  # fmt: skip
        else:
            self.emit(Event("note", message=f"no validation set (--val) and only {faces} faces in {data}: too few to "
                                            "hold some out, training without validation"))  # fmt: skip
        return n

    def _prepare(self, cfg: TrainConfig, folder: str, what: str, limit: int | None) -> Any:
        """A training set made by ``unmask prepare`` (:class:`~unmask.train.data.shards.FaceSet`, read as it is: no
        mediapipe), or the crop cache of a photo folder (:class:`~unmask.train.data.prepare.Prepared`)."""
        from unmask.train.data.prepare import prepare
        from unmask.train.data.shards import FaceSet, is_face_set

        size = self.preset.size
        if is_face_set(folder):
            faces = FaceSet(folder, size=size)  # every rank reads it; checksums checked
            resized = f", served at {size} px" if faces.size != faces.stored_size else ""
            self.emit(Event("note", message=f"{what} set {folder}: {faces.count} faces of {faces.total} photos "
                                            f"({faces.stored_size} px{resized})"))  # fmt: skip
            return faces

        def cb(done: int, total: int, failed: int) -> None:
            self.emit(Event("prepare", what=what, done=done, total=total, failed=failed))

        if self.info.is_main:
            result = prepare(folder, size, cfg.cache, limit=limit, workers=max(1, cfg.workers or 1), progress=cb)
            dist.barrier(self.info)
        else:
            dist.barrier(self.info)
            result = prepare(folder, size, cfg.cache, limit=limit)
        return result

    def _build(self) -> None:
        """Models (seeded), trainer, optimisers, autocast and scaler."""
        from unmask.train.archs._base import requires_features

        cfg, settings, device = self.cfg, self.arch_settings, self.device
        seed_all(cfg.seed)
        self.G = self.module.build_generator(self.preset)
        self.D = self.module.build_discriminators(self.preset)
        features = None
        if requires_features(settings.weights, tuple(getattr(self.module.Trainer, "feature_keys", ()))):
            from unmask.train.features import SqueezeFeatures

            features = SqueezeFeatures(cfg.perceptual_weights)
        self.trainer = self.module.Trainer(self.spec, self.preset, self.G, self.D, settings.weights, features).to(
            device
        )
        self.trainer.train()
        self.memory_format, self.amp_dtype = precision(device, cfg.amp)
        if self.memory_format == torch.channels_last:
            self.trainer.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=settings.lr, betas=settings.betas)
        self.opt_d = None
        if _has_trainable(self.D):
            self.opt_d = torch.optim.Adam(self.D.parameters(), lr=settings.d_lr, betas=settings.betas)
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.amp_dtype == torch.float16)

    def _restore(self) -> RunState:
        ck, path = self.ckpt, self.ckpt_path
        if ck is None:
            if self.cfg.init:
                self._warm_start(self.cfg.init)
            return RunState()
        ckpt_io.load_module_state(self.G, ck["G"], path, "generator")
        ckpt_io.load_module_state(self.D, ck["D"], path, "discriminator")
        try:
            self.opt_g.load_state_dict(ck["opt_g"])
            if self.opt_d is not None:
                self.opt_d.load_state_dict(ck["opt_d"])
            if ck.get("scaler") and self.scaler.is_enabled():
                self.scaler.load_state_dict(ck["scaler"])
        except (ValueError, KeyError, RuntimeError) as e:
            raise ckpt_io.CheckpointError(f"{path}: optimiser state does not fit ({e})") from None
        return RunState(
            step=int(ck["step"]), samples=int(ck["samples"]), wall=float(ck["wall"]), epoch=int(ck["epoch"]),
            epoch_samples=int(ck["epoch_samples"]), metrics=dict(ck.get("metrics", {})),
        )  # fmt: skip

    def _warm_start(self, source: str) -> None:
        """Generator and discriminator weights from another run's checkpoint (``cfg.init``: a full checkpoint, or
        a slim one from ``unmask export --checkpoint``, whose float16 weights load into the float32 models), or the
        generator of an exported ``.onnx`` model; optimisers, step and RNG start fresh."""
        if str(source).endswith(".onnx"):
            from unmask.train.onnx_init import (
                OnnxInitError,
                load_onnx_weights,
                onnx_meta,
            )

            try:
                meta = onnx_meta(source)
                if meta.get("arch") != self.cfg.arch or meta.get("preset") != self.arch_settings.preset:
                    raise OnnxInitError(
                        f"{source}: a {meta.get('arch')} {meta.get('preset')} model, not {self.cfg.arch} {self.arch_settings.preset}"
                    )
                load_onnx_weights(self.G, source)
            except OnnxInitError as e:
                raise ckpt_io.CheckpointError(str(e)) from None
            except (OSError, ValueError) as e:
                raise ckpt_io.CheckpointError(f"{source}: cannot read the ONNX model ({e})") from None
            return
        path = ckpt_io.resolve(source, self.cfg.out)
        ck = ckpt_io.load(path, arch=self.cfg.arch)
        if ck["preset"] != self.arch_settings.preset:
            raise ckpt_io.CheckpointError(
                f"{path}: checkpoint of preset {ck['preset']!r}, not {self.arch_settings.preset!r}"
            )
        ckpt_io.load_module_state(self.G, ck["G"], path, "generator")
        ckpt_io.load_discriminators(self.D, ck["D"], path)  # a discriminator only one of the runs uses is skipped

    def _make_loader(self) -> None:
        from unmask.train.data.dataset import CensorDataset, EpochSampler

        cfg, info = self.cfg, self.info
        self.kinds = kind_probs(cfg)
        store = _store(self.train_set)
        if self.holdout:
            from unmask.train.data.split import Part

            store = Part(store, 0, len(store) - self.holdout)
        self.dataset = CensorDataset(
            store,
            self.spec,
            self.kinds,
            self.arch_settings.hole_fill,
            train=True,
            seed=cfg.seed,
            jitter=cfg.color_jitter,
        )
        self.sampler = EpochSampler(self.dataset, info.world_size, info.rank, seed=cfg.seed)
        if len(self.sampler) < cfg.batch_size:
            raise ConfigError(
                f"{cfg.data}: {len(self.dataset)} usable face(s) give {len(self.sampler)} per process, fewer than "
                f"--batch-size {cfg.batch_size}"
            )
        workers = cfg.workers if cfg.workers is not None else (0 if self.device.type == "cpu" else 4)
        self.loader = torch.utils.data.DataLoader(
            self.dataset,
            batch_size=cfg.batch_size,
            sampler=self.sampler,
            num_workers=workers,
            drop_last=True,
            pin_memory=self.device.type == "cuda",
            worker_init_fn=_worker_init if workers else None,
            generator=torch.Generator().manual_seed(cfg.seed),  # keeps the global RNG untouched
        )

    def _make_validator(self, factory: ValidatorFactory | None) -> None:
        self.validator = None
        if not self.info.is_main or (self.val_set is None and not self.holdout):
            return
        if factory is None:
            self.emit(Event("note", message="validation left out: no validator given (unmask train gives one)"))
            return
        from unmask.train.data.dataset import CensorDataset

        cfg = self.cfg
        if self.val_set is not None:
            store = _store(self.val_set)
        else:  # the faces held out of the training data
            from unmask.train.data.split import Part

            full = _store(self.train_set)
            store = Part(full, len(full) - self.holdout, len(full))
        data = CensorDataset(
            store, self.spec, self.kinds, self.arch_settings.hole_fill, train=False, limit=cfg.val_images
        )
        self.validator = factory(data, self.device, cfg.batch_size, cfg.lpips_weights, cfg.perceptual_weights)
        if self.validator.note:
            self.emit(Event("note", message=self.validator.note))

    def _wrap(self) -> None:
        """Under ``torchrun``: the generator and each trainable discriminator in DistributedDataParallel."""
        self.Ds = {k: self.D[k] for k in self.D}
        if not self.info.enabled:
            return
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [self.device.index] if self.device.type == "cuda" else None
        probe = self.to_device(default_collate([self.dataset[i] for i in range(self.cfg.batch_size)]))
        unused = _untrained_generator_params(self.trainer, probe)
        self.trainer.G = DDP(self.G, device_ids=ids, find_unused_parameters=unused)
        for k, m in self.Ds.items():
            if _has_trainable(m):
                self.trainer.D[k] = DDP(m, device_ids=ids)

    # -- helpers ---------------------------------------------------------------------------------------------------
    def to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(self.device, non_blocking=True, memory_format=self.memory_format) for k, v in batch.items()}

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def describe(self) -> str:
        amp = f", {str(self.amp_dtype).replace('torch.', '')} autocast" if self.amp_dtype else ""
        bad = f" ({len(self.train_set.failed)} photos unusable)" if self.train_set.failed else ""
        return (
            f"{self.cfg.arch} ({self.arch_settings.preset}, {self.preset.size}px), {len(self.dataset)} faces{bad}, "
            f"{self.info.world_size} process(es) on {self.device.type}{amp}, run {self.run_dir}"
        )

    def save(self) -> Path:
        """Writes ``checkpoints/last.pt`` (rank 0; every rank contributes its RNG state)."""
        st, cfg = self.state, self.cfg
        rngs = dist.gather(self.info, ckpt_io.capture_rng())
        if self.info.is_main:
            ckpt_io.save_atomic(
                {
                    "format": ckpt_io.FORMAT, "kind": ckpt_io.KIND, "arch": cfg.arch, "preset": self.arch_settings.preset,
                    "config": cfg.to_json(), "G": self.G.state_dict(), "D": self.D.state_dict(),
                    "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict() if self.opt_d else {},
                    "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
                    "step": st.step, "samples": st.samples, "wall": st.wall, "epoch": st.epoch,
                    "epoch_samples": st.epoch_samples, "world_size": self.info.world_size, "rng": rngs,
                    "metrics": dict(st.metrics), "hole_fill": self.arch_settings.hole_fill, "torch": str(torch.__version__),
                    "saved": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                },
                self.last,
            )  # fmt: skip
            self.emit(Event("checkpoint", step=st.step, max_steps=cfg.max_steps, path=self.last))
        dist.barrier(self.info)
        return self.last

    def close(self) -> None:
        self.log.close()
