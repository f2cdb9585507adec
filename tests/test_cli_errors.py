"""How the command line fails: one line for a bug (the trace in a log file), quiet on a closed pipe."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from maas_apps import cli


def test_an_internal_error_is_one_line_and_a_log_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("MAAS_CACHE_DIR", str(tmp_path))

    def broken(args: object) -> int:
        return 1 // 0

    monkeypatch.setattr(cli, "cmd_bookings", broken)
    code = cli.main(["bookings", "--db", "whatever.sqlite"])
    err = capsys.readouterr().err
    assert code == 3
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "internal error (ZeroDivisionError" in err
    log = Path(err.rsplit("the trace is in ", 1)[1].strip())
    assert log.parent == tmp_path / "logs"
    trace = log.read_text()
    assert "Traceback" in trace and "1 // 0" in trace and "bookings --db whatever.sqlite" in trace


def test_bad_option_values_name_the_option(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, expected in [
        (
            ["plan", "--from", "60.1,24.9", "--to", "60.2,24.9", "--depart", "2022-02-22T08:30", "--max-walk", "-5"],
            "argument --max-walk: expected a distance in metres from 0 to 100000, got '-5'",
        ),
        (
            ["book", "--db", "x", "--from", "60.1,24.9", "--to", "60.2,24.9", "--seats", "0"],
            "argument --seats: expected a number of seats from 1 to 100, got '0'",
        ),
        (
            ["book", "--db", "x", "--from", "60.1,24.9", "--to", "60.2,24.9", "--at", "25:99"],
            "argument --at: expected a time HH:MM (hours 0-47, minutes 0-59), got '25:99'",
        ),
        (
            ["book", "--db", "x", "--from", "60.1,24.9", "--to", "60.2,24.9", "--id", "a\nb"],
            "argument --id: a booking id is 1-64 printable characters without spaces",
        ),
        (["simulate", "--hours", "19-7"], "argument --hours: hours must be START-END with 0 <= START < END <= 48"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            cli.main(argv)
        assert exit_info.value.code == 2
        assert expected in capsys.readouterr().err


def test_negative_coordinates_need_no_equals_sign() -> None:
    joined = cli._join_negative_values(["plan", "--from", "-30.02,-51.22", "--to", "60.1,24.9", "--max-walk", "-5"])
    assert joined == ["plan", "--from=-30.02,-51.22", "--to", "60.1,24.9", "--max-walk=-5"]


def test_a_missing_database_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = cli.main(["bookings", "--db", str(tmp_path / "nothing.sqlite")])
    assert code == 2
    assert f"--db {tmp_path / 'nothing.sqlite'} does not exist" in capsys.readouterr().err


def test_output_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    """`maas bookings | head -1`: the reader goes away; no BrokenPipeError trace, exit status 0."""
    from dispatch.online import Booking, OnlineParams, VehiclePlan
    from dispatch.service import ServiceStore
    from dispatch.service_day import DaySettings

    db = tmp_path / "day.sqlite"
    store = ServiceStore(db)
    riders = [Booking(f"rider-{i:05d}", 0, 1, 25200.0 + i, 25200.0 + i, 26100.0 + i, 900.0) for i in range(20000)]
    store.initialise(
        DaySettings(25200.0, 68400.0, 0, OnlineParams()), [VehiclePlan("v1", 8, 1, 0, 25200.0)], riders, {}
    )
    store.close()
    result = subprocess.run(
        ["bash", "-c", f"{sys.executable} -m maas_apps bookings --db {db} | head -1; echo status ${{PIPESTATUS[0]}}"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=120,
    )
    assert result.stdout.splitlines()[0].split()[:2] == ["id", "status"]
    assert result.stdout.splitlines()[-1] == "status 0"
    assert result.stderr == "", result.stderr


def test_app_db_option_hands_the_live_day_to_the_app(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`maas app --db FILE` starts Streamlit with the day's file as the live day (no server started here)."""
    import planner.area_data

    seen: dict[str, str] = {}
    monkeypatch.setattr(planner.area_data, "load_area_data", lambda *a, **k: None)
    monkeypatch.setattr(cli, "prepare_app_caches", lambda *a, **k: None)  # no caches drawn here
    monkeypatch.setattr(cli, "_exec", lambda command, env: seen.update(env, command=" ".join(command)) or 0)
    db = tmp_path / "live.sqlite"
    db.write_bytes(b"")
    with socket.socket() as spare:  # a port nobody holds, whatever else runs on this machine
        spare.bind(("127.0.0.1", 0))
        port = spare.getsockname()[1]
    assert cli.main(["app", "--db", str(db), "--port", str(port)]) == 0
    assert seen["MAAS_APP_LIVE_DB"] == str(db.resolve())
    assert "--server.address 127.0.0.1" in seen["command"]  # this machine only, unless --address says otherwise
    assert cli.main(["app", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["app"], ["serve-rt", "--db", "DAY"]])
def test_a_taken_port_is_named_before_any_data_loads(
    command: list[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`maas app` / `maas serve-rt` on a port another program listens on: one message naming the port and
    --port, at once (not the server's own message after the area's data has loaded)."""
    import planner.area_data

    def must_not_load(*args: object, **kwargs: object) -> None:
        raise AssertionError("the area's data was loaded although the port is taken")

    monkeypatch.setattr(planner.area_data, "load_area_data", must_not_load)
    monkeypatch.setattr(cli, "_shuttle_day", must_not_load)
    day = tmp_path / "day.sqlite"
    day.write_bytes(b"")
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = [str(day) if part == "DAY" else part for part in command] + ["--port", str(port)]
        assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"127.0.0.1:{port}" in err and "--port" in err, err
    assert "Traceback" not in err


def test_bookings_status_choices_are_the_service_statuses() -> None:
    from dispatch.service import BookingStatus
    from maas_apps.cli import BOOKING_STATUSES

    assert tuple(status.value for status in BookingStatus) == BOOKING_STATUSES
