"""Load on `unmask serve` (issue 27): REQUESTS restorations from CLIENTS concurrent clients against a local server
(a subprocess, the default models), validation photos with the project's eye bar. Every request must be answered
(200, or 503 and retried after its Retry-After), none lost, each result identical to `unmask PHOTO`'s for the same
photo, and the server's memory flat. Prints p50/p95 latency (first send to the 200, waits for 503 included), the
503s, the throughput and the server's resident memory over the run, as a Markdown block for benchmarks/RESULTS.md.

    python benchmarks/serve_load.py [--requests 200] [--clients 8] [--photos 10] [--queue 4]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import numpy as np
from PIL import Image

VAL = Path(
    os.environ.get("UNMASK_VAL", Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "celeba" / "val")
)


def barred_photos(n: int, folder: Path) -> list[Path]:
    """The first ``n`` validation photos with one face found, the project's eye bar drawn on, saved as PNG."""
    from unmask.infer.censors import draw_censor
    from unmask.infer.face.detect import FaceFinder

    out = []
    with FaceFinder() as finder:
        for path in sorted(VAL.glob("*.jpg")):
            rgb = np.asarray(Image.open(path).convert("RGB"))
            faces = finder.search(rgb).faces
            if len(faces) == 1:
                censored, _ = draw_censor(rgb, faces[0].landmarks, "bar", np.random.default_rng(len(out)))
                Image.fromarray(censored).save(folder / f"{path.stem}.png")
                out.append(folder / f"{path.stem}.png")
            if len(out) == n:
                break
    return out


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=200)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument(
        "--queue", type=int, default=4, help="the server's --queue (small, so that some requests meet a 503)"
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="serve-load-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, tmp: Path) -> int:
    photos = barred_photos(args.photos, tmp)
    data = {p: p.read_bytes() for p in photos}
    # the CLI's results for the same photos
    cli_out = tmp / "cli"
    subprocess.run([sys.executable, "-m", "unmask", *map(str, photos), "--region", "eyes", "--out", str(cli_out)],
                   check=True, capture_output=True)  # fmt: skip
    expected = {p: np.asarray(Image.open(cli_out / p.name).convert("RGB")) for p in photos}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "unmask", "serve", "--port", str(port), "--queue", str(args.queue)],
                              stderr=subprocess.PIPE, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                health = httpx.get(f"{url}/api/health", timeout=2).json()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        memory: list[tuple[float, float]] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                memory.append((time.perf_counter(), rss_mb(server.pid)))
                stop.wait(0.5)

        todo = list(range(args.requests))
        lock = threading.Lock()
        results: dict[int, tuple[float, int, bool]] = {}  # request -> (seconds, 503s met, identical)
        served: list[float] = []  # the record's seconds: the restoring itself, in the worker

        def client() -> None:
            with httpx.Client(timeout=300) as c:
                while True:
                    with lock:
                        if not todo:
                            return
                        k = todo.pop(0)
                    photo = photos[k % len(photos)]
                    t0, busy = time.perf_counter(), 0
                    while True:
                        r = c.post(f"{url}/api/restore", files={"file": (photo.name, data[photo])},
                                   data={"region": "eyes"}, headers={"Accept": "image/png"})  # fmt: skip
                        if r.status_code != 503:
                            break
                        busy += 1
                        time.sleep(float(r.headers.get("retry-after", "1")))
                    seconds = time.perf_counter() - t0
                    if r.status_code == 200:
                        with lock:
                            served.append(json.loads(r.headers["x-unmask-record"])["seconds"])
                    same = r.status_code == 200 and np.array_equal(
                        np.asarray(Image.open(io.BytesIO(r.content)).convert("RGB")), expected[photo]
                    )
                    with lock:
                        results[k] = (seconds, busy, same) if r.status_code == 200 else (seconds, busy, False)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        t_start = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t_start
        stop.set()
        sampler.join()
    finally:
        server.terminate()
        server.wait(30)
    lat = sorted(v[0] for v in results.values())
    p50 = statistics.median(lat)
    p95 = lat[min(len(lat) - 1, int(round(0.95 * (len(lat) - 1))))]
    answered = len(results)
    identical = sum(v[2] for v in results.values())
    busy = sum(v[1] for v in results.values())
    mem = [m for _, m in memory]
    at = [mem[int(f * (len(mem) - 1))] for f in (0.1, 0.5, 1.0)]  # a tenth in (models loaded), half-way, the end
    load = os.getloadavg()[0]
    print(
        f"### `unmask serve` under load ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, "
        f"{health['workers']} worker(s), queue {args.queue}; load average {load:.1f} at the end)\n"
    )
    print(
        f"{args.requests} POST /api/restore (Accept: image/png, region eyes) from {args.clients} concurrent clients, "
        f"{len(photos)} barred validation photos in turn (`python benchmarks/serve_load.py`):\n"
    )
    print(
        "| answered | identical to the CLI | 503s met (retried) | p50 s | p95 s | restoring alone, median s | requests/s | "
        "server RSS at 10% / 50% / end (peak), MB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {answered}/{args.requests} | {identical}/{args.requests} | {busy} | {p50:.2f} | {p95:.2f} | {statistics.median(served):.2f} | "
        f"{args.requests / wall:.2f} | {at[0]:.0f} / {at[1]:.0f} / {at[2]:.0f} ({max(mem):.0f}) |"
    )
    ok = answered == args.requests and identical == args.requests
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
