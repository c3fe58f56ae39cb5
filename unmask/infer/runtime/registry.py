"""Where models are found: the repository's ``models/`` (or the installed copy under ``share/unmask/models``)
and any folder in ``UNMASK_MODELS`` (``os.pathsep``-separated). ``--model`` takes a name or a path."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
                info.error = (
                    "broken symbolic link (its target is missing)" if broken else f"cannot read: {e.strerror or e}"
                )
                out.append(info)
                continue
            try:
                m = load_model(p, device="cpu", threads=1)
                info.arch, info.region, info.size = m.meta.arch, m.meta.region, m.meta.size
            except ModelError as e:
                info.error = str(e).split(": ", 1)[-1]
            out.append(info)
    defaults = {*default_names().values(), *default_names(cpu=True).values()}
    for i in out:
        i.default = i.name in defaults
    return out


INT8_SUFFIX = "-int8"
"""What an int8 model's name adds to its float model's (``dmfn-eyes`` -> ``dmfn-eyes-int8``, ``unmask quantize``)."""


def int8_of(path: Path) -> Path | None:
    """The int8 copy of the float model at ``path`` (``NAME-int8.onnx`` beside it, or by name in :func:`model_dirs`),
    or None."""
    if path.stem.endswith(INT8_SUFFIX):
        return None
    beside = path.with_name(f"{path.stem}{INT8_SUFFIX}.onnx")
    if beside.is_file():
        return beside
    found = [d / beside.name for d in model_dirs() if (d / beside.name).is_file()]
    return found[0] if found else None


DEFAULTS, CPU_DEFAULTS = "defaults.txt", "defaults-cpu.txt"
"""Files of a models folder naming the default model per region, lines ``region=name``: ``defaults.txt`` everywhere,
``defaults-cpu.txt`` first on a CPU session (an int8 model where it measures as good as the float one: see
``unmask quantize`` and the model cards)."""


def default_names(cpu: bool = False) -> dict[str, str]:
    """The default model name per region: the first folder of :func:`model_dirs` that names one wins; in a folder,
    with ``cpu``, :data:`CPU_DEFAULTS` before :data:`DEFAULTS`."""
    out: dict[str, str] = {}
    for d in model_dirs():
        for f in ((d / CPU_DEFAULTS,) if cpu else ()) + (d / DEFAULTS,):
            try:
                text = f.read_text(encoding="utf-8") if f.is_file() else ""
            except (OSError, UnicodeDecodeError):  # an unreadable defaults file names no default
                text = ""
            mine: dict[str, str] = {}
            for line in text.splitlines():
                if "=" in line and not line.lstrip().startswith("#"):
                    k, v = (s.strip() for s in line.split("=", 1))
                    if k in REGIONS and k not in out:
                        mine.setdefault(k, v)
            out.update(mine)
    return out


def find_model(name_or_path: str | None, region: str | None, cpu: bool = False) -> Path:
    """The model file for ``--model`` (a path, or a name in :func:`model_dirs`), or the default for ``region``
    (``cpu``: its default on a CPU session, :func:`default_names`). Raises :class:`unmask.errors.ModelNotFound` (a
    ``LookupError``) with a one-line reason when there is none."""
    if name_or_path:
        p = Path(name_or_path)
        if p.suffix == ".onnx" or os.sep in name_or_path or p.exists():
            return p
        for d in model_dirs():
            cand = d / f"{name_or_path}.onnx"
            if cand.is_file():
                return cand
        raise ModelNotFound(
            f"no model named {name_or_path!r} in {', '.join(map(str, model_dirs())) or 'any models folder'} (see `unmask models`)"
        )
    defaults = default_names(cpu)
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


def runs_on_cpu(device: str) -> bool:
    """Whether a session for ``device`` will run on the CPU: ``cpu``, or ``auto`` where this onnxruntime offers no
    CUDA (where it lists CUDA but cannot load it, :func:`load_default` finds out from the session)."""
    from unmask.infer.runtime.session import cuda_listed

    return device == "cpu" or (device == "auto" and not cuda_listed())


def load_default(region: str, device: str = "auto", threads: int = 0) -> Any:
    """The default :class:`unmask.infer.runtime.Model` of ``region`` for ``device``: on a CPU session the region's
    CPU default (:func:`default_names`), on CUDA the float one. Raises ``LookupError`` or ``ModelError``."""
    from unmask.infer.runtime.model import load_model
    from unmask.infer.runtime.session import CUDA

    cpu = runs_on_cpu(device)
    model = load_model(find_model(None, region, cpu), device, threads)
    if not cpu and CUDA not in model.providers:  # CUDA listed, but the session fell back to the CPU
        path = find_model(None, region, cpu=True)
        if path.resolve() != model.path.resolve():
            model = load_model(path, device, threads)
    return model
