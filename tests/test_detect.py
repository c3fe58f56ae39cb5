"""Finding censored faces (issue 15): faces under bars, mosaics and masks, turned up to 45 degrees, on large
canvases; the checks that keep textures out (face template, upright re-detection); reading order and choice."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unmask.infer.face.align import fits_template, template_error
from unmask.infer.face.choose import Choice, reading_order
from unmask.infer.face.landmarks import NOSE_TIP, eye_centres
from unmask.infer.face.types import box_iou
from unmask.measure import detect_recall as bench  # the benchmark's canvases, a few of them


CANVASES = [("bar", 30, 0), ("pixelate", 45, 1), ("surgical", 0, 2), ("surgical", 30, 3), ("bar", 45, 4),
            ("surgical", 45, 5), ("none", 15, 6)]  # fmt: skip
"""(censor, degrees, canvas): each canvas holds 2-4 faces of the pool below, 1x-2x, turned by the degrees."""


@pytest.fixture(scope="module")
def pool(val_dir: Path) -> list:
    return bench.face_pool(val_dir, 12)


@pytest.mark.parametrize(("kind", "angle", "index"), CANVASES)
def test_every_face_of_a_canvas_is_found(finder, pool, kind: str, angle: int, index: int) -> None:
    canvas = bench.make_canvas(pool, kind, angle, index)
    found = finder.search(canvas.rgb).faces
    hit, extra = bench.match([f.box for f in found], canvas.faces)
    assert all(hit), f"{canvas.name}: {sum(hit)} of {len(hit)} faces found"
    assert extra == 0, f"{canvas.name}: {extra} found where no face was drawn"


def test_candidates_found_in_two_threads_are_those_of_one(finder, pool) -> None:
    """The full-range pass and a share of the short-range windows run beside the rest; the merged candidates are
    the same, in the same order, as those of every pass run in turn on one thread."""
    import threading

    from unmask.infer.face import candidates as C

    canvas = bench.make_canvas(pool, "surgical", 15, 1)
    small, scale = C.downscaled(canvas.rgb)
    alone = C.merge(C.full_range(finder._full, small, scale) + C.windows(finder._short, small, scale, finder.min_face))
    before = threading.active_count()
    both, second = finder._candidates(canvas.rgb)
    finder._candidates(canvas.rgb)
    assert [(c.source, c.score, c.box.tolist()) for c in both] == [(c.source, c.score, c.box.tolist()) for c in alone]
    assert [len(c.others) for c in both] == [len(c.others) for c in alone]
    assert len(alone) >= len(canvas.faces)
    assert not any(c.second for c in both) and all(c.second and c.source == "second-0.4" for c in second)
    assert threading.active_count() <= before + 1, "one helper thread, reused"


def test_the_second_look_finds_a_masked_face_the_first_grid_cut(finder, pool, monkeypatch) -> None:
    """A small masked face centred where four of the first look's 0.4-level windows meet (each sees it cut at an
    edge) is missed by the first look and found by the second, whose window is centred on it."""
    from unmask.infer.censors import draw_censor, jpeg
    from unmask.infer.face import candidates as C

    photo, pts = pool[7]
    masked, _ = draw_censor(photo, pts, "surgical", np.random.default_rng(7))
    canvas = bench.background(np.random.default_rng(7), bench.BACKGROUNDS[3])
    scale, centre = 0.9, np.array([940.0, 360.0])  # a meeting point of the 1600x1200 canvas's 0.4-level grid
    x0, y0 = (centre - pts.mean(0) * scale).astype(int)
    box = (x0, y0, x0 + int(np.ceil(masked.shape[1] * scale)), y0 + int(np.ceil(masked.shape[0] * scale)))
    moved = bench._paste(canvas, masked, pts, scale, 0.0, box, np.random.default_rng(0))
    rgb, truth = jpeg(canvas, 90), [bench.Truth(moved, "surgical", scale, 0)]
    hit, extra = bench.match([f.box for f in finder.search(rgb).faces], truth)
    assert hit == [True] and extra == 0
    monkeypatch.setattr(C, "SECOND_LEVELS", ())
    hit, _ = bench.match([f.box for f in finder.search(rgb).faces], truth)
    assert hit == [False], "the first look alone finds it: this canvas no longer tests the second look"


def test_a_canvas_without_faces_has_none(finder) -> None:
    for index in range(4):  # one of each background
        assert finder.search(bench.faceless_canvas(index).rgb).faces == []


def test_the_upright_check_drops_a_texture_the_landmark_model_takes_for_a_face(finder, monkeypatch) -> None:
    texture = bench.faceless_canvas(104, seed=7).rgb  # value noise where FaceMesh sees a face (presence ~1)
    assert finder.search(texture).faces == []
    monkeypatch.setattr(type(finder), "_upright", lambda *a, **k: True)
    assert len(finder.search(texture).faces) == 1, "without the check the texture is taken for a face"


def test_a_video_follows_a_new_face_only_on_stricter_checks(finder, astronaut, pool) -> None:
    """A texture both upright views see, neither surely, passes a photo's checks; its landmarks wander as their
    region moves, so ``strict`` (how a video starts a track) refuses it. Faces pass either way."""
    texture = bench.faceless_canvas(8, seed=7).rgb
    assert len(finder.search(texture).faces) == 1, "a photo's checks take this texture for a face"
    candidates = finder.detect(texture)
    assert any(finder.confirm(texture, c) is not None for c in candidates)
    assert all(finder.confirm(texture, c, strict=True) is None for c in candidates)
    assert any(finder.confirm(astronaut, c, strict=True) is not None for c in finder.detect(astronaut))
    barred = bench.make_canvas(pool, "bar", 30, 0)
    strict: list = []
    for c in finder.detect(barred.rgb):  # the first look's candidates, then the second look's (one face may be both)
        f = finder.confirm(barred.rgb, c, strict=True)
        if f is not None and not any(box_iou(f.box, g.box) >= 0.3 for g in strict):
            strict.append(f)
    hit, extra = bench.match([f.box for f in strict], barred.faces)
    assert all(hit) and extra == 0


def test_the_template_check(astronaut_face) -> None:
    pts = astronaut_face.landmarks.astype(np.float64)
    assert fits_template(pts) and template_error(pts) < 0.1
    r, l = eye_centres(pts)
    iod = np.linalg.norm(l - r)
    sheared = pts.copy()
    below = pts[:, 1] > pts[NOSE_TIP, 1]
    sheared[below, 0] += 0.8 * iod  # the lower face slid sideways: no face is built so
    assert not fits_template(sheared)
    rng = np.random.default_rng(0)
    assert not fits_template(rng.uniform(pts.min(0), pts.max(0), pts.shape))


def test_the_finder_drops_landmarks_that_fit_no_face(finder, astronaut, monkeypatch) -> None:
    """The landmark model always draws a face-like mesh; one that is not (here: made so) is no face, even at full
    presence."""
    real = finder._mesh.run

    def bent(rgb, roi):
        pts, presence = real(rgb, roi)
        pts = pts.copy()
        below = pts[:, 1] > pts[NOSE_TIP, 1]
        r, l = eye_centres(pts)
        pts[below, 0] += 1.0 * float(np.linalg.norm(l - r))  # template error about 0.3 (0.8: 0.25, at the limit)
        return pts, 1.0

    assert len(finder.search(astronaut).faces) == 1
    monkeypatch.setattr(finder._mesh, "run", bent)
    assert finder.search(astronaut).faces == []


def test_faces_beyond_max_faces_and_too_small_are_reported(pool, finder) -> None:
    from unmask.infer.face.detect import FaceFinder

    canvas = bench.make_canvas(pool, "bar", 0, 1)
    n = len(canvas.faces)
    assert len(finder.search(canvas.rgb).faces) == n
    with FaceFinder(max_faces=1) as one:
        found = one.search(canvas.rgb)
    assert len(found.faces) == 1 and len(found.beyond) == n - 1
    assert found.faces[0].width * found.faces[0].height >= max(f.width * f.height for f in found.beyond), "largest kept"
    smallest = min(finder.search(canvas.rgb).faces, key=lambda f: f.size)
    with FaceFinder(min_face=int(1.1 * smallest.size)) as picky:
        found = picky.search(canvas.rgb)
    assert len(found.faces) < n and len(found.too_small) >= 1
    x0, y0, x1, y1 = smallest.box
    assert any(x0 <= (b[0] + b[2]) / 2 <= x1 and y0 <= (b[1] + b[3]) / 2 <= y1 for b, _ in found.too_small)


# ------------------------------------------------------------------------------------------------ reading order


def test_reading_order_rows_then_left_to_right() -> None:
    def box(cx: float, cy: float, s: float = 100) -> tuple[float, float, float, float]:
        return (cx - s / 2, cy - s / 2, cx + s / 2, cy + s / 2)

    # a back row (higher, smaller faces, not quite level) and a front row, given shuffled
    boxes = [box(500, 420, 120), box(150, 130, 80), box(820, 400, 120), box(450, 110, 80), box(160, 410, 120),
             box(760, 140, 80)]  # fmt: skip
    assert reading_order(boxes) == [1, 3, 5, 4, 0, 2]
    assert reading_order([]) == []


def test_choice() -> None:
    boxes = [(0, 0, 10, 10), (20, 0, 50, 30), (60, 0, 70, 10)]
    assert all(Choice().why_not(i, b, boxes) is None for i, b in enumerate(boxes))
    pick = Choice(indices=(0, 2))
    assert [pick.why_not(i, b, boxes) is None for i, b in enumerate(boxes)] == [True, False, True]
    assert "--faces 0,2" in pick.why_not(1, boxes[1], boxes)
    big = Choice(largest=True)
    assert [big.why_not(i, b, boxes) is None for i, b in enumerate(boxes)] == [False, True, False]
    with pytest.raises(ValueError):
        Choice(indices=(1,), largest=True)
    with pytest.raises(ValueError):
        Choice(indices=(-1,))


# ------------------------------------------------------------------------------------------------ choosing, CLI


@pytest.fixture
def three_faces(censored_astronaut, tmp_path: Path) -> Path:
    """A row of three barred faces, numbered 0 (large, left), 1 and 2 (smaller, mirrored on the right)."""
    import cv2
    from conftest import save_image

    big = censored_astronaut[0]
    small = cv2.resize(big, (320, 320), interpolation=cv2.INTER_AREA)
    canvas = np.full((512, 512 + 2 * 320, 3), 200, np.uint8)
    canvas[:, :512] = big
    canvas[47 : 47 + 320, 512:832] = small
    canvas[47 : 47 + 320, 832:] = small[:, ::-1]
    return save_image(tmp_path / "in" / "row.png", canvas)


def _record(res) -> dict:
    from conftest import json_lines

    assert res.exit_code == 0, res.stderr
    (rec,), _ = json_lines(res.stdout)
    return rec


def _changed(out: Path, photo: Path, box: list[float]) -> bool:
    from unmask.infer.io import read_image

    x0, y0, x1, y1 = (int(round(v)) for v in box)
    return not np.array_equal(read_image(out).rgb[y0:y1, x0:x1], read_image(photo).rgb[y0:y1, x0:x1])


def test_json_numbers_every_face_left_to_right(cli, three_faces: Path, tmp_path: Path) -> None:
    rec = _record(cli(three_faces, "-o", tmp_path / "out", "--json"))
    faces = rec["faces"]
    assert [f["index"] for f in faces] == [0, 1, 2] and [f["status"] for f in faces] == ["restored"] * 3
    assert faces[0]["box"][0] < faces[1]["box"][0] < faces[2]["box"][0]


def test_faces_chooses_by_number(cli, three_faces: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    res = cli(three_faces, "-o", out, "--json", "--faces", "0,2")
    faces = _record(res)["faces"]
    assert [f["status"] for f in faces] == ["restored", "skipped", "restored"]
    assert faces[1]["decision"] == "not chosen (--faces 0,2)"
    assert _changed(out / "row.png", three_faces, faces[0]["box"]) and _changed(
        out / "row.png", three_faces, faces[2]["box"]
    )
    assert not _changed(out / "row.png", three_faces, faces[1]["box"]), "face 1 left as it was"
    plain = cli(three_faces, "-o", tmp_path / "plain", "--faces", "0,2")
    (line,) = [ln for ln in plain.stderr.splitlines() if ln.startswith("[1/1]")]
    assert "restored 2 face(s)" in line and "faces: 0 restored eyes, 1 not chosen, 2 restored eyes" in line


def test_largest_restores_one_face(cli, three_faces: Path, tmp_path: Path) -> None:
    faces = _record(cli(three_faces, "-o", tmp_path / "out", "--json", "--largest"))["faces"]
    assert [f["status"] for f in faces] == ["restored", "skipped", "skipped"]
    assert all(f["decision"] == "not the largest face (--largest)" for f in faces[1:])


def test_face_numbers_are_checked(cli, three_faces: Path, tmp_path: Path) -> None:
    rec = _record(cli(three_faces, "-o", tmp_path / "o1", "--json", "--faces", "5"))
    assert rec["status"] == "no-face" and rec["warnings"] == ["no face numbered 5 in this photo (3 found)"]
    for bad in (["--faces", "one"], ["--faces", "0", "--largest"], ["--faces", "-1"]):
        res = cli(three_faces, "-o", tmp_path / "o2", *bad)
        assert res.exit_code == 2 and res.stderr.startswith("error:") and len(res.stderr.strip().splitlines()) == 1, bad


def test_show_faces_draws_boxes_numbers_and_decisions(cli, three_faces: Path, tmp_path: Path) -> None:
    from unmask.infer.io import read_image
    from unmask.infer.show import COLOURS

    shown = tmp_path / "shown.png"
    faces = _record(cli(three_faces, "-o", tmp_path / "out", "--json", "--faces", "1", "--show-faces", shown))["faces"]
    picture = read_image(shown).rgb
    photo = read_image(three_faces).rgb
    assert picture.shape == photo.shape
    for f in faces:  # the box's left edge, mid-height, in the status's colour
        x0, y0, x1, y1 = (int(round(v)) for v in f["box"])
        assert tuple(picture[(y0 + y1) // 2, x0]) == COLOURS[f["status"]], f
    inside = picture[
        int(faces[0]["box"][1]) + 5 : int(faces[0]["box"][3]) - 5,
        int(faces[0]["box"][0]) + 5 : int(faces[0]["box"][2]) - 5,
    ]
    assert np.array_equal(inside, photo[int(faces[0]["box"][1]) + 5 : int(faces[0]["box"][3]) - 5,
                                        int(faces[0]["box"][0]) + 5 : int(faces[0]["box"][2]) - 5]), "the input, not the result"  # fmt: skip
    # several photos: a folder, one picture per photo, also for a photo where nothing was restored
    from conftest import save_image

    save_image(three_faces.parent / "blank.png", np.full((300, 400, 3), 90, np.uint8))
    res = cli(three_faces.parent, "-o", tmp_path / "out2", "--show-faces", tmp_path / "pictures")
    assert res.exit_code == 0, res.stderr
    assert sorted(p.name for p in (tmp_path / "pictures").iterdir()) == ["blank.faces.png", "row.faces.png"]
    res = cli(three_faces.parent, "-o", tmp_path / "out3", "--show-faces", shown)  # a file for two photos
    assert res.exit_code == 2 and "--show-faces" in res.stderr and "folder" in res.stderr


def test_library_restore_chooses_faces(three_faces: Path, models_dir: Path) -> None:
    """``unmask.restore(..., faces=[0, 2])`` and ``largest=True``: the same choice as the CLI's, from the library."""
    import unmask
    from unmask.infer.io import read_image

    rgb = read_image(three_faces).rgb
    model = str(models_dir / "tiny_eyes.onnx")
    res = unmask.restore(rgb, region="eyes", model=model, device="cpu", faces=[0, 2])
    assert [f.index for f in res.faces] == [0, 1, 2]
    assert [f.status for f in res.faces] == ["restored", "skipped", "restored"]
    x0, y0, x1, y1 = (int(round(v)) for v in res.faces[1].box)
    assert np.array_equal(res.rgb[y0:y1, x0:x1], rgb[y0:y1, x0:x1]), "face 1 left as it was"
    largest = unmask.restore(rgb, region="eyes", model=model, device="cpu", largest=True)
    assert [f.status for f in largest.faces] == ["restored", "skipped", "skipped"]
    with pytest.raises(ValueError):
        unmask.restore(rgb, region="eyes", model=model, device="cpu", faces=[0], largest=True)


def test_a_face_found_again_at_the_wrong_scale_is_one_face() -> None:
    """A box framed around a found face at any size is that face (kept once); neighbours are not."""
    from unmask.infer.face.detect import _same

    face = (400.0, 300.0, 520.0, 420.0)
    assert _same(face, (300.0, 180.0, 640.0, 520.0))  # 2.8x, around it
    assert _same((300.0, 180.0, 640.0, 520.0), face)
    assert not _same(face, (530.0, 300.0, 650.0, 420.0))  # the next face in the row
    assert not _same(face, (380.0, 430.0, 900.0, 950.0))  # a larger face below, its middle far from this one
