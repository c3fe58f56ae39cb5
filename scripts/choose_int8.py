"""Choose the CPU default per region from `unmask eval --json` reports that scored a float model and its int8 copy
(`unmask quantize`) on the same faces, by issue 29's rule, and write it.

Run: python scripts/choose_int8.py EVAL.json [EVAL.json ...] [--write models/defaults-cpu.txt]

The rule, per region: the int8 copy of the region's default (``models/defaults.txt``) becomes its default on a CPU
session when, on every censor of the region the reports hold, its hole PSNR is at most :data:`MAX_PSNR_DROP` dB
below the float model's and its hole LPIPS at most :data:`MAX_LPIPS_RISE` (a share) above it. Else the region's CPU
default is the float model (CUDA always runs the float model).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

MAX_PSNR_DROP = 0.2
MAX_LPIPS_RISE = 0.03
INT8 = "-int8"  # unmask.infer.runtime.registry.INT8_SUFFIX (a script reads no library constant it need not)


def _mean(row: dict[str, Any], key: str) -> float | None:
    cell = row.get(key)
    return None if not cell else float(cell["mean"])


def compare(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per (region, censor, float model with an int8 copy in the same report): both models' hole PSNR and
    hole LPIPS, the differences, and whether the int8 copy is within the tolerances."""
    out = []
    for rep in reports:
        region, censor = rep["settings"]["region"], rep["settings"]["censor"]
        rows = {r["name"]: r for r in rep["rows"]}
        for name, r in rows.items():
            q = rows.get(name + INT8)
            if q is None or r.get("kind") != "model":
                continue
            p32, p8 = _mean(r, "psnr"), _mean(q, "psnr")
            l32, l8 = _mean(r, "hole_lpips"), _mean(q, "hole_lpips")
            ok = None not in (p32, p8, l32, l8) and p32 - p8 <= MAX_PSNR_DROP and l8 <= l32 * (1 + MAX_LPIPS_RISE)
            out.append({"region": region, "censor": censor, "model": name, "faces": r["faces"],
                        "flip_average": rep["settings"].get("flip_average"), "psnr": p32, "psnr_int8": p8,
                        "hole_lpips": l32, "hole_lpips_int8": l8, "within": ok})  # fmt: skip
    return out


def choose(reports: list[dict[str, Any]], defaults: dict[str, str]) -> dict[str, tuple[str, str]]:
    """region -> (CPU default, why) for the regions whose default was scored with its int8 copy."""
    rows = compare(reports)
    out: dict[str, tuple[str, str]] = {}
    for region, name in defaults.items():
        mine = [r for r in rows if r["region"] == region and r["model"] == name]
        if not mine:
            continue
        bad = [r for r in mine if not r["within"]]
        censors = ", ".join(sorted({r["censor"] for r in mine}))
        if bad:
            out[region] = (name, f"{name}{INT8} is outside the tolerances on {', '.join(r['censor'] for r in bad)}")
        else:
            out[region] = (name + INT8, f"within {MAX_PSNR_DROP:g} dB PSNR and {MAX_LPIPS_RISE:.0%} hole LPIPS of "
                                        f"{name} on {censors}")  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", type=Path, nargs="+")
    ap.add_argument("--defaults", type=Path, default=Path("models/defaults.txt"), help="the float defaults")
    ap.add_argument("--write", type=Path, default=None, help="CPU defaults file to write (models/defaults-cpu.txt)")
    args = ap.parse_args()
    reports = [json.loads(p.read_text().strip().splitlines()[-1]) for p in args.reports]
    for r in compare(reports):
        print(
            f"{r['region']} {r['censor']} {r['model']} (flip {r['flip_average']}, {r['faces']} faces): PSNR "
            f"{r['psnr']:.2f} -> {r['psnr_int8']:.2f} dB, hole LPIPS {r['hole_lpips']:.4f} -> "
            f"{r['hole_lpips_int8']:.4f}: {'within' if r['within'] else 'OUTSIDE'}"
        )
    lines = args.defaults.read_text().splitlines()
    defaults = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    picks = choose(reports, defaults)
    for region, (name, why) in sorted(picks.items()):
        print(f"{region} on CPU: {name}: {why}")
    if args.write is not None:
        text = (
            "# default model per region on a CPU session (unmask run without --model); chosen by "
            "scripts/choose_int8.py\n"
        ) + "".join(f"{r}={n}\n" for r, (n, _) in sorted(picks.items()))
        args.write.write_text(text)


if __name__ == "__main__":
    main()
