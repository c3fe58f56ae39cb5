"""The FastAPI app of ``unmask serve``: the page (plain HTML, JS and CSS under ``static/``, nothing from elsewhere)
and the HTTP API, documented by its OpenAPI schema (``/openapi.json``; ``/docs`` shows it with Swagger UI from
``fastapi-offline``'s local copy, so it works offline too).

* ``GET /api/health``: up, the version, the regions, the limits and the queue;
* ``GET /api/models``: what ``unmask models`` lists;
* ``POST /api/faces`` (multipart ``file``; ``region``, ``model``, ``faces``, ``largest``): the faces and their
  decisions as in a ``--json`` record, each with its ``label`` as ``--show-faces`` draws it (a face with a censor
  reads ``to restore``), and the hole that restoring would fill (``mask``, a base64 PNG, white = hole);
* ``POST /api/restore`` (the same, plus ``mask``, an image of the photo's size, white = restore, as ``--mask``, and
  ``format``): with ``Accept: image/*`` the restored photo's bytes (with its provenance tag) and the record in the
  ``X-Unmask-Record`` header (ASCII JSON); otherwise JSON: ``record``, ``image`` (base64), ``media_type``, ``mask``.

Refusals (:class:`unmask.serve.upload.Refused`): 413 an upload over the limit or a decompression bomb, 415 not an
image (videos too), 422 a bad form value or a photo that fails (its one-line reason), 503 with ``Retry-After`` when
the queue is full; never a traceback. Work runs in :class:`unmask.serve.pool.Pool`; the uploads live in memory and
in a temporary folder removed after each request; no path a client sends is opened.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import json
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from unmask.spec import VERSION
from unmask.infer.runtime.registry import list_models
from unmask.serve.limit import BodyLimit
from unmask.serve.pool import Busy, Pool
from unmask.serve.settings import FORM_SLACK, ServeSettings
from unmask.serve.upload import BAD_VALUE, BUSY, TOO_LARGE, Refused, parse_choices, sniff
from unmask.serve.work import Task
from unmask.spec import RUN_REGIONS

STATIC = Path(__file__).parent / "static"
SYNTHETIC = "The restored regions are synthetic: invented by a generator, not recovered; not for identifying anyone."
"""Said with every result, in the JSON answer, the image answer's headers and on the page."""


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": message, **extra}, status_code=status)


def create_app(settings: ServeSettings | None = None) -> FastAPI:
    """The app; its :class:`Pool` starts with the app (lifespan) and stops with it."""
    settings = settings or ServeSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = Pool(settings)
        try:
            yield
        finally:
            await asyncio.to_thread(app.state.pool.close)

    app = FastAPIOffline(title="unmask", version=VERSION, lifespan=lifespan,  # /docs from local files, no CDN
                         description="Restore censored faces (eye bars, mosaics, masks) in photos. " + SYNTHETIC)  # fmt: skip
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes + FORM_SLACK, limit_mb=settings.max_upload_mb)

    @app.exception_handler(Refused)
    async def _refused(request: Request, e: Refused) -> JSONResponse:
        return _error(e.status, e.message)

    @app.exception_handler(Busy)
    async def _busy(request: Request, e: Busy) -> JSONResponse:
        return JSONResponse({"detail": str(e)}, status_code=BUSY, headers={"Retry-After": str(e.retry_after)})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        said = "; ".join(f"{'.'.join(str(p) for p in err.get('loc', ())[1:]) or 'request'}: {err.get('msg')}"
                         for err in e.errors())  # fmt: skip
        return _error(BAD_VALUE, said or "bad request")

    @app.exception_handler(Exception)
    async def _internal(request: Request, e: Exception) -> JSONResponse:
        return _error(500, f"internal error: {type(e).__name__}: {' '.join(str(e).split())}")

    @functools.cache
    def model_names() -> list[str]:
        """The names a client may choose: the models installed when the server started (and its ``--model``)."""
        names = [m.name for m in list_models() if not m.error]
        return names + ([settings.model] if settings.model and settings.model not in names else [])

    async def read_upload(upload: UploadFile, what: str) -> tuple[bytes, str]:
        data = await upload.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise Refused(TOO_LARGE, f"the {what} is over the limit of {settings.max_upload_mb:g} MB")
        return data, sniff(data, upload.filename, what)

    async def work(request: Request, task: Task):  # noqa: ANN202 - Answer
        fut = request.app.state.pool.submit(task)
        return await asyncio.wrap_future(fut)

    async def make_task(file: UploadFile, region: str | None, model: str | None, faces: str | None,
                        largest: str | None, fmt: str | None = None, mask: UploadFile | None = None,
                        restore: bool = True) -> Task:  # fmt: skip
        data, ext = await read_upload(file, "photo")
        choices = parse_choices(region, model, faces, largest, fmt, model_names())
        mask_data, mask_ext = (None, ".png") if mask is None else await read_upload(mask, "mask")
        name = _printable(file.filename or "upload")
        return Task(data, ext, choices, name, mask_data, mask_ext, restore)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api/health", summary="Up, the version, regions, limits and the queue")
    async def health(request: Request) -> dict:
        pool = request.app.state.pool
        return {"status": "ok", "version": VERSION, "regions": list(RUN_REGIONS),
                "max_upload_mb": settings.max_upload_mb, "max_pixels": settings.max_pixels,
                "workers": settings.n_workers, "queue": settings.queue, "waiting": pool.waiting,
                "synthetic": SYNTHETIC}  # fmt: skip

    @app.get("/api/models", summary="The installed models, as `unmask models` lists them")
    async def models() -> list[dict]:
        return [{"name": i.name, "arch": i.arch, "region": i.region, "size": i.size, "bytes": i.bytes,
                 "default": i.default, "error": i.error or None} for i in list_models()]  # fmt: skip

    @app.post("/api/faces", summary="The faces of a photo, the decision for each, and the hole restoring would fill")
    async def find_faces(request: Request, file: UploadFile = File(..., description="the photo"),
                         region: str | None = Form(None, description="eyes, mouth or auto (default auto)"),
                         model: str | None = Form(None, description="an installed model's name (default: the region's)"),
                         faces: str | None = Form(None, description="only these faces, e.g. 0,2"),
                         largest: str | None = Form(None, description="true: only the largest face")) -> dict:  # fmt: skip
        answer = await work(request, await make_task(file, region, model, faces, largest, restore=False))
        return {"record": answer.record, "mask": _b64(answer.mask)}

    @app.post("/api/restore", summary="Restore a photo (Accept: image/* for the bytes, else JSON)",
              responses={200: {"content": {"image/png": {}, "image/jpeg": {}, "application/json": {}}}})  # fmt: skip
    async def restore(request: Request, file: UploadFile = File(..., description="the photo"),
                      region: str | None = Form(None, description="eyes, mouth or auto (default auto)"),
                      model: str | None = Form(None, description="an installed model's name (default: the region's)"),
                      faces: str | None = Form(None, description="only these faces, e.g. 0,2"),
                      largest: str | None = Form(None, description="true: only the largest face"),
                      mask: UploadFile | None = File(None, description="your own hole: white = restore, the photo's size"),
                      format: str | None = Form(None, description="png, jpg, webp or tif (default: the photo's)")) -> Response:  # fmt: skip
        answer = await work(request, await make_task(file, region, model, faces, largest, format, mask))
        if _wants_image(request.headers.get("accept", "")):
            if answer.image is None:
                return _error(BAD_VALUE, answer.record.get("note") or "nothing restored", record=answer.record)
            headers = {"X-Unmask-Record": json.dumps(answer.record, ensure_ascii=True), "X-Unmask-Synthetic": SYNTHETIC}
            return Response(answer.image, media_type=answer.media_type, headers=headers)
        return JSONResponse({"record": answer.record, "image": _b64(answer.image), "media_type": answer.media_type,
                             "mask": _b64(answer.mask), "synthetic": SYNTHETIC})  # fmt: skip

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _wants_image(accept: str) -> bool:
    """Whether an ``Accept`` header asks for an image (``image/*``, ``image/png`` ...) rather than JSON."""
    return any(part.split(";")[0].strip().lower().startswith("image/") for part in accept.split(","))


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def _printable(name: str) -> str:
    """A client's file name for the record: its last part, printable characters only (never opened)."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable())[:200] or "upload"
