"""Markdown tables from the JSON written by benchmarks/run_all.sh (the tables of benchmarks/RESULTS.md).

python benchmarks/report.py OUT_DIR > tables.md
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from targets import check  # benchmarks/targets.py, beside this script

from unmask.infer.stages import OTHER, PHOTO

ARCHS = ("context-encoder", "dmfn", "edgeconnect", "glcic", "lsgan-ae")
STAGES = (*PHOTO, OTHER)


def _load(path: Path) -> Any:
    return json.loads(path.read_text().strip().splitlines()[-1]) if path.is_file() else None


def _table(head: Iterable[str], rows: Iterable[Iterable[Any]]) -> str:
    head = list(head)
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _ci(v: dict | None, nd: int) -> str:
    return "-" if v is None else f"{v['mean']:.{nd}f} [{v['lo']:.{nd}f}, {v['hi']:.{nd}f}]"


def _n(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def _coverage(r: dict) -> str:
    if r.get("coverage") is None:
        return "-"
    return f"{r['coverage']:.1%}" + (f" ({r['partly_covered']} faces < 99%)" if r["partly_covered"] else "")


def eval_tables(out: Path) -> list[str]:
    parts = []
    for f in sorted(out.glob("eval-*.json")):
        d = _load(f)
        s = d["settings"]
        parts.append(
            f"**{s['region']}, censor `{s['censor']}`**: {d['faces_scored']} faces scored of {d['photos']} photos "
            f"({d['no_face']} without a face, {d['lost']} lost after censoring); seed {s['seed']}.\n\n"
            + _table(
                [
                    "method",
                    "faces",
                    "PSNR dB (hole)",
                    "SSIM (hole box)",
                    "L1 (hole)",
                    "LPIPS (face)",
                    "detail (hole)",
                    "hole LPIPS (box)",
                    "KID x1000 (box)",
                    "tone dE (hole)",
                    "outside px",
                    "censor in hole",
                    "ms/face",
                ],
                [
                    [
                        r["name"],
                        r["faces"],
                        _ci(r["psnr"], 2),
                        _ci(r["ssim"], 3),
                        _ci(r["l1"], 3),
                        _ci(r["lpips"], 3),
                        _ci(r.get("detail"), 2),
                        _ci(r.get("hole_lpips"), 3),
                        _ci(r.get("kid_x1000"), 1),
                        _ci(r.get("tone"), 1),
                        r["outside_pixels"],
                        _coverage(r),
                        "-" if r["name"] == "none" else _n(1000 * r["seconds_per_face"], ".1f"),
                    ]
                    for r in d["rows"]
                ],
            )
        )
    return parts


def folder_table(d: dict) -> str:
    f = d["folder"]
    rows = [
        [
            s,
            f"{f['stages_s'][s]:.2f}",
            f"{1000 * f['stages_s'][s] / f['photos']:.1f}",
            f"{f['stages_s'][s] / f['wall_s']:.0%}",
        ]
        for s in STAGES
    ]
    return (
        f"`{d['model']['name']}`, {f['photos']} photos, {f['faces']} faces, {d['threads']} threads: "
        f"{f['photos_per_s']:.2f} photos/s, {f['faces_per_s']:.2f} faces/s, wall {f['wall_s']:.1f} s; "
        f"resident memory {f['rss_start_mib']:.0f} MiB at start, peak {f['rss_peak_mib']:.0f} MiB, "
        f"drift {f['rss_drift_mib']:+.1f} MiB.\n\n" + _table(["stage", "total s", "ms/photo", "share"], rows)
    )


def generator_table(out: Path) -> str:
    rows = []
    for arch in ARCHS:
        for f in sorted(out.glob(f"gen-{arch}-t*-b*.json"), key=lambda p: [int(x[1:]) for x in p.stem.split("-")[-2:]]):
            d = _load(f)
            g = d["generator"]
            batch = g["batch"]
            rows.append(
                [
                    arch,
                    g["threads"],
                    batch,
                    _n(g["gmacs_per_face"], ".2f"),
                    f"{g['ort_ms_per_face']:.1f} / {1000 * g['ort_min_s'] / batch:.1f}",
                    f"{g['eager_ms_per_face']:.1f} / {1000 * g['eager_min_s'] / batch:.1f}",
                    f"{g['ratio']:.2f}x / {g['ratio_best']:.2f}x",
                    _n(g["gmac_per_s_ort"], ".1f"),
                    _n(g["gmac_per_s_eager"], ".1f"),
                    d["load_average"][0],
                ]
            )
    return _table(
        [
            "arch (small)",
            "threads",
            "batch",
            "GMAC/face",
            "ORT ms/face (median / fastest)",
            "eager ms/face (median / fastest)",
            "ORT speed-up (median / fastest)",
            "ORT GMAC/s",
            "eager GMAC/s",
            "load",
        ],
        rows,
    )


def scaling_tables(d: dict) -> list[str]:
    s = d["scaling"]
    parts = []
    one = s["faces"][0]["restore_s"]
    parts.append(
        _table(
            ["faces in one photo", "restored", "restore ms", "ms/face", "vs 1 face"],
            [
                [
                    t["label"],
                    t["faces"],
                    f"{1000 * t['restore_s']:.0f}",
                    f"{1000 * t['restore_s'] / int(t['label'].split()[0]):.0f}",
                    f"{t['restore_s'] / one:.2f}x",
                ]
                for t in s["faces"]
            ],
        )
    )
    base = next(t for t in s["sizes"] if t["label"] == "1 MP")
    parts.append(
        _table(
            ["photo", "restore ms", "read ms", "write ms", "file to file ms", "vs 1 MP"],
            [
                [
                    t["label"],
                    f"{1000 * t['restore_s']:.0f}",
                    f"{1000 * t['read_s']:.0f}",
                    f"{1000 * t['write_s']:.0f}",
                    f"{1000 * t['total_s']:.0f}",
                    f"{t['total_s'] / base['total_s']:.2f}x",
                ]
                for t in s["sizes"]
            ],
        )
    )
    if s.get("batches"):
        parts.append(
            _table(
                ["batch", "ORT ms/batch", "ms/face", "faces/s"],
                [
                    [
                        b["batch"],
                        f"{1000 * b['ort_s']:.0f}",
                        f"{b['ort_ms_per_face']:.1f}",
                        f"{b['batch'] / b['ort_s']:.1f}",
                    ]
                    for b in s["batches"]
                ],
            )
        )
    m = s["memory"]
    parts.append(
        f"Peak memory of a fresh process restoring a {m['megapixels']} MP JPEG with {m['faces_in_photo']} faces "
        f"({m['faces']} restored): **{m['peak_mib']:.0f} MiB** ({m['before_photo_mib']:.0f} MiB after loading, "
        f"before the photo), {m['seconds']:.1f} s."
    )
    return parts


def targets_table(main: dict | None, long: dict | None) -> str:
    """The targets of the main run (``--scaling``), with memory flatness taken from the long folder run
    (``benchmarks/targets.py`` judges each run's JSON)."""
    targets = [t for t in (check(main) if main else []) if t.passed is not None]
    for t in check(long) if long else []:
        if t.name.startswith("memory flat") and t.passed is not None:
            targets = [x for x in targets if not x.name.startswith("memory flat")] + [t]
    return _table(
        ["target", "limit", "measured", "result"],
        [[t.name, t.limit, t.measured, "pass" if t.passed else "**miss**"] for t in targets],
    )


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else Path("/tmp/unmask-bench")
    print("### Quality (`unmask eval`)\n")
    for p in eval_tables(out):
        print(p + "\n")
    dmfn, telea, long = (_load(out / n) for n in ("bench-dmfn-small.json", "bench-telea.json", "bench-1000.json"))
    print("### Folder run per stage (`unmask bench`)\n")
    for d in (dmfn, telea, long):
        if d is not None and d.get("folder"):
            print(folder_table(d) + "\n")
    print("### The generator alone: ONNX Runtime vs PyTorch eager\n")
    print(generator_table(out) + "\n")
    if dmfn is not None and dmfn.get("scaling"):
        print("### Scaling\n")
        for p in scaling_tables(dmfn):
            print(p + "\n")
    print("### Targets\n")
    print(targets_table(dmfn, long))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
