"""One request's work, done by a worker thread the way ``unmask PHOTO`` does it: the upload written to a temporary
folder, restored by :func:`unmask.infer.runner.process` (the CLI's own path: read, find, restore, write with the
provenance tag, the record), the outputs read back, the folder removed. A :class:`Worker` holds what a thread
keeps between requests: its face finder and the models it has loaded, each once."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from unmask.infer.inputs import Job
from unmask.infer.io.read import EXTENSIONS, ImageError, read_provenance
from unmask.infer.io.write import output_suffix
from unmask.infer.pipeline import Restorer, load_models
from unmask.infer.runner import BatchOptions, load_user_mask, process, sidecar
from unmask.infer.show import label
from unmask.serve.settings import ServeSettings
from unmask.serve.upload import BAD_VALUE, NOT_IMAGE, TOO_LARGE, Choices, Refused

MEDIA_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff", "GIF": "image/gif"}
"""The content type of each format the server answers in."""


@dataclass(frozen=True)
class Task:
    """What a worker is asked: ``data`` (the photo's bytes, ``ext`` its extension from :func:`unmask.serve.upload.sniff`),
    ``choices``, an optional hole (``mask`` bytes and ``mask_ext``: white = restore, as ``--mask``), ``name`` (the
    client's file name, shown in the record only) and ``restore`` (False: the faces and the hole only)."""

    data: bytes
    ext: str
    choices: Choices
    name: str = "upload"
    mask: bytes | None = None
    mask_ext: str = ".png"
    restore: bool = True


@dataclass
class Answer:
    """``record``: the ``--json`` record (``input``: the client's name, ``output``: null; each face with its
    ``label``, as ``--show-faces`` writes it); ``image``: the restored photo's bytes with the provenance tag, in
    ``media_type`` (None when nothing was restored or only the faces were asked); ``mask``: the restored hole, a
    PNG (white = restored)."""

    record: dict
    image: bytes | None = None
    media_type: str | None = None
    mask: bytes | None = None


class Worker:
    """A restoring thread's own face finder and models (created on first use in that thread, kept after)."""

    def __init__(self, settings: ServeSettings) -> None:
        self.settings = settings
        self._finder = None
        self._models: dict[tuple[str | None, str], dict] = {}

    def restorer(self, choices: Choices) -> Restorer:
        from unmask.infer.face.detect import FaceFinder

        if self._finder is None:
            self._finder = FaceFinder()
        key = (choices.model or self.settings.model, choices.region)
        if key not in self._models:
            try:
                self._models[key] = load_models(key[0], key[1], self.settings.device, self.settings.worker_threads)
            except LookupError as e:
                raise Refused(BAD_VALUE, str(e).strip("'\"")) from None
        return Restorer(self._models[key], region=choices.region, finder=self._finder, choose=choices.choice)

    def close(self) -> None:
        if self._finder is not None:
            self._finder.close()
            self._finder = None

    def run(self, task: Task) -> Answer:
        """Does ``task`` in a temporary folder removed before returning; :class:`Refused` for an upload that is too
        large (413) or not an image (415) once its header is read, and for a photo that fails (422, the record's
        one-line error)."""
        max_pixels = self.settings.max_pixels
        with tempfile.TemporaryDirectory(prefix="unmask-serve-") as tmp:
            src = Path(tmp) / f"photo{task.ext}"
            src.write_bytes(task.data)
            _check(src, max_pixels, "the photo")
            user_mask = None
            if task.mask is not None:
                mask_file = Path(tmp) / f"mask{task.mask_ext}"
                mask_file.write_bytes(task.mask)
                _check(mask_file, max_pixels, "the mask")
                user_mask = load_user_mask(mask_file, False, max_pixels)
            out = Path(tmp) / f"restored{output_suffix(task.ext, task.choices.fmt)}"
            options = BatchOptions(overwrite=True, save_mask=True, max_pixels=max_pixels, user_mask=user_mask,
                                   user_mask_path="upload" if user_mask is not None else None)  # fmt: skip
            rec = process(Job(src, out), self.restorer(task.choices), options)
            if rec.status == "failed":
                raise Refused(BAD_VALUE, f"{task.name}: {rec.error}")
            record = rec.to_dict() | {"input": task.name, "output": None}
            for face in record["faces"]:
                face["label"] = label(face["status"], face["decision"], face["region"], planned=not task.restore)
            answer = Answer(record)
            mask_out = sidecar(out, "mask")
            if rec.status == "restored" and mask_out.exists():
                answer.mask = mask_out.read_bytes()
            if task.restore and rec.status == "restored":
                answer.image = out.read_bytes()
                answer.media_type = MEDIA_TYPES[EXTENSIONS[out.suffix.lower()]]
        return answer


def _check(path: Path, max_pixels: int, what: str) -> None:
    """The upload's header: its declared size under the pixel limit (413: a decompression bomb is refused before
    it is decoded), an image unmask reads (415)."""
    try:
        read_provenance(path, max_pixels)
    except ImageError as e:
        raise Refused(TOO_LARGE if e.kind == "too_large" else NOT_IMAGE, f"{what}: {e}") from None
