"""The code's shape that docs/architecture.md promises, checked: layers and kernel rules."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    """apps above dispatch above planner above the foundation; kernels array-only; OR-Tools behind one module."""
    command = shutil.which("lint-imports")
    if command is None:
        pytest.fail("lint-imports is missing: pip install -e '.[dev]'")
    done = subprocess.run([command], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:]
    assert "0 broken" in done.stdout


def test_no_function_over_80_lines_outside_numba_kernels() -> None:
    """A function that does one job fits on a screen; numba kernels are exempt (a kernel is one loop
    nest on purpose: splitting it costs calls the compiler may not inline)."""
    import ast

    too_long = []
    files = [ROOT / "app.py", *(ROOT / "maas").glob("*.py"), *(ROOT / "maas_apps").glob("*.py")]
    files += [*(ROOT / "planner").glob("*.py"), *(ROOT / "dispatch").glob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if any("njit" in ast.unparse(d) for d in node.decorator_list):
                continue
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length > 80:
                too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "split these: " + "; ".join(too_long)
