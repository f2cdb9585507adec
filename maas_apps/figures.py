"""Saving the PNG figures the commands write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from maas.errors import MaasError

__all__ = ["save_figure"]


def save_figure(fig: Any, path: Path, dpi: int = 100) -> None:
    """Write a matplotlib figure to ``path`` (its folder made if needed) and release it; an unwritable
    path is a clear error, not a traceback."""
    import matplotlib.pyplot as plt

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi)
    except OSError as exc:
        raise MaasError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        plt.close(fig)
