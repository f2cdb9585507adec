"""Reading one table of settings from a TOML file, for the checked parameter dataclasses."""

from __future__ import annotations

import math
import tomllib
import types
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar, get_args, get_type_hints

from maas.errors import MaasError

T = TypeVar("T")


def load_table(path: str | Path, table: str, error: type[MaasError]) -> dict[str, Any]:
    """The ``[table]`` of a TOML file (or its top level), unchecked."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{path}: {exc}") from exc
    values = raw.get(table, raw)
    if not isinstance(values, dict):
        raise error(f"{path}: [{table}] must be a table of settings, got {type(values).__name__}")
    return dict(values)


def read_table(path: str | Path, table: str, settings_class: type, error: type[MaasError]) -> dict[str, Any]:
    """The ``[table]`` of a TOML file (or its top level), refusing names ``settings_class`` lacks."""
    values = load_table(path, table, error)
    problems = table_problems(values, settings_class, table)
    if problems:
        raise error(f"{path}: " + "; ".join(problems))
    return values


def table_problems(values: dict[str, Any], settings_class: type, table: str) -> list[str]:
    """Names ``settings_class`` lacks, and values whose type does not fit their field (as ``table.name``)."""
    return _name_problems(values, settings_class, table)[0]


def _name_problems(values: dict[str, Any], settings_class: type, table: str) -> tuple[list[str], dict[str, Any]]:
    """``table_problems``, and the settings whose names and types fit (those the class's own checks can judge)."""
    known = {f.name for f in fields(settings_class)}
    unknown = sorted(set(values) - known)
    problems = []
    if unknown:
        problems.append(f"unknown {table} settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    hints = get_type_hints(settings_class)
    fitting = {}
    for name, value in values.items():
        if name in known:
            problem = _type_problem(value, hints[name])
            if problem:
                problems.append(f"{table}.{name} {problem}")
            else:
                fitting[name] = value
    return problems, fitting


def checked_table(
    values: dict[str, Any],
    settings_class: type[T],
    table: str,
    error: type[Exception],
    parts: dict[str, Any] | None = None,
) -> tuple[T | None, list[str]]:
    """A settings object from a TOML table, and every problem of the table at once: unknown or ill-typed
    names (``table_problems``), then what the class's own checks (raising ``error``) say of the settings
    whose names and types fit, so a misspelt name does not hide a bad value. ``parts``: further
    arguments for the class (tables of their own). The object is None where there are problems."""
    problems, fitting = _name_problems(values, settings_class, table)
    try:
        made = settings_class(**fitting, **(parts or {}))
    except error as exc:
        return None, [*problems, str(exc)]
    return (None if problems else made), problems


def _type_problem(value: Any, hint: Any) -> str | None:
    """Why ``value`` (as TOML gives it) does not fit the field type ``hint``; None when it does."""
    allowed = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    if isinstance(value, bool):
        fits = bool in allowed
    elif isinstance(value, int):
        fits = int in allowed or float in allowed
    elif isinstance(value, float):
        if not math.isfinite(value):
            return f"must be a finite number, got {value}"
        fits = float in allowed
    else:
        fits = any(isinstance(value, kind) for kind in allowed if isinstance(kind, type) and kind is not type(None))
    if fits:
        return None
    names = " or ".join("none" if kind is type(None) else getattr(kind, "__name__", str(kind)) for kind in allowed)
    return f"must be {names}, got {type(value).__name__} {value!r}"
