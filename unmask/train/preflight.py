"""What a training run can be checked for before anything slow starts (preparing faces takes minutes, building
and validating models seconds): the data and validation paths, the run and cache folders, the weights files named
by an option or a variable, and the run given to ``--init``.
Each problem is one :class:`ConfigError` (exit 2), a training set whose manifest is damaged or refused
(:func:`~unmask.train.data.shards.check_manifest`) included."""

from __future__ import annotations

import os
from pathlib import Path

from unmask.train.config import ConfigError, TrainConfig, default_data


def _exists(path: str, what: str) -> None:
    if not os.path.exists(path):
        raise ConfigError(f"{what} {path}: no such folder (a training set made by `unmask prepare`, or a folder of "
                          "face photos)")  # fmt: skip


def _writable(folder: str | os.PathLike, what: str) -> None:
    """``folder`` exists and is writable, or can be created (its nearest existing parent is a writable folder)."""
    p = Path(folder)
    while not p.exists() and p != p.parent:
        p = p.parent
    if not p.is_dir():
        raise ConfigError(f"{what} {folder}: {p} is not a folder")
    if not os.access(p, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {folder}: {p} is not writable")


def preflight(cfg: TrainConfig, resume: bool = False) -> None:
    """Raises :class:`ConfigError` for the first problem of ``cfg`` found without preparing or loading anything."""
    from unmask.train.data.prepare import cache_root
    from unmask.train.data.shards import SetError, check_manifest, is_face_set
    from unmask.weights import (
        ENV_FEATURES,
        ENV_LPIPS,
        FEATURES_FILE,
        LPIPS_FILE,
        OPTIONS,
        WHAT,
        WeightsNotFound,
        resolve,
    )

    data = cfg.data or default_data("train")
    if data is None:
        raise ConfigError("no training data: pass --data SET|DIR (a set made by `unmask prepare`, or a folder of face "
                          "photos), or set UNMASK_DATA")  # fmt: skip
    _exists(data, "--data")
    val = (cfg.val or default_data("val")) if cfg.validate else None
    if val:
        _exists(val, "--val")
    for p in (data, val):
        if p and is_face_set(p):
            try:
                check_manifest(p)  # a damaged or refused set: one line naming its manifest, before anything is built
            except SetError as e:
                raise ConfigError(str(e)) from None
    _writable(cfg.out, "--out")
    if not all(is_face_set(p) for p in (data, val) if p):
        _writable(cache_root(cfg.cache), "--cache")
    for given, env, name in (
        (cfg.perceptual_weights, ENV_FEATURES, FEATURES_FILE),
        (cfg.lpips_weights, ENV_LPIPS, LPIPS_FILE),
    ):
        try:
            resolve(given, env, WHAT[name], name)
        except WeightsNotFound as e:
            raise ConfigError(f"{e} (option {OPTIONS[name]})") from None
    if cfg.init and not resume:
        if str(cfg.init).endswith(".onnx"):
            if not os.path.isfile(cfg.init):
                raise ConfigError(f"--init {cfg.init}: no such file")
        else:
            from unmask.train import checkpoint as ckpt_io

            try:
                ckpt_io.resolve(cfg.init, cfg.out)
            except ckpt_io.CheckpointError as e:
                raise ConfigError(f"--init {e}") from None
