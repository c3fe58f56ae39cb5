"""Choose the default model per region from `unmask eval --json` reports, by issue 24's rule, and write it.

Run: python scripts/choose_defaults.py EVAL.json [EVAL.json ...] [--write models/defaults.txt]

The rule, per region (a model must have been evaluated on every censor of its region that the reports hold):
among the models whose **detail** is at least :data:`MIN_DETAIL` and whose **PSNR** is at least Telea's + :data:`MIN_GAIN`
dB on each censor, the one with the lowest **hole LPIPS** (mean over the censors). Where no model reaches the
detail floor, the floor is dropped and that is said: the choice is then by hole LPIPS among the models that keep
the PSNR floor. Where none keeps that either, the region keeps its current default.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

MIN_DETAIL = 0.75
MIN_GAIN = 3.0


def _mean(cell: dict[str, float] | None) -> float | None:
    return None if not cell else float(cell["mean"])


def choose(reports: list[dict[str, Any]]) -> dict[str, tuple[str | None, str]]:
    """region -> (model name or None, why) from eval reports (``EvalReport.to_dict()``)."""
    per: dict[str, dict[str, list[dict[str, float | None]]]] = defaultdict(lambda: defaultdict(list))
    censors: dict[str, set[str]] = defaultdict(set)
    for rep in reports:
        region, censor = rep["settings"]["region"], rep["settings"]["censor"]
        censors[region].add(censor)
        rows = {r["name"]: r for r in rep["rows"]}
        telea = _mean(rows.get("telea", {}).get("psnr"))
        for name, r in rows.items():
            if r.get("kind") != "model":
                continue
            per[region][name].append({
                "censor": censor, "psnr": _mean(r.get("psnr")), "telea": telea,
                "detail": _mean(r.get("detail")), "hole_lpips": _mean(r.get("hole_lpips")),
            })  # fmt: skip
    out: dict[str, tuple[str | None, str]] = {}
    for region, models in per.items():
        complete = {n: rs for n, rs in models.items() if {r["censor"] for r in rs} == censors[region]}

        def keeps_psnr(rs: list) -> bool:
            return all(
                r["psnr"] is not None and r["telea"] is not None and r["psnr"] >= r["telea"] + MIN_GAIN for r in rs
            )

        def detailed(rs: list) -> bool:
            return all(r["detail"] is not None and r["detail"] >= MIN_DETAIL for r in rs)

        def lpips(rs: list) -> float:
            vals = [r["hole_lpips"] for r in rs]
            return sum(vals) / len(vals) if all(v is not None for v in vals) else float("inf")

        full = {n: rs for n, rs in complete.items() if keeps_psnr(rs) and detailed(rs)}
        if full:
            best = min(full, key=lambda n: lpips(full[n]))
            out[region] = (best, f"lowest hole LPIPS ({lpips(full[best]):.4f}) of {len(full)} with detail >= "
                                 f"{MIN_DETAIL} and PSNR >= Telea + {MIN_GAIN:g} dB")  # fmt: skip
            continue
        floor = {n: rs for n, rs in complete.items() if keeps_psnr(rs)}
        if floor:
            best = min(floor, key=lambda n: lpips(floor[n]))
            out[region] = (best, f"no model reaches detail {MIN_DETAIL} on every censor; lowest hole LPIPS "
                                 f"({lpips(floor[best]):.4f}) of {len(floor)} with PSNR >= Telea + {MIN_GAIN:g} dB")  # fmt: skip
            continue
        out[region] = (None, f"no model keeps PSNR >= Telea + {MIN_GAIN:g} dB on every censor: default unchanged")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("reports", type=Path, nargs="+")
    ap.add_argument("--write", type=Path, default=None, help="defaults file to update (models/defaults.txt)")
    args = ap.parse_args()
    picks = choose([json.loads(p.read_text()) for p in args.reports])
    for region, (name, why) in sorted(picks.items()):
        print(f"{region}: {name or '(unchanged)'}: {why}")
    if args.write is not None:
        lines = args.write.read_text().splitlines() if args.write.exists() else []
        current = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
        current.update({r: n for r, (n, _) in picks.items() if n})
        text = "# default model per region (unmask run without --model); chosen by scripts/choose_defaults.py\n"
        text += "".join(f"{r}={n}\n" for r, n in sorted(current.items()))
        args.write.write_text(text)


if __name__ == "__main__":
    main()
