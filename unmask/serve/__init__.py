"""``unmask serve``: a local web page and HTTP API over the same path as ``unmask PHOTO`` (the optional extra
``unmask[serve]``: FastAPI, fastapi-offline, uvicorn, python-multipart).

* :mod:`~unmask.serve.settings`: :class:`ServeSettings` and the defaults;
* :mod:`~unmask.serve.upload`: what a client sends, checked (:func:`sniff`, :func:`parse_choices`, :class:`Refused`);
* :mod:`~unmask.serve.work`: one request's work in a temporary folder, by :func:`unmask.infer.runner.process`;
* :mod:`~unmask.serve.pool`: worker threads behind a bounded queue (:class:`Busy` when full);
* :mod:`~unmask.serve.limit`: request bodies over the upload limit refused before they are parsed;
* :mod:`~unmask.serve.app`: the FastAPI app (:func:`create_app`): the page under ``static/`` and the API.

Imports only the inference wing and the shared contract. FastAPI is imported by :mod:`~unmask.serve.app` and
:mod:`~unmask.serve.limit` alone; :data:`NEEDS` names what the extra brings, for the CLI's one line.
"""

NEEDS = ("fastapi", "fastapi_offline", "uvicorn", "multipart")
"""Modules ``unmask serve`` needs beyond the base install (``pip install 'unmask[serve]'``)."""


def missing() -> list[str]:
    """The modules of :data:`NEEDS` that are not installed."""
    from importlib.util import find_spec

    return [m for m in NEEDS if find_spec(m) is None]
