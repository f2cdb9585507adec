from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from maas.area import resolve_data_dir
from maas.errors import DataNotFoundError


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data directory; tests that need it are skipped where it is absent."""
    try:
        root = resolve_data_dir()
    except DataNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("CI must run with ../shared/data beside the checkout")
        pytest.skip("shared Helsinki data not found (../shared/data or MAAS_DATA_DIR)")
    if not (root / "helsinki" / "hsl_gtfs_2022-02-22.zip").is_file():
        pytest.skip(f"{root} lacks helsinki/hsl_gtfs_2022-02-22.zip")
    return root


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Never let a test read or write the user's real cache.
    monkeypatch.setenv("MAAS_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "maas-cache"))


@pytest.fixture(scope="session")
def helsinki_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helsinki-cache")


@pytest.fixture(scope="session")
def helsinki(shared_data: Path, helsinki_cache: Path):  # type: ignore[no-untyped-def]
    """The Helsinki area data, built once per test session (cold build, ~15 s) into a private cache."""
    from maas.area import load_area
    from planner.area_data import load_area_data

    return load_area_data(load_area("helsinki", shared_data), cache=helsinki_cache)


@pytest.fixture(scope="session")
def compiled_kernels() -> None:
    """Compile the numba searches once, before any test's time budget starts.

    On a fresh machine the first compilation takes several seconds; a test that gives the
    ejection pool one second would otherwise spend it compiling and find nothing.
    """
    from dispatch.solver import compile_kernels

    compile_kernels()
