"""Writes models/NAME.md, the model card of an exported generator, from the ONNX file's own metadata and the JSON
of an `unmask eval` run on the same model (and its baselines).

Run: python scripts/model_card.py models/NAME.onnx EVAL.json [EVAL2.json ...] [--hardware TEXT] [--notes FILE]
     [--history FILE] [--reproduce COMMANDS.sh]
Each EVAL.json is `unmask eval ... --json` output; one table per region/censor evaluated.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from unmask.infer.runtime import load_model
from unmask.spec import REGIONS
from unmask.train.config import DEFAULT_MASK_MIX


def _fmt(cell: dict | None, nd: int) -> str:
    if not cell:
        return "-"
    return f"{cell['mean']:.{nd}f} [{cell['lo']:.{nd}f}, {cell['hi']:.{nd}f}]"


def eval_table(report: dict) -> str:
    s = report.get("settings", {})
    head = (
        f"`unmask eval` on {report.get('faces_scored', '?')} faces of `{s.get('data', '?')}`, region "
        f"**{s.get('region', '?')}**, censor **{s.get('censor', '?')}**, seed {s.get('seed', '?')} "
        f"(mean [95% interval]; PSNR/L1 in the censored pixels, SSIM on their box, LPIPS on the face crop; hole "
        f"IoU: the hole restored against the censor's true pixels; spill: visible pixels beyond 3 px of the censor "
        f"changed by more than 12/255, per censor pixel)"
    )
    if s.get("jpeg"):
        head += f"; censored photos JPEG q{s['jpeg']}; Telea and NS are given the true censor"
    if s.get("censor") == "pixelate" and s.get("mosaic_means"):
        head += (
            "; the models' results keep the mosaic's block means (unmask's mosaic step), the baselines are plain OpenCV"
        )
    if s.get("flip_average"):
        head += (
            "; the models' results are averaged with their results on the mirrored face (as `unmask` does on photos)"
        )
    head += (
        ". Detail: mean |Laplacian| of grey in the censor (2 px in from its edge), restored over true (1 = as "
        "detailed as the photo); hole LPIPS and KID (x1000, over the set, SqueezeNet features): the censor's box "
        "padded by a quarter of its height, 64 px short side; tone: CIE76 Delta E of the censor's mean Lab colour"
    )
    rows = ["| method | PSNR dB | SSIM | L1 | LPIPS | hole IoU | spill | detail | hole LPIPS | KID x1000 | tone dE "
            "| changed outside the hole |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for r in report["rows"]:
        iou = (
            "-" if r.get("iou") is None else f"{r['iou']:.3f}" + (f" ({r['missed']} missed)" if r.get("missed") else "")
        )
        spill = "-" if r.get("spill") is None else f"{r['spill']:.3f}"
        rows.append(
            f"| {r['name']} | {_fmt(r['psnr'], 2)} | {_fmt(r['ssim'], 3)} | {_fmt(r['l1'], 4)} | "
            f"{_fmt(r['lpips'], 3)} | {iou} | {spill} | {_fmt(r.get('detail'), 2)} | "
            f"{_fmt(r.get('hole_lpips'), 3)} | {_fmt(r.get('kid_x1000'), 1)} | {_fmt(r.get('tone'), 1)} | "
            f"{r.get('outside_pixels', 0)} px |"
        )
    return head + "\n\n" + "\n".join(rows) + skin_table(report)


def skin_table(report: dict) -> str:
    """The report's scores by skin tone (ITA tertiles) as a markdown table; '' for a report without them."""
    groups = report.get("skin_groups") or []
    if not groups:
        return ""
    n = sum(g["faces"] for g in groups)
    rows = [f"By skin tone: the {n} faces with visible forehead or cheek skin in colour, in three groups by individual typology "
            "angle (ITA = atan2(L* - 50, b*) from the median Lab of that skin on the clean photo; higher is lighter)",
            "", "| group | ITA (deg) | faces | method | PSNR dB | hole LPIPS | tone dE |",
            "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for g in groups:
        for i, r in enumerate(g["rows"]):
            first = i == 0
            ita = f"{g['ita'][0]:.1f} to {g['ita'][1]:.1f}"
            rows.append(
                f"| {g['group'] if first else ''} | {ita if first else ''} | "
                f"{g['faces'] if first else ''} | {r['name']} | {_fmt(r.get('psnr'), 2)} | "
                f"{_fmt(r.get('hole_lpips'), 3)} | {_fmt(r.get('tone'), 1)} |"
            )
    return "\n\n" + "\n".join(rows)


def val_text(val: dict | None) -> str:
    """The training run's last validation metrics as one line."""
    if not val:
        return "not run"
    names = {"psnr": "PSNR {:.2f} dB", "ssim": "SSIM {:.3f}", "l1": "L1 {:.4f}", "lpips": "LPIPS {:.3f}"}
    return ", ".join(names[k].format(val[k]) for k in names if k in val)


def censor_mix(training: dict) -> str:
    """The training's censor-kind weights as text (the arch-independent default when the run set none)."""

    def fmt(mix: dict) -> str:
        return ", ".join(f"{k} {float(w):g}" for k, w in mix.items())

    if training.get("mask_mix"):
        return fmt(training["mask_mix"])
    region = training.get("region")
    regions = REGIONS if region == "mix" else (region,)
    return "default: " + "; ".join(f"{r}: {fmt(DEFAULT_MASK_MIX[r])}" for r in regions if r in DEFAULT_MASK_MIX)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("model", type=Path)
    ap.add_argument("evals", type=Path, nargs="*")
    ap.add_argument("--hardware", default="2 CPU cores (no GPU), PyTorch CPU build")
    ap.add_argument("--notes", type=Path, help="markdown appended as 'Known failure cases'")
    ap.add_argument("--history", type=Path, help="markdown on how the weights came to be (warm starts, stages)")
    ap.add_argument("--reproduce", type=Path, help="shell commands that train and export this model")
    args = ap.parse_args()
    m = load_model(args.model, "cpu", 1)
    meta, t = m.meta, dict(m.meta.training)
    size_mb = args.model.stat().st_size / 1e6
    lines = [
        f"# {m.name}",
        "",
        "> **The restored region is invented, not recovered.** This generator paints plausible content learned from "
        "training faces; it cannot know what was hidden. Never use its output to identify a person.",
        "",
        "| | |",
        "| --- | --- |",
        f"| file | `{args.model.name}` ({size_mb:.1f} MB, fp32 ONNX, opset 17, dynamic batch) |",
        f"| architecture | `{meta.arch}`, preset `{meta.preset}` ({meta.size} px canonical face crop) |",
        f"| region | {meta.region} (hole fill `{meta.hole_fill}`, mask 1 = hole, values in {list(meta.value_range)}) |",
        f"| data | `{t.get('data')}` (CelebA; non-commercial research use), region mix `{t.get('region')}`, censor kinds {censor_mix(t)} |",
        f"| training | {t.get('steps')} steps, {t.get('samples')} samples, batch {t.get('batch_size')}, {t.get('wall_minutes')} min wall, seed {t.get('seed')}, {t.get('world_size')} process(es) |",
        f"| hardware | {args.hardware}; torch {t.get('torch')} |",
        f"| initialised from | {('`' + str(t['init']) + '` (warm start; steps and samples above count this run only)') if t.get('init') else 'random (trained from scratch)'} |",
        f"| loss weights | {t.get('weights') or 'paper defaults of the arch'} |",
        f"| run | `runs/{t.get('run')}` (not committed); trained {t.get('trained')}, exported {t.get('exported')} |",
        f"| validation at the last step (training's own fixed validation masks) | {val_text(t.get('val'))} |",
        "",
    ]
    if args.history and args.history.is_file():
        lines += ["## Training history", "", args.history.read_text().strip(), ""]
    lines += ["## Evaluation", ""]
    for e in args.evals:
        lines += [eval_table(json.loads(e.read_text())), ""]
    lines += ["## Known failure cases", ""]
    if args.notes and args.notes.is_file():
        lines.append(args.notes.read_text().strip())
    else:
        lines.append("Not yet catalogued.")
    lines += ["", "## Reproduce", ""]
    if args.reproduce and args.reproduce.is_file():
        lines += ["On 2 CPU cores (on a GPU: `--preset paper --device cuda`; see `docs/TRAINING.md`):", "", "```bash",
                  args.reproduce.read_text().strip(), "```"]  # fmt: skip
    else:
        lines.append("See `docs/TRAINING.md` and the README's model table.")
    lines.append("")
    out = args.model.with_suffix(".md")
    out.write_text("\n".join(lines))
    print(out)


if __name__ == "__main__":
    main()
