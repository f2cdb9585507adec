"""The README's command blocks marked ``<!-- readme-test: NAME -->`` run exactly as printed."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_blocks() -> dict[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    blocks = {}
    for match in re.finditer(r"<!-- readme-test: ([\w-]+) -->\n```bash\n(.*?)```", text, re.S):
        blocks[match[1]] = [line for line in match[2].splitlines() if line.strip() and not line.startswith("#")]
    return blocks


def run_block(lines: list[str], folder: Path, cache: Path, data: Path) -> list[subprocess.CompletedProcess[str]]:
    maas = shutil.which("maas")
    prefix = "" if maas else f"{sys.executable} -m "  # an uninstalled checkout runs the module instead
    env = dict(os.environ, MAAS_CACHE_DIR=str(cache), MAAS_DATA_DIR=str(data))
    results = []
    for line in lines:
        command = line if maas else re.sub(r"(^|\| )maas ", rf"\1{prefix}maas ", line)
        result = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command], cwd=folder, env=env, capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"{line}\n{result.stdout}\n{result.stderr}"
        assert "Traceback" not in result.stderr, result.stderr
        results.append(result)
    return results


def test_every_marked_block_is_found() -> None:
    assert {"live-day", "batch", "fares"} <= set(readme_blocks())


@pytest.mark.realdata
def test_batch_block(shared_data: Path, poa_cache: Path, tmp_path: Path) -> None:
    """Run from a project folder with the data beside it as ../shared/data, as the README says."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "data").symlink_to(shared_data, target_is_directory=True)
    project = tmp_path / "project"
    project.mkdir()
    residents, jobs, sweep = (r.stdout for r in run_block(readme_blocks()["batch"], project, poa_cache, shared_data))
    assert "population reachable from 92 origins" in residents
    assert "jobs reachable from 1227 origins" in jobs
    assert "ran 4 day(s)" in sweep and "95 % of riders served at 30 requests a day" in sweep
    for written in ("results/residents.csv", "results/residents.png", "results/poa-jobs.png", "results/sweep/kpis.png"):
        assert (project / written).is_file(), written


@pytest.mark.realdata
def test_fares_block(shared_data: Path, helsinki: object, helsinki_cache: Path, tmp_path: Path) -> None:
    wheelchair, free, bike = (
        r.stdout for r in run_block(readme_blocks()["fares"], tmp_path, helsinki_cache, shared_data)
    )
    options = [line for line in wheelchair.splitlines() if line.startswith("Option")]
    assert options and all(line.endswith(", step-free") for line in options), wheelchair
    assert any("2.80 EUR" in line for line in options)
    plans = json.loads(free)["itineraries"]
    assert plans and all(p["fare"]["amount"] == 0 and p["fare"]["text"] == "free" for p in plans)
    assert "subway M2 from Ruoholahti" in bike and "bike 662 m to Destination" in bike, bike


@pytest.mark.realdata
def test_live_day_block(shared_data: Path, helsinki: object, helsinki_cache: Path, tmp_path: Path) -> None:
    results = run_block(readme_blocks()["live-day"], tmp_path, helsinki_cache, shared_data)
    simulate, plan, book, bookings, rest = (r.stdout for r in results)
    assert "is open at 08:00" in simulate
    assert re.search(
        r"shuttle \d+ m to Ruoholahti \(1201\d+\) \(on-demand shuttle-\d+, pickup 08:3\d-08:\d\d\)", plan
    ), plan
    assert book.startswith("booked b-") and "pickup between 08:" in book
    assert bookings.splitlines()[0].split()[:2] == ["id", "status"] and len(bookings.splitlines()) == 5
    assert "served_share" in rest
    assert not list(tmp_path.glob("*.csv"))  # nothing written beside the database but its report folder
