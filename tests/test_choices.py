"""Every public choice (regions, devices, presets, censor kinds, face limits) is defined once in the library and
the CLI offers exactly that: an unknown value is refused (exit 2) with the library's list."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from unmask import spec
from unmask.cli.app import app


def _choices(output: str) -> set[str]:
    """The values typer lists for a refused choice ("'a', 'b' or 'c'")."""
    return set(re.findall(r"'([a-z-]+)'", output.split("is not one of", 1)[-1]))


@pytest.mark.parametrize(
    "args, values",
    [
        (["run", "x.jpg", "--region", "nose"], spec.RUN_REGIONS),
        (["run", "x.jpg", "--device", "tpu"], spec.DEVICES),
        (["export", "run", "--region", "nose"], spec.REGIONS),
        (["train", "--region", "nose"], spec.TRAIN_REGIONS),
        (["train", "--hole-fill", "blur"], spec.HOLE_FILLS),
        (["eval", "x", "--region", "eyes", "--censor", "tape"], spec.FACE_CENSORS),
    ],
)
def test_cli_choices_are_the_library_tuples(args: list[str], values: tuple[str, ...]) -> None:
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2
    assert _choices(r.output) == set(values), r.output


def test_presets_are_the_arch_s(tmp_path) -> None:
    from unmask.train import archs

    r = CliRunner().invoke(app, ["train", "--arch", "glcic", "--preset", "huge", "--out", str(tmp_path)])
    assert r.exit_code == 2 and "no preset 'huge'" in r.output
    assert all(name in r.output for name in archs.spec("glcic").presets), r.output


def test_censor_tables_agree() -> None:
    from unmask.measure.scores import DEFAULT_CENSOR

    assert set(spec.CENSOR_KINDS) == set(spec.KIND_REGION)
    for region, kinds in spec.REGION_KINDS.items():
        assert kinds and all(spec.KIND_REGION[k] == region for k in kinds)
        assert DEFAULT_CENSOR[region] == kinds[0]
    assert set(spec.FACE_CENSORS) == {k for kinds in spec.REGION_KINDS.values() for k in kinds}
