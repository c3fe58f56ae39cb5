"""Where models are found: the repository's ``models/`` (or the installed copy under ``share/unmask/models``)
and any folder in ``UNMASK_MODELS`` (``os.pathsep``-separated). ``--model`` takes a name or a path."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from unmask.errors import ModelNotFound
from unmask.spec import REGIONS

ENV_MODELS = "UNMASK_MODELS"
_REPO_MODELS = Path(__file__).resolve().parents[3] / "models"
_INSTALLED_MODELS = Path(sys.prefix) / "share" / "unmask" / "models"


def model_dirs() -> list[Path]:
    """Folders searched for ``*.onnx``, first match wins: ``$UNMASK_MODELS``, then the shipped ``models/``."""
    dirs = [Path(p) for p in os.environ.get(ENV_MODELS, "").split(os.pathsep) if p]
    dirs += [_REPO_MODELS, _INSTALLED_MODELS]
    seen: list[Path] = []
    for d in dirs:
        if d.is_dir() and d.resolve() not in [s.resolve() for s in seen]:
            seen.append(d)
    return seen


@dataclass
class ModelInfo:
    name: str
    path: Path
    arch: str = "?"
    region: str = "?"
    size: int = 0
    bytes: int = 0
    error: str = ""
    default: bool = False


def list_models() -> list[ModelInfo]:
    """Installed models with their metadata, read without creating sessions (needs the ``onnx`` package
    only if installed; otherwise a CPU session reads the metadata). Broken files are listed with ``error``."""
    from unmask.infer.runtime.model import ModelError, load_model

    out: list[ModelInfo] = []
    names: set[str] = set()
    for d in model_dirs():
        for p in sorted(d.glob("*.onnx")):
            if p.stem in names:
                continue
            names.add(p.stem)
            info = ModelInfo(name=p.stem, path=p)
            try:
                info.bytes = p.stat().st_size
            except OSError as e:
                broken = isinstance(e, FileNotFoundError) and p.is_symlink()
                info.error = "broken symbolic link (its target is missing)" if broken else f"cannot read: {e.strerror or e}"
                out.append(info)
                continue
            try:
                m = load_model(p, device="cpu", threads=1)
                info.arch, info.region, info.size = m.meta.arch, m.meta.region, m.meta.size
            except ModelError as e:
                info.error = str(e).split(": ", 1)[-1]
            out.append(info)
    defaults = default_names()
    for i in out:
        i.default = i.name in defaults.values()
    return out


def default_names() -> dict[str, str]:
    """The default model name per region: ``models/defaults.txt`` lines ``region=name`` where present."""
    out: dict[str, str] = {}
    for d in model_dirs():
        f = d / "defaults.txt"
        try:
            text = f.read_text(encoding="utf-8") if f.is_file() else ""
        except (OSError, UnicodeDecodeError):  # an unreadable defaults file names no default
            text = ""
        if text:
            for line in text.splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    k, v = (s.strip() for s in line.split("=", 1))
                    if k in REGIONS and k not in out:
                        out[k] = v
    return out


def find_model(name_or_path: str | None, region: str | None) -> Path:
    """The model file for ``--model`` (a path, or a name in :func:`model_dirs`), or the default for ``region``.
    Raises :class:`unmask.errors.ModelNotFound` (a ``LookupError``) with a one-line reason when there is none."""
    if name_or_path:
        p = Path(name_or_path)
        if p.suffix == ".onnx" or os.sep in name_or_path or p.exists():
            return p
        for d in model_dirs():
            cand = d / f"{name_or_path}.onnx"
            if cand.is_file():
                return cand
        raise ModelNotFound(f"no model named {name_or_path!r} in {', '.join(map(str, model_dirs())) or 'any models folder'} (see `unmask models`)")
    defaults = default_names()
    if region in defaults:
        return find_model(defaults[region], None)
    # no defaults file: the only model for that region
    from unmask.infer.runtime.model import ModelError, load_model

    for d in model_dirs():
        for p in sorted(d.glob("*.onnx")):
            try:
                if load_model(p, "cpu", 1).meta.region == region:
                    return p
            except ModelError:
                continue
    raise ModelNotFound(
        f"no model installed for region {region!r}: train and export one (`unmask train`, `unmask export`), "
        f"put it in models/ or ${ENV_MODELS}, or pass --model PATH"
    )
