"""Riders against their real alternative (walking and transit): the arithmetic by hand, and a real day
whose every alternative is checked with a query of the other kind."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from dispatch.alternatives import AlternativeGain, RiderGain


def test_gains_by_hand() -> None:
    riders = (
        RiderGain("a", True, shuttle_s=8 * 3600, alternative_s=8 * 3600 - 300, modes=("walk",)),  # leaves 5 min later
        RiderGain(
            "b", False, shuttle_s=9 * 3600, alternative_s=9 * 3600 + 120, modes=("walk", "bus")
        ),  # home 2 min sooner
        RiderGain("c", True, shuttle_s=8 * 3600, alternative_s=8 * 3600 + 240, modes=("walk",)),  # leaves 4 min earlier
        RiderGain("d", True, shuttle_s=8 * 3600, alternative_s=None, modes=()),  # no other way
    )
    gain = AlternativeGain(riders)
    assert [r.gained_s for r in riders] == [300, 120, -240, None]
    assert gain.compared == 3 and gain.without_alternative == 1
    assert gain.mean_min == pytest.approx((5 + 2 - 4) / 3) and gain.median_min == pytest.approx(2)
    assert gain.share_gaining == pytest.approx(2 / 3) and gain.hours_per_day == pytest.approx(3 / 60)
    assert "1 had no other option" in gain.headline()
    zoned = AlternativeGain(tuple(dataclasses.replace(r, zone="Z" if r.booking in "ab" else "") for r in riders))
    assert zoned.by_zone() == [
        {"group": "(outside the zones)", "riders": 1, "mean_min": -4.0, "median_min": -4.0, "share_gaining": 0.0},
        {"group": "Z", "riders": 2, "mean_min": 3.5, "median_min": 3.5, "share_gaining": 1.0},
    ]
    assert [(t["group"], t["riders"]) for t in gain.by_hour()] == [("08:00", 2), ("09:00", 1)]


def test_gains_per_population_cell_by_hand() -> None:
    """Each home counts in its nearest cell centre; cells without compared riders are left out."""
    from planner.points import Opportunities, Point

    cells = Opportunities(
        (Point("west", 60.16, 24.90), Point("east", 60.16, 24.92), Point("empty", 60.20, 24.95)), (100, 250, 9), "pop"
    )

    def rider(name: str, lon: float, gained_min: float | None) -> RiderGain:
        alternative = None if gained_min is None else 8 * 3600 - gained_min * 60
        return RiderGain(name, True, 8 * 3600, alternative, ("walk",), "Z", (lon, 60.1601))

    gain = AlternativeGain(
        (rider("a", 24.901, 4), rider("b", 24.899, -2), rider("c", 24.918, 1), rider("d", 24.92, None))
    )
    assert gain.by_cell(cells) == [
        {
            "cell": "west",
            "lon": 24.90,
            "lat": 60.16,
            "residents": 100,
            "riders": 2,
            "mean_min": 1.0,
            "share_gaining": 0.5,
        },
        {
            "cell": "east",
            "lon": 24.92,
            "lat": 60.16,
            "residents": 250,
            "riders": 1,
            "mean_min": 1.0,
            "share_gaining": 1.0,
        },
    ]


@pytest.mark.realdata
def test_a_days_alternatives_are_real_trips(
    shared_data: Path, helsinki, helsinki_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:  # type: ignore[no-untyped-def]
    """Every alternative to a departure, taken at the time found, arrives in time (checked with a
    depart-at query, the other kind); every alternative from an arrival leaves no earlier than the train."""
    from dispatch.day import shuttle_network
    from maas_apps.cli import main
    from planner.router import Planner

    db = tmp_path / "day.sqlite"
    area = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    assert (
        main(
            [
                "simulate",
                *area,
                "--requests",
                "60",
                "--fleet",
                "3",
                "--no-reoptimise",
                "--db",
                str(db),
                "--alternatives",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "hours at home gained per day" in out
    rows = pd.read_csv(tmp_path / "day" / "alternatives.csv", keep_default_na=False)
    kpis = pd.read_csv(tmp_path / "day" / "kpis.csv").set_index("kpi")["value"]
    assert len(rows) == int(kpis["served"]) > 0
    assert set(rows["zone"]) <= {z.name for z in helsinki.area.shuttle.zones} and "by zone: " in out
    cells = pd.read_csv(tmp_path / "day" / "alternatives-cells.csv")
    assert cells["riders"].sum() == (rows["gained_min"] != "").sum()  # every compared rider in one cell
    assert (tmp_path / "day" / "alternatives-cells.png").stat().st_size > 10_000
    network = shuttle_network(helsinki)
    planner = Planner(helsinki)
    clock, day = planner.clock, helsinki.area.service_date
    from dispatch.service import ServiceStore, booking_from_json

    store = ServiceStore(db)
    bookings = {r["id"]: booking_from_json(r["data"]) for r in store.bookings()}
    store.close()
    checked = 0
    for row in rows.itertuples():
        if row.alternative_s == "":
            continue
        b = bookings[row.booking]
        (plon, plat), (dlon, dlat) = network.lonlat(b.pickup), network.lonlat(b.dropoff)
        leave = float(row.alternative_s)
        if row.to_departure:
            again = planner.plan((plat, plon), (dlat, dlon), depart_at=clock.moment(day, leave), service_day=day)
            assert min(it.arrive for it in again) <= b.latest_dropoff_s + 1, row
        else:
            assert leave >= b.earliest_pickup_s
        gained = (float(row.shuttle_s) - leave) if row.to_departure else (leave - float(row.shuttle_s))
        assert float(row.gained_min) == pytest.approx(gained / 60, abs=0.01)
        checked += 1
    assert checked >= len(rows) // 2
    assert dt.date(2022, 2, 22) == day


@pytest.mark.realdata
def test_riders_choosing_book_the_shuttle_where_it_beats_walking_and_transit(
    shared_data: Path, helsinki_cache: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``maas simulate --choice-margin 0``: each rider's alternative is planned before the day, the ones
    whose offer loses to it decline, and the riders carried are measured against that same alternative."""
    from dispatch.service import ServiceStore, booking_from_json
    from maas_apps.cli import main

    db = tmp_path / "day.sqlite"
    area = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    argv = ["simulate", *area, "--requests", "80", "--fleet", "3", "--no-reoptimise", "--db", str(db)]
    assert main([*argv, "--choice-margin", "0", "--alternatives"]) == 0
    capsys.readouterr()
    kpis = pd.read_csv(tmp_path / "day" / "kpis.csv").set_index("kpi")["value"]
    store = ServiceStore(db)
    rows = store.bookings()
    store.close()
    declined = [r for r in rows if r["status"] == "declined"]
    assert 0 < len(declined) == int(kpis["declined"]) < 80, "nobody (or everybody) declined: the test lost its point"
    assert all("walking and transit" in r["reason"] for r in declined)
    assert float(kpis["served_share"]) == pytest.approx(int(kpis["served"]) / (80 - len(declined)), abs=1e-3)
    riders = pd.read_csv(tmp_path / "day" / "alternatives.csv", keep_default_na=False).set_index("booking")
    stored = {r["id"]: booking_from_json(r["data"]).alternative_s for r in rows}
    for booking, row in riders.iterrows():  # the alternative a rider chose against is the one measured
        if row["alternative_s"] != "":
            assert stored[str(booking)] == pytest.approx(float(row["alternative_s"]))
    gained = pd.to_numeric(riders["gained_min"], errors="coerce").dropna()
    assert (gained > 0).mean() >= 0.7, gained.describe()
