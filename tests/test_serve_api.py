"""``unmask serve``'s HTTP API through FastAPI's TestClient, on the tiny test generators: the same results and
records as ``unmask PHOTO``, the refusals of the README's table (413, 415, 422, 503) and no file left behind."""

from __future__ import annotations

import base64
import io
import json
import re
import tempfile
import threading
import zlib
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("fastapi", reason="the serve extra is not installed")
pytest.importorskip("httpx", reason="httpx (FastAPI's TestClient) is not installed")

from fastapi.testclient import TestClient

from unmask.infer.io.read import read_provenance
from unmask.serve.app import create_app
from unmask.serve.settings import ServeSettings


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="PNG")
    return buf.getvalue()


def _decode(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


@pytest.fixture(scope="module")
def tiny_env(models_dir: Path) -> Path:
    """UNMASK_MODELS pointed at the tiny generators for the whole module (one model load per worker)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("UNMASK_MODELS", str(models_dir))
        yield models_dir


@pytest.fixture(scope="module")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every temporary file of the module's requests goes (tempfile's folder), to see it left empty."""
    root = tmp_path_factory.mktemp("serve-tmp")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tempfile, "tempdir", str(root))
        yield root


@pytest.fixture(scope="module")
def client(tiny_env: Path, tmp_root: Path):
    with TestClient(create_app(ServeSettings(workers=1, threads=1, max_upload_mb=2, max_pixels=2_000_000))) as c:
        yield c


@pytest.fixture(scope="module")
def barred(censored_astronaut) -> bytes:
    return _png(np.ascontiguousarray(censored_astronaut[0]))


def test_health_and_models(client: TestClient) -> None:
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and "auto" in health["regions"] and "synthetic" in health["synthetic"]
    names = {m["name"] for m in client.get("/api/models").json()}
    assert {"tiny_eyes", "tiny_mouth"} <= names
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/api/restore", "/api/faces", "/api/health"}


def test_faces_gives_the_decisions_and_the_hole_without_restoring(client: TestClient, barred: bytes,
                                                                  censored_astronaut) -> None:  # fmt: skip
    r = client.post("/api/faces", files={"file": ("astronaut.png", barred)}, data={"region": "eyes"})
    assert r.status_code == 200, r.text
    body = r.json()
    (face,) = body["record"]["faces"]
    assert face["index"] == 0 and face["label"] == "to restore: eyes" and "bar censor" in face["decision"]
    assert body["record"]["input"] == "astronaut.png" and body["record"]["output"] is None
    assert "image" not in body
    hole = _decode(base64.b64decode(body["mask"]))[..., 0] > 127
    bar = censored_astronaut[1] > 127
    assert (hole & bar).sum() / bar.sum() > 0.95  # the hole covers the bar


def test_restore_json_is_the_cli_result(client: TestClient, barred: bytes, cli, tmp_path: Path) -> None:
    r = client.post("/api/restore", files={"file": ("astronaut.png", barred)}, data={"region": "eyes"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["record"]["status"] == "restored" and body["media_type"] == "image/png"
    assert "synthetic" in body["synthetic"]
    served = base64.b64decode(body["image"])
    (tmp_path / "astronaut.png").write_bytes(barred)
    res = cli(tmp_path / "astronaut.png", "--region", "eyes", "--out", tmp_path / "out", "--threads", "1")
    assert res.exit_code == 0, res.stderr
    assert np.array_equal(_decode(served), _decode((tmp_path / "out" / "astronaut.png").read_bytes()))
    path = tmp_path / "served.png"
    path.write_bytes(served)
    assert read_provenance(path)["regions"] == ["eyes"]  # the provenance tag: synthetic
    hole = _decode(base64.b64decode(body["mask"]))[..., 0] > 127
    changed = np.any(_decode(served) != _decode(barred), axis=2)
    assert changed.any() and not (changed & ~hole).any()


def test_restore_with_accept_image_gives_bytes_and_the_record_header(client: TestClient, barred: bytes) -> None:
    r = client.post("/api/restore", files={"file": ("a.png", barred)}, data={"region": "eyes", "format": "jpg"},
                    headers={"Accept": "image/*"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/jpeg" and r.content[:3] == b"\xff\xd8\xff"
    record = json.loads(r.headers["x-unmask-record"])
    assert record["status"] == "restored" and record["faces"][0]["label"] == "restored eyes"


def test_a_brushed_hole_is_restored_as_given(client: TestClient, barred: bytes, censored_astronaut) -> None:
    ys, xs = np.nonzero(censored_astronaut[1])
    mask = np.zeros((512, 512), np.uint8)
    cy, cx = int(ys.mean()), int(xs.mean())
    mask[cy - 6 : cy + 6, cx - 30 : cx + 30] = 255  # a stroke across the bar's middle only
    r = client.post("/api/restore", files={"file": ("a.png", barred), "mask": ("m.png", _png(np.dstack([mask] * 3)))})
    assert r.status_code == 200, r.text
    assert r.json()["record"]["faces"][0]["decision"] == "user mask"
    changed = np.any(_decode(base64.b64decode(r.json()["image"])) != _decode(barred), axis=2)
    assert changed.any() and not changed[mask == 0].any()


def test_faces_chosen_and_nothing_restored(client: TestClient, barred: bytes) -> None:
    r = client.post("/api/restore", files={"file": ("a.png", barred)}, data={"faces": "1"})
    assert r.status_code == 200 and r.json()["image"] is None and r.json()["record"]["status"] == "no-face"
    r = client.post(
        "/api/restore", files={"file": ("a.png", barred)}, data={"faces": "1"}, headers={"Accept": "image/png"}
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("no face to restore")


def _bomb() -> bytes:
    """A PNG declaring 40000x40000 pixels (1.6 gigapixels) in a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 40000, 40000, 8, 2, 0, 0, 0))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("files, data, status, said", [
    ({"file": ("big.png", b"\x89PNG" + b"\0" * 3_100_000)}, {}, 413, "over the limit of 2 MB"),
    ({"file": ("bomb.png", _bomb())}, {}, 413, "too large"),
    ({"file": ("notes.txt", b"just some words")}, {}, 415, "not an image"),
    ({"file": ("clip.mp4", b"\0\0\0\x18ftypmp42" + b"\0" * 64)}, {}, 415, "video"),
    ({"file": ("renamed.png", b"\0\0\0\x18ftypisom" + b"\0" * 64)}, {}, 415, "video"),
    ("barred", {"region": "nose"}, 422, "region 'nose'"),
    ("barred", {"faces": "first"}, 422, "faces 'first'"),
    ("barred", {"faces": "0", "largest": "true"}, 422, "not both"),
    ("barred", {"model": "/etc/passwd"}, 422, "not installed"),
    ("barred", {"format": "bmp"}, 422, "format"),
    ({}, {}, 422, "file"),
])  # fmt: skip
def test_bad_requests_get_a_status_and_a_plain_reason(client: TestClient, barred: bytes, files, data, status: int,
                                                      said: str) -> None:  # fmt: skip
    files = {"file": ("a.png", barred)} if files == "barred" else files
    r = client.post("/api/restore", files=files or None, data=data)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert said in detail and "Traceback" not in detail and "\n" not in detail


def test_a_mask_of_another_size_is_a_plain_422(client: TestClient, barred: bytes) -> None:
    r = client.post(
        "/api/restore", files={"file": ("a.png", barred), "mask": ("m.png", _png(np.zeros((10, 10, 3), np.uint8)))}
    )
    assert r.status_code == 422 and "10x10 but the photo is 512x512" in r.json()["detail"]


def test_no_file_is_left_behind(client: TestClient, barred: bytes, tmp_root: Path) -> None:
    client.post("/api/restore", files={"file": ("a.png", barred)}, data={"region": "eyes"})
    client.post("/api/restore", files={"file": ("a.png", b"not an image")})
    assert list(tmp_root.iterdir()) == []


def test_a_full_queue_answers_503_with_retry_after(tiny_env: Path, barred: bytes, monkeypatch) -> None:
    from unmask.serve import work

    release, started = threading.Event(), threading.Semaphore(0)
    real = work.Worker.run

    def held(self, task):
        started.release()
        release.wait(30)
        return real(self, task)

    monkeypatch.setattr(work.Worker, "run", held)
    answers: list[int] = []
    with TestClient(create_app(ServeSettings(workers=1, queue=1, threads=1))) as c:

        def post() -> None:
            answers.append(
                c.post("/api/restore", files={"file": ("a.png", barred)}, data={"region": "eyes"}).status_code
            )

        first = threading.Thread(target=post)
        first.start()
        assert started.acquire(timeout=30)  # the worker holds the first; the second waits in the queue
        second = threading.Thread(target=post)
        second.start()
        for _ in range(100):
            if c.get("/api/health").json()["waiting"] == 1:
                break
            threading.Event().wait(0.05)
        r = c.post("/api/restore", files={"file": ("a.png", barred)})
        assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1 and "busy" in r.json()["detail"]
        release.set()
        first.join(60)
        second.join(60)
    assert answers == [200, 200]


def test_the_page_and_its_files_are_served_locally(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for ref in ("/static/app.js", "/static/style.css"):
        assert ref in page.text and client.get(ref).status_code == 200
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    docs = client.get("/docs")
    assert docs.status_code == 200 and "https://" not in docs.text  # the API's docs too: Swagger UI from local files
    scripts = re.findall(r'src="([^"]+\.js)"', docs.text)
    assert scripts and all(client.get(src).status_code == 200 for src in scripts)
