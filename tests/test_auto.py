"""``--region auto``: which region of each face is covered, decided from the pixels, on validation faces censored
in the photo (the project's own bar, pixelated band and surgical mask, with random jitter and colours, saved as
JPEG) and on clean faces. Needs ../shared (skipped otherwise)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unmask.infer.censors import draw_censor
from unmask.infer.pipeline import Restorer

N_FACES = 16  # faces used (the finders were tuned on other ones; benchmarks/auto_accuracy.py runs 200)
EXPECTED = {"clean": None, "bar": "eyes", "pixelate": "eyes", "surgical": "mouth"}
MIN_ACCURACY = 0.9


def _jpeg(rgb: np.ndarray, quality: int = 90) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


@pytest.fixture(scope="module")
def cases(val_faces: list[Path], finder) -> list[tuple[str, str, np.ndarray]]:
    """(photo name, kind, photo) for each face found clean and each censor kind, censored in the photo."""
    rng = np.random.default_rng(2024)
    out = []
    for path in val_faces[: N_FACES + 8]:
        rgb = np.asarray(Image.open(path).convert("RGB"))
        faces = finder.search(rgb).faces
        if len(faces) != 1:
            continue
        out.append((path.name, "clean", rgb))
        for kind in ("bar", "pixelate", "surgical"):
            censored, _ = draw_censor(rgb, faces[0].landmarks, kind, rng)
            out.append((path.name, kind, _jpeg(censored)))
        if len(out) == 4 * N_FACES:
            break
    assert len(out) == 4 * N_FACES, "not enough validation faces found"
    return out


@pytest.fixture(scope="module")
def decisions(cases: list, finder) -> list[tuple[str, str, object]]:
    """(name, kind, Result of Restorer(region="auto")) per case; the "models" are stand-ins that paint grey."""

    class Grey:
        size = 64
        name = "grey"
        takes_edges = False

        def run(self, crops: list, holes: list) -> list:
            return [np.full_like(c, 128) for c in crops]

    restorer = Restorer({"eyes": Grey(), "mouth": Grey()}, region="auto", finder=finder)
    return [(name, kind, restorer.restore(rgb)) for name, kind, rgb in cases]


def _decided(result) -> str | None:
    if not result.faces:
        return "no face"
    return result.faces[0].region if result.faces[0].status == "restored" else None


def test_auto_decides_right_on_censored_and_clean_faces(decisions: list) -> None:
    wrong = [(n, k, _decided(r), r.faces[0].decision if r.faces else "") for n, k, r in decisions
             if _decided(r) != EXPECTED[k]]  # fmt: skip
    accuracy = 1 - len(wrong) / len(decisions)
    print(f"\nauto: {accuracy:.1%} right on {len(decisions)} faces ({N_FACES} photos x clean/bar/pixelate/surgical)")
    for w in wrong:
        print("  wrong:", w)
    assert accuracy >= MIN_ACCURACY, f"auto right on only {accuracy:.0%}: {wrong}"


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_auto_is_right_for_each_kind(decisions: list, kind: str) -> None:
    mine = [r for _, k, r in decisions if k == kind]
    right = sum(_decided(r) == EXPECTED[kind] for r in mine)
    assert right >= 0.8 * len(mine), f"{kind}: right on {right} of {len(mine)}"


def test_auto_names_the_censor_kind(decisions: list) -> None:
    named = [(k, r.faces[0].decision) for _, k, r in decisions if k != "clean" and _decided(r) == EXPECTED[k]]
    right = sum(k in decision for k, decision in named)
    assert right >= 0.85 * len(named), named


def test_clean_faces_are_left_unchanged(cases: list, decisions: list) -> None:
    clean = [(rgb, r) for (_, k, rgb), (_, _, r) in zip(cases, decisions) if k == "clean"]
    untouched = [np.array_equal(rgb, r.rgb) for rgb, r in clean]
    assert sum(untouched) >= MIN_ACCURACY * len(clean)
    for (_, r), same in zip(clean, untouched):
        assert same == (r.restored == 0), "a photo changes exactly when a face was restored"


def test_censored_faces_are_changed_where_decided(cases: list, decisions: list) -> None:
    for (_, k, rgb), (_, _, r) in zip(cases, decisions):
        if k != "clean" and _decided(r) == EXPECTED[k]:
            assert not np.array_equal(rgb, r.rgb)
