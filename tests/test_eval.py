"""``unmask eval``: censor clean validation faces, restore them with a small ONNX model and the baselines, score
the hidden pixels. Needs ../shared (CelebA val photos, LPIPS weights); skipped without it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from onnx_models import make_model
from unmask.infer.face.types import Face, box_iou
from unmask.measure.evaluate import build_methods, evaluate, hole_coverage, list_photos, match_face, outside_changed
from unmask.measure.grid import grid_shape, make_grid
from unmask.measure.scores import EvalSettings

N = 4
METHODS = ("tiny", "telea", "ns", "none")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_model(tmp_path_factory.mktemp("models") / "tiny.onnx", size=64, region="eyes")


@pytest.fixture(scope="module")
def finder():
    from unmask.infer.face.detect import FaceFinder

    with FaceFinder() as f:
        yield f


@pytest.fixture(scope="module")
def report(val_dir: Path, tiny_model: Path, finder, lpips):
    methods, kinds, notes = build_methods([str(tiny_model)], ["telea", "ns", "none"], "eyes", "cpu", 1)
    assert notes == []
    return evaluate(
        list_photos(val_dir, N), methods, EvalSettings("eyes", n=N, seed=3), lpips=lpips, finder=finder, kinds=kinds
    )


def test_rows_for_every_method(report) -> None:
    rows = {r.name: r for r in report.rows()}
    assert list(rows) == list(METHODS)
    assert report.photos == N and report.scored >= N - 1
    assert report.scored + report.no_face + report.lost + report.unreadable == N
    for r in rows.values():
        assert r.faces == report.scored
        for metric in ("psnr", "ssim", "l1", "lpips"):
            mean, lo, hi = getattr(r, metric)
            assert lo <= mean <= hi and np.isfinite(mean)
    assert rows["tiny"].kind == "model" and rows["telea"].kind == rows["none"].kind == "baseline"


def test_none_scores_exactly_the_censored_photo(report, val_dir: Path, finder) -> None:
    from unmask.infer.io import read_image
    from unmask.infer.censors import draw_censor, jpeg
    from unmask.measure.metrics import l1_hole, psnr_hole, ssim_box

    photos = list_photos(val_dir, N)
    none = {f.photo: f for f in report.scores("none")}
    assert len(none) == report.scored
    for index, path in enumerate(photos):
        if path.name not in none:
            continue
        clean = read_image(path).rgb
        face = finder.search(clean).faces[0]
        censored, hole = draw_censor(clean, face.landmarks, "bar", np.random.default_rng(3 + index))
        censored = jpeg(censored, report.settings.jpeg)  # the censored photo is JPEG-compressed, as met in the wild
        assert none[path.name].psnr == psnr_hole(censored, clean, hole)
        assert none[path.name].l1 == l1_hole(censored, clean, hole)
        assert none[path.name].ssim == ssim_box(censored, clean, hole)
        assert none[path.name].hole_pixels == int((hole > 127).sum())


def test_inpainting_beats_the_censored_photo(report) -> None:
    rows = {r.name: r for r in report.rows()}
    assert rows["telea"].psnr[0] > rows["none"].psnr[0] + 3
    assert rows["ns"].psnr[0] > rows["none"].psnr[0] + 3
    assert rows["telea"].l1[0] < rows["none"].l1[0]
    # per face too, not only on average
    none = {f.photo: f.psnr for f in report.scores("none")}
    assert all(f.psnr > none[f.photo] for f in report.scores("telea"))


def test_nothing_changes_outside_the_restored_hole(report) -> None:
    assert report.outside_total == 0
    assert all(r.outside_pixels == 0 and r.outside_faces == 0 for r in report.rows())
    assert all(f.seconds > 0 for f in report.faces if f.method != "none")


def test_hole_iou_and_spill_are_measured(report) -> None:
    """The model restores the censor it found (tight: IoU with the true censor), the baselines are given the true
    censor (IoU 1), and no method repaints visible pixels (spill: changed pixels beyond 3 px of the censor)."""
    rows = {r.name: r for r in report.rows()}
    assert rows["telea"].iou == 1.0 and rows["ns"].iou == 1.0
    assert rows["tiny"].iou is not None and rows["tiny"].iou > 0.75, rows["tiny"].iou
    assert rows["tiny"].spill is not None and rows["tiny"].spill <= 0.05
    assert rows["none"].spill == 0.0
    found = [f for f in report.scores("tiny")]
    assert all(f.found for f in found) and all(0 <= f.iou <= 1 for f in found)
    d = report.to_dict(per_face=True)
    assert d["settings"]["jpeg"] == 90 and {"iou", "spill", "missed"} <= set(d["rows"][0])


def test_texture_tone_and_skin_groups_are_measured(report) -> None:
    """Issue 24's columns for every method: detail, hole LPIPS, KID (set-level) and tone; ``none`` (the bar itself)
    is far off in tone and hole LPIPS, Telea's smooth fill far below the photo's detail; every scored face has a
    skin tone and falls in one of three ITA groups."""
    from unmask.measure.skin import GROUPS

    rows = {r.name: r for r in report.rows()}
    for r in rows.values():
        for metric in ("detail", "hole_lpips", "kid", "tone"):
            v = getattr(r, metric)
            assert v is not None and v[1] <= v[0] <= v[2] and np.isfinite(v[0]), (r.name, metric, v)
    assert rows["none"].tone[0] > rows["telea"].tone[0] + 5
    assert rows["none"].hole_lpips[0] > rows["telea"].hole_lpips[0]
    assert rows["telea"].detail[0] < 0.6 and rows["ns"].detail[0] < 0.6
    assert rows["none"].kid[0] > rows["telea"].kid[0] > 0
    faces = report.scores("telea")
    assert all(f.ita is not None and -90 < f.ita < 90 for f in faces)
    assert all(f.features is not None and f.features.shape == (512,) for f in report.faces)
    groups = report.skin_groups()
    assert [g.name for g in groups] == list(GROUPS)[: len(groups)] and sum(g.faces for g in groups) == report.scored
    assert all(a.ita[0] >= b.ita[1] for a, b in zip(groups, groups[1:]))  # lightest first
    assert [r.name for r in groups[0].rows] == list(METHODS)
    d = report.to_dict(per_face=True)
    assert {"detail", "hole_lpips", "kid_x1000", "tone"} <= set(d["rows"][0])
    assert d["settings"]["hole_box"] == {"pad": 0.25, "short_side": 64}
    assert len(d["skin_groups"]) == len(groups) and {"detail", "hole_lpips", "tone", "ita"} <= set(d["faces"][0])
    assert "features" not in d["faces"][0]


def test_readme_and_model_card_tables_carry_the_new_columns(report) -> None:
    """scripts/results_table.py (README) and scripts/model_card.py (models/*.md) show detail, hole LPIPS, KID and
    tone, and the model card the skin-tone groups; reports made before them still render ('-')."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    try:
        import model_card
        import results_table
    finally:
        sys.path.pop(0)
    d = json.loads(json.dumps(report.to_dict()))
    readme = results_table.table([d]).splitlines()
    assert all(k in readme[0] for k in ("detail", "hole LPIPS", "KID x1000", "tone dE"))
    assert len({line.count("|") for line in readme}) == 1  # every row has every column
    card = model_card.eval_table(d)
    assert "| detail | hole LPIPS | KID x1000 | tone dE |" in card and "By skin tone" in card and "| lightest |" in card
    old = json.loads(json.dumps(d))
    for r in old["rows"]:
        for k in ("detail", "hole_lpips", "kid_x1000", "tone"):
            del r[k]
    del old["skin_groups"]
    assert "| - | - | - | - |" in results_table.table([old]) and "By skin tone" not in model_card.eval_table(old)


def test_grid_picture(report) -> None:
    g = make_grid(report)
    assert g.shape == grid_shape(len(METHODS), len(report.grid)) and g.dtype == np.uint8
    assert len(report.grid) == min(report.scored, 6)
    # the label row is white paper with dark text; below it, the first face's censored crop, then the original
    assert (g[:22] == 255).mean() > 0.8 and (g[:22] < 128).any()
    first = report.grid[0]
    np.testing.assert_array_equal(g[22 : 22 + 128, :128], first.censored)
    np.testing.assert_array_equal(g[22 : 22 + 128, -128:], first.original)


def test_outside_changed_counts_pixels_outside_the_hole() -> None:
    before = np.zeros((50, 50, 3), np.uint8)
    hole = np.zeros((50, 50), np.uint8)
    hole[20:30, 20:30] = 255
    after = before.copy()
    after[20:30, 20:30] = 9
    assert outside_changed(after, before, hole) == 0
    after[0, 0] = 1
    after[45, 10, 2] = 7
    after[19, 25] = 3  # next to the hole, but outside it
    assert outside_changed(after, before, hole) == 3


def test_spill_and_iou_metrics() -> None:
    from unmask.measure.metrics import hole_iou, spill

    censor = np.zeros((40, 40), np.uint8)
    censor[10:20, 10:30] = 255
    before = np.full((40, 40, 3), 100, np.uint8)
    after = before.copy()
    after[8:22, 8:32] = 200  # 2 px beyond the censor: not spill
    assert spill(after, before, censor) == 0.0
    after[30, 30] = 113  # far, by 13 levels: spill
    after[31, 31] = 112  # far, by 12 levels: not
    assert spill(after, before, censor) == 1 / 200
    assert hole_iou(censor, censor) == 1.0
    grown = censor.copy()
    grown[9:21, 10:30] = 255
    assert abs(hole_iou(grown, censor) - 200 / 240) < 1e-9
    assert hole_iou(np.zeros_like(censor), np.zeros_like(censor)) == 1.0


def test_censor_coverage() -> None:
    censor = np.zeros((20, 20), np.uint8)
    censor[5:15, 5:15] = 255
    restored = np.zeros_like(censor)
    assert hole_coverage(censor, restored) == 0.0
    restored[5:15, 5:10] = 255
    assert hole_coverage(censor, restored) == 0.5
    restored[:] = 255
    assert hole_coverage(censor, restored) == 1.0


def test_coverage_is_reported(report) -> None:
    rows = {r.name: r for r in report.rows()}
    assert rows["none"].coverage is None and rows["none"].partly_covered == 0
    for name in ("tiny", "telea"):
        assert 0.5 < rows[name].coverage <= 1.0
        assert all(0.0 <= f.coverage <= 1.0 for f in report.scores(name))


def test_face_matching() -> None:
    pts = np.zeros((478, 2), np.float32)
    a, b = Face((0, 0, 10, 10), pts), Face((50, 50, 60, 60), pts)
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert match_face([b, a], (1, 1, 11, 11)) is a
    assert match_face([b], (1, 1, 11, 11)) is None


def test_settings_are_checked() -> None:
    assert EvalSettings("eyes").censor_kind == "bar"
    assert EvalSettings("mouth").censor_kind == "surgical"
    assert EvalSettings("eyes", censor="pixelate").censor_kind == "pixelate"
    with pytest.raises(ValueError, match="does not hide the eyes"):
        EvalSettings("eyes", censor="surgical")
    with pytest.raises(ValueError, match="unknown region"):
        EvalSettings("nose")
    with pytest.raises(ValueError, match="unknown baseline"):
        build_methods([], ["telea", "bogus"], "eyes")


def test_cli_json_and_grid(val_dir: Path, tiny_model: Path, tmp_path: Path) -> None:
    from unmask.cli.app import app

    grid = tmp_path / "grid.png"
    res = CliRunner().invoke(
        app,
        [
            "eval",
            str(val_dir),
            "--region",
            "eyes",
            "--model",
            str(tiny_model),
            "--n",
            "3",
            "--baseline",
            "telea,none",
            "--no-lpips",
            "--json",
            "--per-face",
            "--grid",
            str(grid),
            "--threads",
            "1",
        ],
    )
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout.strip().splitlines()[-1])
    assert [r["name"] for r in data["rows"]] == ["tiny", "telea", "none"]
    st = data["settings"]
    assert st["region"] == "eyes" and st["censor"] == "bar" and st["lpips"] is False and st["data"] == str(val_dir)
    assert st["seed"] == 0 and st["n"] == 3 and data["photos"] == 3
    assert all(r["lpips"] is None and r["outside_pixels"] == 0 for r in data["rows"])
    # without LPIPS: detail and tone still measured, hole LPIPS and KID (SqueezeNet) not
    assert all(r["detail"] is not None and r["tone"] is not None for r in data["rows"])
    assert all(r["hole_lpips"] is None and r["kid_x1000"] is None for r in data["rows"])
    assert data["skin_groups"] and {r["name"] for r in data["skin_groups"][0]["rows"]} == {"tiny", "telea", "none"}
    assert {"mean", "lo", "hi"} <= set(data["rows"][0]["psnr"])
    assert len(data["faces"]) == 3 * data["faces_scored"]
    with Image.open(grid) as im:
        assert im.format == "PNG"
        assert im.size[::-1] + (3,) == grid_shape(3, data["faces_scored"])


def test_cli_table_and_clear_errors(val_dir: Path, tiny_model: Path, tmp_path: Path) -> None:
    from unmask.cli.app import app

    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "eval",
            str(val_dir),
            "-r",
            "eyes",
            "-m",
            str(tiny_model),
            "--n",
            "1",
            "--lpips-weights",
            str(tmp_path / "missing.pth"),
        ],
    )
    assert res.exit_code == 2 and "LPIPS" in res.output and "--no-lpips" in res.output
    assert len(res.output.strip().splitlines()) == 1
    res = runner.invoke(app, ["eval", str(val_dir), "-r", "eyes", "--censor", "surgical", "--n", "1"])
    assert res.exit_code == 2 and "does not hide the eyes" in res.output
    res = runner.invoke(app, ["eval", str(tmp_path / "nowhere"), "-r", "eyes"])
    assert res.exit_code == 2 and "not a folder" in res.output
    res = runner.invoke(
        app, ["eval", str(val_dir), "-r", "eyes", "-m", str(tiny_model), "--baseline", "none", "--n", "2", "--no-lpips"]
    )
    assert res.exit_code == 0, res.output
    assert "PSNR" in res.stdout and "tiny" in res.stdout and "none" in res.stdout and "[" in res.stdout
    assert "detail" in res.stdout and "tone" in res.stdout and "KID" in res.stdout and "hole LPIPS" in res.stdout
    assert "by skin tone" in res.stdout and "ITA" in res.stdout


def test_mosaic_means_apply_to_models_not_to_the_opencv_baselines(val_dir: Path, tiny_model: Path) -> None:
    """On mosaics the models' results keep the mosaic's block means (as `unmask run` does) and score better for
    it; Telea stays plain OpenCV either way; the JSON says which was measured."""
    from unmask.cli.app import app

    rows = {}
    for flag in ("--mosaic-means", "--no-mosaic-means"):
        res = CliRunner().invoke(app, ["eval", str(val_dir), "--region", "eyes", "--censor", "pixelate", "--model",
                                       str(tiny_model), "--n", "3", "--baseline", "telea", "--no-lpips", "--json",
                                       "--threads", "1", flag])  # fmt: skip
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout.strip().splitlines()[-1])
        assert data["settings"]["mosaic_means"] is (flag == "--mosaic-means")
        rows[flag] = {r["name"]: r for r in data["rows"]}
    on, off = rows["--mosaic-means"], rows["--no-mosaic-means"]
    assert on["tiny"]["psnr"]["mean"] > off["tiny"]["psnr"]["mean"] + 0.5
    assert on["telea"]["psnr"] == off["telea"]["psnr"]


def test_defaults_follow_the_rule_hole_lpips_among_detailed_models_above_the_psnr_floor() -> None:
    """scripts/choose_defaults.py: detail >= 0.75 and PSNR >= Telea + 3 dB on every censor, then the lowest hole
    LPIPS; without a detailed model the detail floor is dropped (and said), never the PSNR floor."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
    try:
        import choose_defaults
    finally:
        sys.path.pop(0)

    def rep(censor: str, rows: dict) -> dict:
        cell = lambda v: None if v is None else {"mean": v, "lo": v, "hi": v}
        out = [{"name": "telea", "kind": "baseline", "psnr": cell(15.0)}]
        for name, (psnr, detail, lp) in rows.items():
            out.append(
                {"name": name, "kind": "model", "psnr": cell(psnr), "detail": cell(detail), "hole_lpips": cell(lp)}
            )
        return {"settings": {"region": "eyes", "censor": censor}, "rows": out}

    both = {"sharp": (18.5, 0.8, 0.12), "soft": (19.0, 0.5, 0.10), "low": (17.0, 0.9, 0.05)}
    picks = choose_defaults.choose([rep("bar", both), rep("pixelate", both)])
    assert picks["eyes"][0] == "sharp", picks  # "low" fails the PSNR floor, "soft" the detail floor
    soft_only = {"soft": (19.0, 0.5, 0.10), "softer": (19.5, 0.4, 0.11)}
    name, why = choose_defaults.choose([rep("bar", soft_only)])["eyes"]
    assert name == "soft" and "no model reaches detail" in why
    assert choose_defaults.choose([rep("bar", {"low": (16.0, 0.9, 0.05)})])["eyes"][0] is None


def test_an_unwritable_grid_is_a_usage_error_before_any_work(
    val_dir: Path, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--grid that is a folder, or under a file, fails at once (exit 2, one line naming it); no photo is scored."""
    import unmask.measure.evaluate as evaluate
    from unmask.cli.app import app

    def never(*a, **k):
        raise AssertionError("evaluation started before --grid was checked")

    monkeypatch.setattr(evaluate, "evaluate", never)
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for grid, why in ((tmp_path, "is a folder"), (a_file / "sub" / "g.png", "not a writable folder")):
        res = CliRunner().invoke(
            app,
            ["eval", str(val_dir), "-r", "eyes", "-m", str(tiny_model), "--n", "1", "--no-lpips", "--grid", str(grid)],
        )
        assert res.exit_code == 2 and why in res.output and "--grid" in res.output, res.output
        assert len(res.output.strip().splitlines()) == 1
