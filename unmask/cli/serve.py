"""``unmask serve``: the local web page and HTTP API (:mod:`unmask.serve`) on uvicorn."""

from __future__ import annotations

from typing import Optional

import typer

from unmask.cli._common import Device, fail, guarded, say, set_threads
from unmask.cli.options import RunDevice, flag, option
from unmask.infer.io.read import DEFAULT_MAX_PIXELS
from unmask.serve.settings import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT, DEFAULT_QUEUE, ServeSettings


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)  # its help: the docstring


@guarded
def serve(
    host: str = option(
        "--host HOST",
        "Address to listen on; any other than 127.0.0.1 lets anyone on that network use the server.",
        default=DEFAULT_HOST,
    ),
    port: int = option("--port N", "Port to listen on.", default=DEFAULT_PORT, min=1, max=65535),
    device: RunDevice = Device.auto,
    threads: int = option(
        "--threads N",
        "CPU threads per worker for inference (0 = the cores shared among the workers).",
        default=0,
        min=0,
    ),
    workers: int = option(
        "--workers N",
        "Photos restored at once, each worker with its own models (0 = one per two cores).",
        default=0,
        min=0,
    ),
    queue: int = option(
        "--queue N",
        "Requests waiting at most; beyond, the answer is 503 with Retry-After.",
        default=DEFAULT_QUEUE,
        min=1,
    ),
    max_upload_mb: float = option(
        "--max-upload-mb MB",
        "Largest upload (photo and mask); larger is answered 413.",
        default=DEFAULT_MAX_UPLOAD_MB,
        min=0.001,
    ),
    max_pixels: int = option(
        "--max-pixels N",
        "Refuse photos declaring more pixels (decompression bombs): 413.",
        default=DEFAULT_MAX_PIXELS,
        min=1,
    ),
    model: str | None = option(
        "--model -m NAME|PATH",
        "Model used when a request names none (see `unmask models`).  [default: the region's default model]",
    ),
    debug: bool = flag("--debug", "Show tracebacks (and uvicorn's info log)."),
) -> int:
    """Serve a local web page and HTTP API that restore photos as `unmask PHOTO` does (drop photos, see the faces
    found, edit the hole, compare, download; the API is documented at /docs). Needs the serve extra: pip install
    'unmask[serve]'. Only this machine can reach it unless --host says otherwise."""
    from unmask.serve import missing

    lacking = missing()
    if lacking:
        fail(
            f"`unmask serve` needs {', '.join(lacking)}, which {'is' if len(lacking) == 1 else 'are'} not installed: pip install 'unmask[serve]'"
        )
    set_threads(threads)
    settings = ServeSettings(host=host, port=port, device=device.value, threads=threads, max_upload_mb=max_upload_mb,
                             max_pixels=max_pixels, model=model, workers=workers, queue=queue)  # fmt: skip
    _check_model(model)
    import uvicorn

    from unmask.serve.app import create_app

    if not settings.local:
        say(f"warning: listening on {host}: anyone who can reach this machine on that network can use the server")
    shown = f"[{host}]" if ":" in host else host
    say(f"unmask serve: http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/ "
        f"({settings.n_workers} worker(s), queue {queue}; Ctrl-C stops; restored regions are synthetic)")  # fmt: skip
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info" if debug else "warning",
                access_log=debug)  # fmt: skip
    return 0


def _check_model(model: Optional[str]) -> None:
    """A ``--model`` that names nothing installed is a usage error before the server starts."""
    if model is None:
        return
    from unmask.infer.runtime.registry import find_model

    try:
        find_model(model, None)
    except LookupError as e:
        fail(str(e).strip("'\""))
