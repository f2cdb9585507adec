from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
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
def poa_cache(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private cache for Porto Alegre, shared by the tests of the session (its build takes ~50 s)."""
    if not (shared_data / "porto_alegre" / "poa_osm.pbf").is_file():
        pytest.skip("no porto_alegre data")
    return tmp_path_factory.mktemp("poa-cache")


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


# -- a real Dask cluster: a scheduler and two workers in their own processes, as on several machines --


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def dask_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = (tmp_path / "dask.log").open("wb")
    env = dict(os.environ)
    scheduler = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-dashboard",
        ],
        stdout=log,
        stderr=log,
        env=env,
    )
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributed.cli.dask_worker",
                address,
                "--nthreads",
                "1",
                "--no-nanny",
                "--no-dashboard",
                "--name",
                f"w{i}",
            ],
            stdout=log,
            stderr=log,
            env=env,
        )
        for i in range(2)
    ]
    from distributed import Client

    client = Client(address, timeout="30s")
    client.wait_for_workers(2, timeout=60)
    client.close()
    try:
        yield address, workers
    finally:
        for process in [*workers, scheduler]:
            process.kill()
            process.wait()
        log.close()
