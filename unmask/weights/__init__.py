"""Weights that ship inside the package (torch-free to import): SqueezeNet 1.1 ImageNet features for the
perceptual, style and self-guided losses, and the LPIPS v0.1 SqueezeNet heads for the LPIPS metric. Their sources
and licences are in ``NOTICE.txt`` beside them.

Which file is used (:func:`resolve`): the path given (an option), else the environment variable, else the shipped
file. A path or variable naming a file that does not exist is an error, never silently replaced.
"""

from __future__ import annotations

import os
from pathlib import Path
from unmask.errors import UsageError

DIR = Path(__file__).resolve().parent
FEATURES_FILE = "squeezenet1_1_features.pth"
LPIPS_FILE = "lpips_squeeze_v0.1.pth"
NOTICE = DIR / "NOTICE.txt"
ENV_FEATURES = "UNMASK_PERCEPTUAL_WEIGHTS"
ENV_LPIPS = "UNMASK_LPIPS_WEIGHTS"
WHAT = {FEATURES_FILE: "SqueezeNet 1.1 feature", LPIPS_FILE: "LPIPS SqueezeNet v0.1"}
ENV_OF = {FEATURES_FILE: ENV_FEATURES, LPIPS_FILE: ENV_LPIPS}
OPTIONS = {FEATURES_FILE: "--perceptual-weights", LPIPS_FILE: "--lpips-weights"}


class WeightsNotFound(UsageError, FileNotFoundError):
    """No usable weights file: the one named does not exist, or the shipped one is missing from the install."""


def shipped(name: str) -> Path:
    """The shipped copy of the weights file ``name`` (:data:`FEATURES_FILE` or :data:`LPIPS_FILE`)."""
    return DIR / name


def resolve(path: str | os.PathLike | None, env: str, what: str, name: str) -> Path:
    """The weights file to use: ``path``, else ``$env``, else the shipped file ``name``. Raises
    :class:`WeightsNotFound` (one line naming where it looked and how to go on) when that file does not exist."""
    for cand, source in ((path, "the file given"), (os.environ.get(env), f"${env}")):
        if cand:
            p = Path(cand)
            if p.is_file():
                return p
            drop = "leave the option out" if source == "the file given" else f"unset {env}"
            raise WeightsNotFound(f"{p}: {what} weights not found ({source}); {drop} to use the copy shipped with "
                                  f"unmask ({name})")  # fmt: skip
    p = shipped(name)
    if p.is_file():
        return p
    raise WeightsNotFound(
        f"no {what} weights: the copy shipped with unmask ({p}) is missing from this install; reinstall unmask, "
        f"or pass a path or set {env} (a file such as {name}), or switch off what needs them"
    )
