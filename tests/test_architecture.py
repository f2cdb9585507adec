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
    nest on purpose: splitting it costs calls the compiler may not inline). Its docstring does not
    count: a numpydoc Parameters section should not push a function to be split."""
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
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                length -= (first.end_lineno or first.lineno) - first.lineno + 1
            if length > 80:
                too_long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    assert not too_long, "split these: " + "; ".join(too_long)


def test_public_functions_say_what_they_do() -> None:
    """Every public function and method of the packages has a docstring (properties excepted)."""
    import ast

    missing = []
    for package in ("maas", "maas_apps", "planner", "dispatch"):
        for path in (ROOT / package).glob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            nodes = [(n, "") for n in tree.body]
            nodes += [(m, f"{n.name}.") for n in tree.body if isinstance(n, ast.ClassDef) for m in n.body]
            for node, owner in nodes:
                if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                    continue
                if any(
                    isinstance(d, ast.Name) and d.id in ("property", "cached_property") for d in node.decorator_list
                ):
                    continue
                if owner and owner[:-1].startswith("_"):
                    continue
                if not ast.get_docstring(node):
                    missing.append(f"{path.relative_to(ROOT)}:{node.lineno} {owner}{node.name}")
    assert not missing, "document these: " + "; ".join(missing)
