"""The three wings import one way (docs/ARCHITECTURE.md, "Three wings"): inference imports neither training nor
measurement, and the shared contract (spec, codec, edges) imports no wing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "unmask"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in out if m.startswith("unmask")}


@pytest.mark.parametrize("path", sorted((PKG / "infer").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_inference_imports_neither_training_nor_measurement(path: Path) -> None:
    bad = sorted(m for m in _imports(path) if m.startswith(("unmask.train", "unmask.measure", "unmask.cli")))
    assert not bad, f"{path.relative_to(PKG)} imports {bad}"


@pytest.mark.parametrize("name", ["spec.py", "codec.py", "edges.py", "registry.py", "errors.py"])
def test_the_shared_contract_imports_no_wing(name: str) -> None:
    bad = sorted(
        m
        for m in _imports(PKG / name)
        if m.startswith(("unmask.infer", "unmask.train", "unmask.measure", "unmask.cli"))
    )
    assert not bad, f"{name} imports {bad}"


def test_no_module_over_450_lines() -> None:
    long = {str(p.relative_to(PKG)): n for p in PKG.rglob("*.py") if (n := len(p.read_text().splitlines())) > 450}
    assert not long, long


@pytest.mark.parametrize("path", sorted((PKG / "serve").rglob("*.py")), ids=lambda p: str(p.relative_to(PKG)))
def test_serve_imports_only_inference_and_the_contract(path: Path) -> None:
    allowed = (
        "unmask.infer",
        "unmask.serve",
        "unmask.spec",
        "unmask.codec",
        "unmask.edges",
        "unmask.registry",
        "unmask.errors",
    )
    bad = sorted(m for m in _imports(path) if m not in ("unmask", "unmask.__version__") and not m.startswith(allowed))
    assert not bad, f"{path.relative_to(PKG)} imports {bad}"
