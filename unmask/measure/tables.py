"""The README's model table: one markdown table from several `unmask eval --json` reports
(``python scripts/results_table.py EVAL.json [EVAL2.json ...] > table.md`` prints it).

Rows are grouped by censor; each model row also gives its PSNR gain over Telea and its LPIPS as a fraction of
Telea's (the targets of the shipping issue), and whether it beats Telea on PSNR, SSIM and LPIPS together.
Baselines (telea, ns, none) are listed once per censor. Detail (|Laplacian| restored over true, 1 = as detailed
as the photo), hole LPIPS, KID x1000 and tone (Delta E) are those of issue 24; '-' for reports made before them.
"""

from __future__ import annotations

BASELINES = ("telea", "ns", "none")
CENSOR_NAMES = {"bar": "eye bar", "pixelate": "mosaic", "surgical": "surgical mask"}


def rows_by_censor(reports: list[dict]) -> dict[str, dict[str, dict]]:
    """censor -> method name -> row (first report wins for a repeated method)."""
    out: dict[str, dict[str, dict]] = {}
    for rep in reports:
        censor = rep.get("settings", {}).get("censor", "?")
        for r in rep["rows"]:
            out.setdefault(censor, {}).setdefault(r["name"], r)
    return out


def table(reports: list[dict]) -> str:
    lines = [
        "| censor | method | PSNR dB | SSIM | L1 | LPIPS | hole IoU | spill | detail | hole LPIPS | KID x1000 | tone dE "
        "| PSNR - Telea | LPIPS / Telea | beats Telea on all three |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for censor, rows in rows_by_censor(reports).items():
        telea = rows.get("telea")
        models = sorted((n for n in rows if n not in BASELINES), key=lambda n: -rows[n]["psnr"]["mean"])
        for name in [*models, *(b for b in BASELINES if b in rows)]:
            r = rows[name]
            gain = frac = beats = ""
            lp = r.get("lpips")  # None with `unmask eval --no-lpips`
            lp_text = f"{lp['mean']:.3f}" if lp else "-"
            if telea and name not in BASELINES:
                gain = f"{r['psnr']['mean'] - telea['psnr']['mean']:+.2f}"
                if lp and telea.get("lpips"):
                    frac = f"{lp['mean'] / telea['lpips']['mean']:.2f}"
                    ok = (r["psnr"]["mean"] > telea["psnr"]["mean"] and r["ssim"]["mean"] > telea["ssim"]["mean"]
                          and lp["mean"] < telea["lpips"]["mean"])  # fmt: skip
                    beats = "yes" if ok else "**no**"
            iou = "-" if r.get("iou") is None or name in BASELINES else f"{r['iou']:.3f}"
            spill = "-" if r.get("spill") is None else f"{r['spill']:.3f}"
            texture = " | ".join(
                _mean(r.get(k), nd) for k, nd in (("detail", 2), ("hole_lpips", 3), ("kid_x1000", 1), ("tone", 1))
            )
            lines.append(
                f"| {CENSOR_NAMES.get(censor, censor)} | {name} | {r['psnr']['mean']:.2f} | {r['ssim']['mean']:.3f} | "
                f"{r['l1']['mean']:.4f} | {lp_text} | {iou} | {spill} | {texture} | {gain} | {frac} | {beats} |"
            )
    return "\n".join(lines)


def _mean(cell: dict | None, nd: int) -> str:
    return "-" if not cell else f"{cell['mean']:.{nd}f}"
