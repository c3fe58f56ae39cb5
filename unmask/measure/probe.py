"""Peak resident memory of a fresh process restoring one photo from file to file (:func:`memory_probe`), and a
group photo made for it (:func:`probe_group_photo`). Never prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from unmask.measure.baselines import load_inpainter
from unmask.measure.memory import MIB, current_rss, peak_rss
from unmask.measure.scaling import group_canvas


def _probe(model_ref: str, region: str, photo: str, out: str, device: str, threads: int, conn: Any) -> None:
    """Child side of :func:`memory_probe` (module level so ``spawn`` can import it)."""
    try:
        from unmask.infer.runner.job import process
        from unmask.infer.runner.records import BatchOptions
        from unmask.infer.inputs import Job
        from unmask.infer.pipeline import Restorer

        model = load_inpainter(model_ref, device, threads)
        with Restorer({region: model}, region=region, force=True) as restorer:
            before = current_rss()
            rec = process(Job(Path(photo), Path(out)), restorer, BatchOptions(overwrite=True))
        conn.send(
            {
                "peak": peak_rss(),
                "before": before,
                "status": rec.status,
                "error": rec.error,
                "faces": sum(f.get("status") == "restored" for f in rec.faces),
                "seconds": rec.seconds,
            }
        )
    except Exception as e:  # noqa: BLE001 - reported to the parent
        conn.send({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


@dataclass
class MemoryProbe:
    """Peak resident memory (bytes, ``getrusage``) of a fresh process that loads the model and restores one
    photo from file to file; ``before``: resident bytes after loading, before the photo."""

    megapixels: float
    faces_in_photo: int
    faces: int
    peak: int
    before: int
    seconds: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "megapixels": self.megapixels,
            "faces_in_photo": self.faces_in_photo,
            "faces": self.faces,
            "peak_mib": round(self.peak / MIB, 1),
            "before_photo_mib": round(self.before / MIB, 1),
            "seconds": round(self.seconds, 3),
            "status": self.status,
        }


def memory_probe(
    model_ref: str,
    region: str,
    photo: str | Path,
    out: str | Path,
    device: str = "cpu",
    threads: int = 0,
    timeout: float = 300.0,
) -> dict[str, Any]:
    """Restores ``photo`` into ``out`` in a fresh ``spawn``-ed process (so nothing this process loaded, such as
    torch, counts) and returns its peak memory: ``{"peak", "before", "status", "error", "faces", "seconds"}``.
    ``model_ref``: an ONNX path or a baseline name (:func:`unmask.measure.baselines.load_inpainter`)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(
        target=_probe, args=(model_ref, region, str(photo), str(out), device, threads, child), daemon=True
    )
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"memory probe did not finish in {timeout:.0f} s")
        result = parent.recv()
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    if "peak" not in result:
        raise RuntimeError(f"memory probe failed: {result.get('error')}")
    return result


def probe_group_photo(
    face_rgb: np.ndarray,
    model_ref: str,
    region: str,
    folder: str | Path,
    megapixels: float = 24,
    faces: int = 10,
    device: str = "cpu",
    threads: int = 0,
) -> MemoryProbe:
    """:func:`memory_probe` on a ``megapixels`` JPEG holding ``faces`` copies of ``face_rgb``."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"group-{megapixels:g}mp-{faces}faces.jpg"
    canvas = group_canvas(face_rgb, megapixels, faces)
    Image.fromarray(canvas).save(src, quality=92)
    del canvas
    r = memory_probe(model_ref, region, src, folder / "out" / src.name, device, threads)
    return MemoryProbe(
        megapixels, faces, int(r["faces"]), int(r["peak"]), int(r["before"]), float(r["seconds"]), str(r["status"])
    )
