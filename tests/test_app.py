"""The Streamlit app's page logic with Streamlit's AppTest (no browser): inputs in, itineraries or messages out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.realdata
APP = str(Path(__file__).resolve().parent.parent / "app.py")


@pytest.fixture
def app(shared_data: Path, helsinki, helsinki_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AppTest:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("MAAS_DATA_DIR", str(shared_data))
    monkeypatch.setenv("MAAS_CACHE_DIR", str(helsinki_cache))
    monkeypatch.setenv("MAAS_APP_DIR", str(tmp_path / "app"))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def option_labels(app: AppTest) -> list[str]:
    """The options as the cards show them: "1. 08:32 → 08:47 · 15 min shuttle → subway M1 → walk · ..."."""
    times = [m.value.replace("**", "") for m in app.markdown if m.value.startswith("**") and " → " in m.value]
    vias = [c.value for c in app.caption if "· CO2" in c.value]
    assert len(times) == len(vias), (times, vias)
    return [f"{i + 1}. {t} {v}" for i, (t, v) in enumerate(zip(times, vias, strict=True))]


def choose(app: AppTest, index: int) -> None:
    """Open option ``index`` (its card's Show button; the first is open after planning)."""
    if index != app.session_state["chosen"]:
        app.button(key=f"show_{index}").click().run()
    assert app.session_state["chosen"] == index


def test_default_trip_offers_the_shuttle_and_books_it(app: AppTest) -> None:
    app.button(key="plan").click().run()
    assert not app.exception
    options = option_labels(app)
    assert any("shuttle" in o and "subway M" in o for o in options), options
    assert all("walk " in o and "CO2" in o for o in options), options  # each card's facts, in full
    # choose the shuttle option and book it
    index = next(i for i, o in enumerate(options) if "shuttle" in o)
    choose(app, index)
    # the map's legend names every mode of the chosen trip in its own colour: the shuttle is not the metro
    legend = next(m.value for m in app.markdown if "shuttle zone" in m.value)
    assert "subway M" in legend and ">shuttle<" in legend, legend
    from maas_apps.webapp import MODE_COLOURS

    assert MODE_COLOURS["shuttle"] in legend and MODE_COLOURS["subway"] in legend
    assert MODE_COLOURS["shuttle"] != MODE_COLOURS["subway"]
    # every ride has a labelled marker where the rider boards and where they alight
    from maas_apps.webapp import stop_markers

    chosen = app.session_state["answer"].itineraries[index]
    rides = [leg for leg in chosen.legs if leg.mode != "walk"]
    labels = [m["label"] for m in stop_markers(chosen)]
    assert len(labels) == 2 * len(rides) and sum("board:" in x for x in labels) == len(rides), labels
    metro = next(leg for leg in rides if leg.mode == "subway")
    assert any(metro.origin.name in x and "board:" in x for x in labels), labels
    app.button(key="book").click().run()
    assert not app.exception
    assert any("Booked" in s.value for s in app.success), [s.value for s in app.success]


def test_cards_compare_options_and_earlier_later_move_the_query(app: AppTest) -> None:
    """Every option is a card with its times, legs, walking, transfers and CO2; only the chosen one shows
    its timeline; "15 min later" plans again from 08:45 and "earlier" goes back."""
    app.button(key="plan").click().run()
    first = option_labels(app)
    assert len(first) >= 2 and all("walk " in o and "transfer" in o and "CO2" in o for o in first), first
    timelines = [m.value for m in app.markdown if m.value.startswith("- **")]
    assert len(timelines) == 1 and "→" in timelines[0]  # the chosen option's timeline only, leg by leg
    choose(app, 1)
    assert len([m for m in app.markdown if m.value.startswith("- **")]) == 1
    app.button(key="later").click().run()
    assert not app.exception
    assert app.time_input(key="clock").value.strftime("%H:%M") == "08:45"
    later = option_labels(app)
    assert later and all(o.split(". ", 1)[1][:5] >= "08:45" for o in later), later
    assert app.session_state["chosen"] == 0  # a new search opens its first option
    app.button(key="earlier").click().run()
    assert app.time_input(key="clock").value.strftime("%H:%M") == "08:30"
    assert option_labels(app) == first


def test_cards_state_the_fare_and_the_wheelchair_option_plans_step_free(app: AppTest) -> None:
    app.button(key="plan").click().run()
    headers = [m.value for m in app.markdown if m.value.startswith("**") and " → " in m.value]
    assert headers and all(h.endswith(" EUR") or h.endswith("· free") for h in headers), headers
    assert all(" · " in o and "step-free" in o for o in option_labels(app))
    wheelchair = next(c for c in app.checkbox if c.label == "Wheelchair")
    wheelchair.check().run()
    app.button(key="plan").click().run()  # Hernesaari's stops and the metro platform are not marked accessible
    assert any("wheelchair" in i.value and "lenient" not in i.value for i in app.info), [i.value for i in app.info]
    app.text_input(key="origin_query").input("60.1575, 24.9170").run()  # Jätkäsaari to Kruununhaka: tram 9
    app.text_input(key="destination_query").input("60.1735, 24.9560").run()
    app.button(key="plan").click().run()
    assert not app.exception
    options = option_labels(app)
    assert options and all(o.endswith("· step-free") for o in options), options
    chosen = app.session_state["answer"].itineraries
    assert all(leg.step_free for it in chosen for leg in it.legs if leg.distance_m >= 1)


def test_typed_search_and_errors_are_plain_messages(app: AppTest) -> None:
    app.text_input(key="destination_query").input("no such place xyz").run()
    assert any("Nothing called" in c.value for c in app.caption)
    app.button(key="plan").click().run()
    assert any("Choose where from and where to" in i.value for i in app.info)
    # a point outside the area: an error message, not a traceback
    app.text_input(key="destination_query").input("60.30, 24.60").run()
    app.button(key="plan").click().run()
    assert not app.exception
    assert any("outside" in i.value.lower() or "street" in i.value.lower() for i in app.info), [
        i.value for i in app.info
    ]


def test_address_search_plans_a_walk_and_transit_trip(app: AppTest) -> None:
    app.text_input(key="origin_query").input("Mannerheimintie 1").run()
    assert app.selectbox(key="origin_choice").value.startswith("Mannerheimintie 1 ")
    app.text_input(key="destination_query").input("Kamppi").run()
    app.multiselect[0].set_value(["walk", "transit"]).run()
    app.button(key="plan").click().run()
    assert not app.exception
    assert option_labels(app)


def maps_shown(app: AppTest) -> list[dict]:  # type: ignore[type-arg]
    """The deck.gl specifications of the maps on the page."""
    return [json.loads(element.proto.json) for element in app.get("deck_gl_json_chart")]


def assert_offline_map_over(spec: dict, box: tuple[float, float, float, float]) -> None:  # type: ignore[type-arg]
    """The map needs nothing from the internet (its base style is inline, so a browser without a
    network never waits for a hosted style) and it opens over ``box`` (west, south, east, north)."""
    assert spec["mapStyle"].startswith("data:application/json,"), spec["mapStyle"][:80]
    assert "http" not in json.dumps(spec)
    west, south, east, north = box
    view = spec["initialViewState"]
    assert west <= view["longitude"] <= east and south <= view["latitude"] <= north, view


def test_fleet_page_runs_and_shows_a_seeded_day(app: AppTest) -> None:
    app.sidebar.radio(key="page").set_value("Shuttle fleet").run()
    assert not app.exception, app.exception  # no day yet, or the planner's live day (the app's data is cached)
    app.sidebar.number_input[1].set_value(20)
    app.sidebar.number_input[2].set_value(2)
    app.sidebar.button[0].click().run()
    assert not app.exception, app.exception
    labels = [m.label for m in app.metric]
    assert "shuttles moving" in labels and "riders on board" in labels
    assert app.selectbox[0].value is not None
    assert any(o.startswith("Simulated day: seed 1, 20 requests, 2 shuttles") for o in app.selectbox[0].options)
    # the fleet map opens over the shuttle zones (Jätkäsaari and Hernesaari), as the planner's map over its trip
    fleet, *others = maps_shown(app)  # then the gain map, if the day has finished rides
    assert_offline_map_over(fleet, (24.89, 60.145, 24.94, 60.17))
    for spec in others:
        assert_offline_map_over(spec, (24.89, 60.145, 24.94, 60.17))


def test_the_live_day_from_the_command_line_shows_the_planners_booking_and_plays(
    shared_data: Path, helsinki, helsinki_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """`maas simulate --until 08:00`, then `maas app --db`: the planner books on that day, the fleet page
    shows it (opened at its clock) and Play steps through frames without an error."""
    from maas_apps.cli import main

    db = tmp_path / "live.sqlite"
    common = ["--data-dir", str(shared_data), "--cache-dir", str(helsinki_cache)]
    assert main(["simulate", *common, "--requests", "100", "--fleet", "3", "--until", "08:00", "--db", str(db)]) == 0
    monkeypatch.setenv("MAAS_DATA_DIR", str(shared_data))
    monkeypatch.setenv("MAAS_CACHE_DIR", str(helsinki_cache))
    monkeypatch.setenv("MAAS_APP_DIR", str(tmp_path / "app"))
    monkeypatch.setenv("MAAS_APP_LIVE_DB", str(db))  # what `maas app --db live.sqlite` sets
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.button(key="plan").click().run()
    options = option_labels(app)
    choose(app, next(i for i, o in enumerate(options) if "shuttle" in o))
    app.button(key="book").click().run()
    assert any("Booked" in s.value for s in app.success), [s.value for s in app.success]
    from dispatch.service import ServiceStore

    booked = [b for b in ServiceStore(db).bookings() if b["id"].startswith("trip-")]
    assert len(booked) == 1 and booked[0]["status"] == "accepted"

    app.sidebar.radio(key="page").set_value("Shuttle fleet").run()
    assert not app.exception, app.exception
    day = app.selectbox[0]
    assert day.options[0].startswith("Live day (the planner's bookings; clock at 08:00)")
    assert app.slider(key="fleet_time").value.strftime("%H:%M") == "08:00"  # opened at the day's clock
    app.slider(key="fleet_time").set_value(__import__("datetime").time(18, 40)).run()
    app.toggle(key="playing").set_value(True).run(timeout=60)  # plays 18:45, 18:50, 18:55, then stops
    assert not app.exception, app.exception
    assert app.slider(key="fleet_time").value.strftime("%H:%M") == "18:55"


def test_a_date_without_service_is_named_and_night_trips_still_plan(app: AppTest) -> None:
    """The date picker spans the feed's dates and the morning after; picking the 23rd says there is no
    service of its own, and a trip at 00:30 still plans on the 22nd's night trips, in local times."""
    import datetime as dt

    picker = app.date_input[0]
    assert (picker.min, picker.max) == (dt.date(2022, 2, 22), dt.date(2022, 2, 23))
    picker.set_value(dt.date(2022, 2, 23)).run()
    app.time_input[0].set_value(dt.time(0, 30)).run()
    app.text_input(key="origin_query").input("Rautatientori").run()  # Hernesaari's last bus left at 23:41
    app.text_input(key="destination_query").input("Kamppi").run()
    captions = [c.value for c in app.caption]
    assert any("No transit runs on Wednesday 2022-02-23" in c and "night before" in c for c in captions), captions
    app.button(key="plan").click().run()
    assert not app.exception
    assert not app.info, [i.value for i in app.info]
    options = option_labels(app)
    assert options and all("24:" not in o for o in options), options
    assert any("tram" in o and o.split(". ", 1)[1].startswith("00:") for o in options), options


def test_a_map_click_fills_the_place_box(app: AppTest) -> None:
    """After a click on the map the From box shows the clicked point, and planning uses it."""
    app.session_state["origin_clicked"] = (60.16452, 24.93177)
    app.run()
    assert not app.exception
    assert app.text_input(key="origin_query").value == "60.16452, 24.93177"
    (trip_map,) = maps_shown(app)
    assert_offline_map_over(trip_map, (24.90, 60.14, 24.96, 60.18))
    assert app.selectbox(key="origin_choice").value.endswith("(coordinates)")
    app.button(key="plan").click().run()
    assert not app.exception and option_labels(app)
    assert not [w.value for w in app.warning], [w.value for w in app.warning]


def test_cards_show_real_time_delays_and_a_broken_feed_is_a_plain_note(
    app: AppTest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from test_realtime import _run_of, feed_bytes

    app.text_input(key="origin_query").input("60.1575, 24.9170").run()  # Jätkäsaari to Kruununhaka
    app.text_input(key="destination_query").input("60.1735, 24.9560").run()
    app.multiselect[0].set_value(["walk", "transit"]).run()
    app.button(key="plan").click().run()
    static = app.session_state["answer"].itineraries
    rides = {leg.trip_id: leg for it in static for leg in it.transit_legs}  # every ride offered, 3 min late
    feed = tmp_path / "tripupdates.pb"
    feed.write_bytes(
        feed_bytes([{**_run_of(t), "stops": [(leg.origin.stop_id, 180, None, "")]} for t, leg in rides.items()])
    )
    monkeypatch.setenv("MAAS_APP_REALTIME", str(feed))
    app.button(key="plan").click().run()
    assert not app.exception
    live = app.session_state["answer"].itineraries
    delayed = [leg for it in live for leg in it.transit_legs if leg.delay_s]
    assert all(leg.trip_id in rides and leg.delay_text == "+3 min" for leg in delayed)
    assert delayed or [it.arrive for it in live] != [it.arrive for it in static]  # the feed was applied
    chosen = live[app.session_state["chosen"]]
    if any(leg.delay_s for leg in chosen.transit_legs):
        assert any("**+3 min**" in m.value for m in app.markdown)
    feed.write_bytes(b"\x0a\x05\x0a\x032.0\x12")  # the feed breaks: the timetable, and a note
    app.button(key="plan").click().run()
    assert not app.exception
    assert any("Real-time information is unavailable" in i.value for i in app.info), [i.value for i in app.info]
    assert option_labels(app)
