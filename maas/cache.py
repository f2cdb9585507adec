"""Where compiled data is cached, and the keys that tell when it is stale.

A cache entry's key hashes the *contents* of its input files, the compiled
format's version and the parameters that change the result, so editing a feed,
upgrading the format or changing a speed rebuilds it, and nothing else does.
Directory: ``$MAAS_CACHE_DIR`` if set, else ``~/.cache/maas``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

CACHE_DIR_ENV = "MAAS_CACHE_DIR"
_hash_memo: dict[tuple[str, int, int], str] = {}


def cache_dir(override: str | Path | None = None) -> Path:
    """The cache directory: ``override``, else ``$MAAS_CACHE_DIR``, else ``~/.cache/maas`` (created)."""
    if override is not None:
        path = Path(override)
    elif os.environ.get(CACHE_DIR_ENV):
        path = Path(os.environ[CACHE_DIR_ENV])
    else:
        path = Path.home() / ".cache" / "maas"
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (memoised per path, size and mtime within a process)."""
    stat = path.stat()
    memo_key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if memo_key not in _hash_memo:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        _hash_memo[memo_key] = digest.hexdigest()
    return _hash_memo[memo_key]


def cache_key(kind: str, format_version: int, files: list[Path], params: dict[str, Any]) -> str:
    """A short hex key for one cache entry."""
    payload = json.dumps(
        {"kind": kind, "format": format_version, "files": [file_digest(f) for f in files], "params": params},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def replace_atomically(path: Path, write: Any, suffix: str = "") -> None:
    """Write ``path`` through ``write(temporary_path)`` and rename it into place, so a reader never
    sees half a file. The temporary name is unique: several processes (Dask workers starting at once)
    may build the same entry, and the last rename wins with identical contents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=suffix or path.suffix, dir=path.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def save_npz(path: Path, **arrays: Any) -> None:
    """``np.savez`` to ``path``, atomically (see :func:`replace_atomically`)."""
    import numpy as np

    replace_atomically(path, lambda temporary: np.savez(temporary, **arrays), ".npz")


def write_bytes(path: Path, data: bytes) -> None:
    """``path.write_bytes(data)``, atomically (see :func:`replace_atomically`)."""
    replace_atomically(path, lambda temporary: temporary.write_bytes(data))


def write_text(path: Path, text: str) -> None:
    """``path.write_text(text)`` (UTF-8), atomically (see :func:`replace_atomically`)."""
    write_bytes(path, text.encode("utf-8"))
