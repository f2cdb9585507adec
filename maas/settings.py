"""Reading one table of settings from a TOML file, for the checked parameter dataclasses."""

from __future__ import annotations

import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any

from maas.errors import MaasError


def read_table(path: str | Path, table: str, settings_class: type, error: type[MaasError]) -> dict[str, Any]:
    """The ``[table]`` of a TOML file (or its top level), refusing names ``settings_class`` lacks."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise error(f"{path}: {exc}") from exc
    values = raw.get(table, raw)
    known = {f.name for f in fields(settings_class)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise error(f"{path}: unknown {table} settings {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return dict(values)
