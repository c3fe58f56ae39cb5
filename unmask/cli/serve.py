"""``unmask serve``: the local web page and HTTP API (:mod:`unmask.serve`) on uvicorn."""

from __future__ import annotations

from typing import Optional

import typer

from unmask.cli._common import Device, fail, guarded, say, set_threads
from unmask.infer.io.read import DEFAULT_MAX_PIXELS
from unmask.serve.settings import DEFAULT_HOST, DEFAULT_MAX_UPLOAD_MB, DEFAULT_PORT, DEFAULT_QUEUE, ServeSettings

SERVE_HELP = (
    "Serve a local web page and HTTP API that restore photos as `unmask PHOTO` does (drop photos, see the faces "
    "found, edit the hole, compare, download; the API is documented at /docs). Needs the serve extra: "
    "pip install 'unmask[serve]'. Only this machine can reach it unless --host says otherwise."
)


def register(app: typer.Typer) -> None:
    app.command("serve", help=SERVE_HELP, short_help="Serve a local web page and HTTP API.")(serve)


@guarded
def serve(
    host: str = typer.Option(
        DEFAULT_HOST,
        "--host",
        metavar="HOST",
        help="Address to listen on; any other than 127.0.0.1 lets anyone on that network use the server.",
    ),
    port: int = typer.Option(DEFAULT_PORT, "--port", metavar="N", min=1, max=65535, help="Port to listen on."),
    device: Device = typer.Option(
        Device.auto,
        "--device",
        help="Where the models run; auto takes CUDA when ONNX Runtime really gets it, else the CPU.",
    ),
    threads: int = typer.Option(
        0,
        "--threads",
        metavar="N",
        min=0,
        help="CPU threads per worker for inference (0 = the cores shared among the workers).",
    ),
    workers: int = typer.Option(
        0,
        "--workers",
        metavar="N",
        min=0,
        help="Photos restored at once, each worker with its own models (0 = one per two cores).",
    ),
    queue: int = typer.Option(
        DEFAULT_QUEUE,
        "--queue",
        metavar="N",
        min=1,
        help="Requests waiting at most; beyond, the answer is 503 with Retry-After.",
    ),
    max_upload_mb: float = typer.Option(
        DEFAULT_MAX_UPLOAD_MB,
        "--max-upload-mb",
        metavar="MB",
        min=0.001,
        help="Largest upload (photo and mask); larger is answered 413.",
    ),
    max_pixels: int = typer.Option(
        DEFAULT_MAX_PIXELS,
        "--max-pixels",
        metavar="N",
        min=1,
        help="Refuse photos declaring more pixels (decompression bombs): 413.",
    ),
    model: Optional[str] = typer.Option(
        None,
        "--model",
        "-m",
        metavar="NAME|PATH",
        help="Model used when a request names none (see `unmask models`).  [default: the region's default model]",
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks (and uvicorn's info log)."),
) -> int:
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
