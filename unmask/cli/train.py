"""``unmask train --arch NAME ...``: train a generator (one process, or many under ``torchrun``), resumable.

Settings come from the arch's SPEC, then ``--config FILE``, then the options given here (and, with ``--resume``,
from the checkpoint first). The first Ctrl-C (or SIGTERM) stops after the current step with a checkpoint, or,
when the step does not end within a second, abandons it (the run resumes from its last checkpoint); exit 130
either way, within two seconds. A second one aborts at once.
"""

from __future__ import annotations

import os
import pkgutil
import signal
from pathlib import Path
from typing import Any

import typer

from unmask.cli._common import (
    EXIT_USAGE,
    Device,
    HoleFill,
    TrainRegion,
    check_threads,
    fail,
    fail_for,
    interrupted,
    say,
)
from unmask.cli.options import Debug, LpipsWeights, flag, option
from unmask.cli.train_view import Stopper, View


def arch_modules() -> list[str]:
    """Arch names as the registry spells them, found without importing the arch modules (and torch): module
    ``context_encoder`` declares ``context-encoder``. A test keeps this equal to ``unmask.train.archs.names()``."""
    import unmask.train.archs as pkg

    return sorted(m.name.replace("_", "-") for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def register(app: typer.Typer) -> None:
    app.command("train")(train)  # its help: the docstring


def train(
    arch: str | None = option(
        "--arch -a NAME",
        f"Architecture: {', '.join(arch_modules())} (required, unless --resume or --config gives it).",
        show_default=False,
    ),
    preset: str | None = option(
        "--preset NAME",
        "Model size: one of the arch's presets, e.g. tiny, small, paper "
        "(default: the arch's; an unknown one lists them).",
    ),
    data: Path | None = option(
        "--data SET|DIR",
        "Training set made by `unmask prepare`, or a folder of face photos "
        "(default: $UNMASK_DATA; required when unset).",
    ),
    val: Path | None = option(
        "--val SET|DIR",
        "Validation set or photos (default: $UNMASK_VAL, else a fixed part of "
        "--data held out for validation and samples).",
    ),
    region: TrainRegion | None = option("--region -r", "Region to learn; mix: both, half each (default: eyes)."),
    mask_mix: str | None = option(
        "--mask-mix KIND=W,...",
        'Censor kinds and weights, e.g. "bar=0.5,pixelate=0.3,freeform=0.2" '
        "(default: the region's mix, docs/TRAINING.md).",
    ),
    color_jitter: float | None = option(
        "--color-jitter",
        "Share of training faces given a random exposure, colour cast, contrast and "
        "saturation (darker and warmer skin included; default: 0).",
        min=0.0,
        max=1.0,
    ),
    hole_fill: HoleFill | None = option(
        "--hole-fill", "Hole pixels of the input: zero, or keep the censor's pixels (default: the arch's)."
    ),
    batch_size: int | None = option("--batch-size -b N", "Faces per step and process (default: 16).", min=1),
    max_steps: int | None = option(
        "--max-steps N", "Stop at this step, counted from the run's start (default: no limit).", min=0
    ),
    max_minutes: float | None = option(
        "--max-minutes M",
        "Stop after this many minutes of training in this session (default: no limit; Ctrl-C stops too).",
        min=0.01,
    ),
    lr: float | None = option("--lr X", "Generator learning rate (default: the arch's)."),
    d_lr: float | None = option("--d-lr X", "Discriminator learning rate (default: the arch's)."),
    weight: list[str] | None = option(
        "--weight -w KEY=VALUE", "Loss weight override, e.g. adv=0.001; repeatable (default: the arch's weights)."
    ),
    config: Path | None = option(
        "--config FILE",
        "Settings file (.json or .toml) with the options' long names; options given here win (default: none).",
    ),
    out_dir: Path | None = option("--out DIR", "Folder of runs (default: runs)."),
    name: str | None = option("--name NAME", "Run name, its folder under --out (default: ARCH-PRESET-REGION-DATE)."),
    resume: str | None = option(
        "--resume RUN",
        "Continue a run: its name under --out, its folder, or a checkpoint file (default: a new run).",
    ),
    init: str | None = option(
        "--init RUN|FILE",
        "Start a new run from another run's weights (checkpoint, slim checkpoint from `unmask "
        "export --checkpoint`, run folder or name, or an exported .onnx generator): same arch and "
        "preset, fresh optimisers, step 0 (default: random weights).",
    ),
    checkpoint_every: int | None = option(
        "--checkpoint-every N", "Steps between checkpoints (default: 500; one at the end too).", min=1
    ),
    val_every: int | None = option(
        "--val-every N", "Steps between validations (default: 1000; one at the end too).", min=1
    ),
    val_images: int | None = option("--val-images N", "Validation faces (default: 64).", min=1),
    no_val: bool = flag(
        "--no-val",
        "Skip validation and samples (default: validate on --val, else on a held-out part of --data).",
    ),
    log_every: int | None = option("--log-every N", "Steps between log lines (default: 10).", min=1),
    perceptual_weights: Path | None = option(
        "--perceptual-weights FILE",
        "SqueezeNet 1.1 feature weights for the perceptual and style losses and LPIPS (default: "
        "$UNMASK_PERCEPTUAL_WEIGHTS, else the copy shipped with unmask).",
    ),
    lpips_weights: LpipsWeights = None,
    seed: int | None = option("--seed N", "Seed of weights, masks and data order (default: 0)."),
    threads: int | None = option("--threads N", "CPU threads for torch (default: all cores).", min=1),
    device: Device | None = option("--device", "Where to train; auto takes CUDA when torch has it (default: auto)."),
    workers: int | None = option(
        "--workers N",
        "Data-loader processes, and processes preparing photos (default: 0 on CPU, 4 on CUDA).",
        min=0,
    ),
    cache: Path | None = option(
        "--cache DIR", "Crop cache of photo folders (default: $UNMASK_CACHE, else runs/cache)."
    ),
    debug: Debug = False,
) -> None:
    """Train an inpainting generator on a training set from `unmask prepare` (no mediapipe needed), or on a folder of
    face photos (prepared once into a crop cache)."""
    given = {
        "arch": arch,
        "preset": preset,
        "data": str(data) if data else None,
        "val": str(val) if val else None,
        "region": region.value if region else None,
        "mask_mix": mask_mix,
        "hole_fill": hole_fill.value if hole_fill else None,
        "color_jitter": color_jitter,
        "batch_size": batch_size,
        "max_steps": max_steps,
        "max_minutes": max_minutes,
        "lr": lr,
        "d_lr": d_lr,
        "out": str(out_dir) if out_dir else None,
        "name": name,
        "init": init,
        "checkpoint_every": checkpoint_every,
        "val_every": val_every,
        "val_images": val_images,
        "validate": False if no_val else None,
        "log_every": log_every,
        "perceptual_weights": str(perceptual_weights) if perceptual_weights else None,
        "lpips_weights": str(lpips_weights) if lpips_weights else None,
        "seed": seed,
        "threads": threads,
        "device": device.value if device else None,
        "workers": workers,
        "cache": str(cache) if cache else None,
    }
    check_threads(threads)
    try:
        _train(given, weight or [], config, resume)
    except typer.Exit:
        raise
    except KeyboardInterrupt:
        interrupted("faces prepared so far are kept (in shards of 1,000 photos); rerun the same command to go on")
    except Exception as e:
        if debug:
            raise
        if isinstance(e, ImportError) and (e.name or "").split(".")[0] == "mediapipe":
            from unmask.train.data.prepare import detector_missing

            fail(detector_missing(), EXIT_USAGE)
        fail_for(e, "train")


def parse_weights(items: list[str]) -> dict[str, float]:
    """``["l1=2", "adv=0"]`` -> ``{"l1": 2.0, "adv": 0.0}``."""
    from unmask.train.config import ConfigError

    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--weight {item!r} is not KEY=VALUE")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise ConfigError(f"--weight {item!r}: {value!r} is not a number") from None
    return out


def _train(given: dict[str, Any], weight: list[str], config: Path | None, resume: str | None) -> None:
    from unmask.train.config import ConfigError, TrainConfig, load_file, parse_mask_mix

    settings: dict[str, Any] = load_file(config) if config else {}
    settings = {k.replace("-", "_"): v for k, v in settings.items()}
    settings.update({k: v for k, v in given.items() if v is not None})
    if isinstance(settings.get("mask_mix"), str):
        settings["mask_mix"] = parse_mask_mix(settings["mask_mix"])
    if weight:
        settings["weights"] = {**dict(settings.get("weights") or {}), **parse_weights(weight)}
    if not resume and settings.get("arch") is None:  # before torch is imported: a usage error, whatever is installed
        raise ConfigError("--arch is required (or --resume RUN, or arch in --config)")

    from unmask.train import archs  # imports torch

    if settings.get("arch") is not None and settings["arch"] not in archs.names():
        raise ConfigError(f"unknown arch {settings['arch']!r} (choose from {', '.join(archs.names())})")

    from unmask.measure.validation import Validator
    from unmask.train.loop import resume_config, train

    if resume:
        cfg, ckpt = resume_config(resume, settings, runs=settings.get("out") or "runs")
        _refuse_slim(ckpt)
    else:
        if "arch" not in settings:
            raise ConfigError("--arch is required (or --resume RUN, or arch in --config)")
        cfg, ckpt = TrainConfig.from_dict(settings), None
    from unmask.train.preflight import preflight

    preflight(cfg, resume=bool(resume))  # data, folders, weights, --init: before minutes of preparing faces

    view = View()
    stop = Stopper(view)
    old = {s: signal.signal(s, stop.on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    result = None
    try:
        try:
            with view:
                result = train(
                    cfg, resume_from=ckpt, progress=view.event, should_stop=lambda: stop.asked > 0, validator=Validator
                )
        finally:
            stop.finish()
            for s, h in old.items():
                signal.signal(s, h)
    except KeyboardInterrupt:
        if result is None and view.started:  # the step in progress abandoned: the last checkpoint stands
            interrupted(view.abandoned())
        if result is None:
            raise
    except Exception:
        if stop.asked and result is None and view.started:  # the abandoned step surfaced as another error (a
            interrupted(view.abandoned())  # library turned the interrupt into its own): still an interrupt, exit 130
        raise
    if int(os.environ.get("RANK", "0")) == 0:
        metrics = "  ".join(f"{k} {v:.4g}" for k, v in result.metrics.items())
        say(
            f"{result.reason}: step {result.step}, {result.samples} samples, {result.wall / 60:.1f} min; "
            f"checkpoint {result.checkpoint}" + (f"; val {metrics}" if metrics else "")
        )
    if result.reason == "stopped":  # Ctrl-C or SIGTERM: stopped cleanly, resumable, exit 130 as for any interrupt
        interrupted(f"continue with `unmask train --resume {result.run_dir}`")


def _refuse_slim(path: Path) -> None:
    """A slim checkpoint has no optimiser or RNG state to resume from: a usage error that says what works."""
    import torch

    from unmask.train import checkpoint as ckpt_io
    from unmask.train.config import ConfigError

    try:  # memory-mapped: only the keys are read, not every weight
        ck = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception:  # noqa: BLE001 - resume_config has loaded it already; train() reports any real problem
        return
    if isinstance(ck, dict) and ckpt_io.is_slim(ck):
        raise ConfigError(f"{path}: a slim checkpoint (weights only, no optimiser state) cannot resume a run; start "
                          f"a new one from it with --init {path}")  # fmt: skip
