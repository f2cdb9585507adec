"""Streamlit front end: plan a trip on a map, book its shuttle leg, watch the shuttle fleet's day.

    streamlit run app.py        (after `maas build`; MAAS_DATA_DIR / ../shared/data as for the CLI)

Thin by design: what is shown is computed in ``maas_apps.webapp`` and the packages.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from dispatch.access_gain import AccessGain
from dispatch.day import DayConfig
from dispatch.fleet_view import fleet_snapshot
from dispatch.service import ServiceStore
from maas.errors import MaasError
from maas_apps import webapp
from maas_apps.app_resources import resources
from planner.itinerary import Itinerary

st.set_page_config(page_title="MaaS trip planner", page_icon="🚌", layout="wide")


def place_picker(res: webapp.AppResources, label: str, key: str, default: str) -> tuple[float, float] | None:
    """A search box over districts, stops, streets and addresses (or LAT,LON); a map click fills it."""
    clicked: tuple[float, float] | None = st.session_state.pop(f"{key}_clicked", None)
    if clicked is not None:  # set before the box exists, so the box shows what was clicked
        st.session_state[f"{key}_query"] = f"{clicked[0]:.5f}, {clicked[1]:.5f}"
        st.session_state.pop(f"{key}_choice", None)
    st.session_state.setdefault(f"{key}_query", default)  # the box's value lives in the session state only
    query = st.text_input(label, key=f"{key}_query", help="a stop, street, address, district or LAT,LON")
    matches = res.places.search(query) if query else []
    if not matches:
        if query:
            st.caption(f"Nothing called “{query}” here: try a stop, street or address.")
        return None
    options = webapp.names(matches)
    choice = st.selectbox(f"{label}: choose", options, key=f"{key}_choice", label_visibility="collapsed")
    note = webapp.match_note(query, matches)
    if note:
        st.caption(note)
    place = matches[options.index(choice)]
    return place.lat, place.lon


def show_answer(res: webapp.AppResources, answer: webapp.TripAnswer, wheelchair: bool) -> Itinerary | None:
    """Every option as a card (times, duration, fare, a strip of its legs, walking, transfers, CO2, the shuttle
    pickup window); the chosen one opens into its timeline and booking. Returns the chosen one."""
    if answer.message:
        st.info(answer.message)
    if not answer.itineraries:
        return None
    count = len(answer.itineraries)
    st.caption(f"{count} option{'s' if count != 1 else ''} found")
    chosen_index = min(int(st.session_state.get("chosen", 0)), count - 1)
    for i, it in enumerate(answer.itineraries):
        facts = webapp.card(it)
        with st.container(border=True, key=f"card_{i}"):
            top, pick = st.columns([4, 1])
            top.markdown(f"**{facts['depart']} → {facts['arrive']}** · {facts['duration']} · {facts['fare']}")
            if i != chosen_index and pick.button("Show", key=f"show_{i}"):
                st.session_state["chosen"] = i
                st.session_state.pop("booking_message", None)
                st.rerun()
            st.markdown(webapp.mode_strip_html(it), unsafe_allow_html=True)
            transfers = f"{facts['transfers']} transfer{'s' if facts['transfers'] != '1' else ''}"
            st.caption(
                f"{facts['via']} · walk {facts['walking']} · {transfers} · CO2 {facts['CO2']} · {facts['step-free']}"
            )
            if "shuttle pickup" in facts:
                st.markdown(f"Shuttle pickup window: **{facts['shuttle pickup']}**")
            if i == chosen_index:
                st.markdown(webapp.timeline_markdown(it))
                if "shuttle pickup" in facts and st.button("Book the shuttle leg", key="book"):
                    st.session_state["booking_message"] = webapp.book_shuttle(res, it, wheelchair)
                if st.session_state.get("booking_message"):
                    st.success(st.session_state["booking_message"])
    earlier, later = st.columns(2)
    shift = -15 if earlier.button("← 15 min earlier", key="earlier", width="stretch") else 0
    shift = 15 if later.button("15 min later →", key="later", width="stretch") else shift
    if shift:
        st.session_state["shift_min"] = shift
        st.rerun()
    return answer.itineraries[chosen_index]


def search_form(res: webapp.AppResources) -> tuple[webapp.TripRequest | None, bool, bool]:
    """The query row: places, date and time, modes and options. Returns the request (None when a place
    is missing), the wheelchair choice and whether to plan now (Plan, or earlier / later)."""
    shift = st.session_state.pop("shift_min", 0)
    if shift:  # earlier / later: move the time before the widget exists, then plan again
        when = dt.datetime.combine(dt.date(2000, 1, 1), st.session_state.get("clock", dt.time(8, 30)))
        st.session_state["clock"] = (when + dt.timedelta(minutes=shift)).time()
    places, timing, choices = st.columns([4, 2, 3])
    with places:
        origin = place_picker(res, "From", "origin", "Hernesaari")
        destination = place_picker(res, "To", "destination", "Rautatientori")
    with timing:
        span = webapp.date_range(res)
        day = st.date_input(
            "Date",
            value=res.area.service_date,
            min_value=span[0] if span else None,
            max_value=span[1] if span else None,
        )
        note = webapp.date_note(res, day)
        if note:
            st.caption(note)
        st.session_state.setdefault("clock", dt.time(8, 30))
        clock = st.time_input("Time", step=300, key="clock")
        arrive_by = st.radio("Depart or arrive", ["Depart at", "Arrive by"], horizontal=True) == "Arrive by"
    with choices:
        modes = st.multiselect("Modes", ["walk", "bike", "transit", "shuttle"], default=["walk", "transit", "shuttle"])
        with st.expander("Options"):
            max_walk = st.slider("Max walking to and from transit (m)", 200, 3000, 1000, 100)
            max_transfers = st.slider("Max transfers", 0, 5, 3)
            wheelchair = st.checkbox(
                "Wheelchair",
                help="Only trips and stops the timetable marks accessible, walking without steps, "
                "and a wheelchair place on the shuttle",
            )
        st.session_state["click_target"] = st.radio(
            "A map click sets", ["From", "To"], horizontal=True, key="click_target_radio"
        )
        go = st.button("Plan", type="primary", width="stretch", key="plan") or bool(shift)
    if origin is None or destination is None:
        return None, wheelchair, go
    when = dt.datetime.combine(day, clock)
    request = webapp.TripRequest(
        origin, destination, when, arrive_by, tuple(modes), float(max_walk), int(max_transfers), wheelchair
    )
    return request, wheelchair, go


def planner_page(res: webapp.AppResources) -> None:
    st.header("Plan a trip")
    request, wheelchair, go = search_form(res)
    if go:
        if request is None:
            st.session_state["answer"] = webapp.TripAnswer((), "Choose where from and where to.", 0.0)
        else:
            st.session_state["answer"] = webapp.plan_trip(res, request)
        st.session_state["chosen"] = 0
        st.session_state.pop("booking_message", None)
    answer: webapp.TripAnswer | None = st.session_state.get("answer")
    cards, map_column = st.columns([2, 3])
    chosen = None
    with cards:
        if answer is not None:
            chosen = show_answer(res, answer, wheelchair)
        else:
            st.info("Choose where from and where to, then Plan (or click the map to set a place).")
    with map_column:
        origin = request.origin if request else None
        destination = request.destination if request else None
        # the legend above the map, so that a 1000-pixel-high window shows both without scrolling
        st.markdown(webapp.legend_html(webapp.trip_legend(chosen)), unsafe_allow_html=True)
        deck = webapp.trip_map(res, chosen, origin, destination)
        event = st.pydeck_chart(deck, height=500, on_select="rerun", selection_mode="single-object", key="trip_map")
        picked = (getattr(event, "selection", None) or {}).get("objects", {}).get("pick") or []
        if picked:
            click = (float(picked[0]["lat"]), float(picked[0]["lon"]))
            if click != st.session_state.get("last_click_seen"):
                st.session_state["last_click_seen"] = click
                target = "origin" if st.session_state.get("click_target") == "From" else "destination"
                st.session_state[f"{target}_clicked"] = click
                st.rerun()
        st.caption("Click a street to set the place chosen under “A map click sets”.")


def fleet_page(res: webapp.AppResources) -> None:
    st.header("Shuttle fleet")
    with st.sidebar.form("new_day"):
        st.write("Run a new seeded day")
        seed = st.number_input("Seed", 1, 10_000, 1)
        requests = st.number_input("Requests", 10, 2000, 300, 10)
        fleet = st.number_input("Shuttles", 1, 30, 6)
        run = st.form_submit_button("Run the day")
    if run:
        config = DayConfig(fleet=int(fleet), requests=int(requests), seed=int(seed))
        status = st.status(f"Simulating {requests} requests with {fleet} shuttles…", expanded=True)
        path = webapp.run_day(res, config, lambda message: status.write(message))
        status.update(label=f"Day simulated: {path.name}", state="complete", expanded=False)
        st.session_state["day"] = str(path)
    days = webapp.simulated_days(res)
    if not days:
        st.info("No simulated day yet: run one from the sidebar (300 requests take about half a minute).")
        return
    names = [str(d) for d in days]
    current = st.session_state.get("day")
    index = names.index(current) if current in names else 0
    path = days[
        st.selectbox("Day", range(len(names)), index=index, format_func=lambda i: webapp.day_label(res, days[i]))
    ]
    store = ServiceStore(path)
    start, end = webapp.service_hours(res)
    if st.session_state.get("fleet_day") != str(path):  # a new day starts at its clock (or 08:00)
        st.session_state["fleet_day"] = str(path)
        st.session_state["fleet_time"] = webapp.default_view_time(store, start, end)
    if "fleet_time_next" in st.session_state:  # Play's next frame, set before the slider exists
        st.session_state["fleet_time"] = st.session_state.pop("fleet_time_next")
    at = st.slider(
        "Time of day",
        dt.time(int(start // 3600)),
        dt.time(int(end // 3600) - 1, 55),
        key="fleet_time",
        step=dt.timedelta(minutes=5),
    )
    playing = st.toggle("Play", key="playing")
    seconds = at.hour * 3600 + at.minute * 60
    snapshot = fleet_snapshot(store, res.network, seconds)
    left, right = st.columns([3, 2])
    with left:
        st.pydeck_chart(webapp.fleet_map(res, snapshot), height=520, key="fleet_map")
        st.markdown(webapp.legend_html(webapp.fleet_legend()), unsafe_allow_html=True)
    with right:
        on_board = sum(s.load for s in snapshot.shuttles)
        moving = sum(s.moving for s in snapshot.shuttles)
        c1, c2, c3 = st.columns(3)
        c1.metric("shuttles moving", f"{moving}/{len(snapshot.shuttles)}")
        c2.metric("riders on board", on_board)
        c3.metric("riders waiting", len(snapshot.waiting))
        st.dataframe(
            pd.DataFrame([webapp.shuttle_row(s) for s in snapshot.shuttles]),
            hide_index=True,
            width="stretch",
        )
    hourly = pd.DataFrame(webapp.hourly_table(store))
    if not hourly.empty:
        hourly = hourly.set_index("hour")
        a, b = st.columns(2)
        declined = bool(hourly["declined"].sum())  # riders choosing: some took walking and transit
        a.markdown("**Requests per hour: accepted and rejected" + (", and declined by riders**" if declined else "**"))
        a.bar_chart(
            hourly[["accepted", "rejected", "declined"] if declined else ["accepted", "rejected"]],
            color=["#2a9d8f", "#c81e1e", "#9a9a9a"] if declined else ["#2a9d8f", "#c81e1e"],
            x_label="hour of the day",
            y_label="requests",
        )
        b.markdown("**Mean riders on board per driving shuttle**")
        b.line_chart(hourly[["occupancy"]], x_label="hour of the day", y_label="riders on board")
    with st.expander("Key figures of the day"):
        st.dataframe(pd.DataFrame(webapp.kpi_rows(store, res), columns=["kpi", "value"]), hide_index=True)
    gain_section(res, path)
    if playing:
        time.sleep(1.0)
        nxt = seconds + 300
        if nxt < end:
            st.session_state["fleet_time_next"] = dt.time(nxt // 3600, nxt // 60 % 60)
            st.rerun()


@st.cache_data(show_spinner="Comparing the shuttle with walking and transit…", max_entries=20)
def day_gain(_res: webapp.AppResources, path: str, changed_at: float) -> AccessGain | None:
    """The gain at the service level of the day in ``path`` as it was at ``changed_at`` (its file's
    time): computed once per state of the day, not on every frame of Play."""
    store = ServiceStore(path)
    try:
        return webapp.access_gain(_res, store, webapp.day_label(_res, Path(path)))
    finally:
        store.close()


def gain_section(res: webapp.AppResources, path: Path) -> None:
    """The day's accessibility gain for the residents of the shuttle zones: three figures and a map."""
    with st.expander("What the shuttle gives the residents of its zones"):
        log = path.with_name(path.name + "-wal")  # a live day's bookings land in the write-ahead log first
        changed = max(path.stat().st_mtime, log.stat().st_mtime if log.exists() else 0.0)
        gain = day_gain(res, str(path), changed)
        if gain is None:
            st.info("Needs finished rides (run the day further) and the area's population cells.")
        else:
            g1, g2, g3 = st.columns(3)
            g1.metric("hours per resident per year", f"{gain.hours_per_resident_per_year:.1f}")
            g2.metric("minutes per trip to the hub", f"{gain.minutes_per_trip:.1f}")
            g3.metric("residents in the zones", f"{gain.residents:,.0f}")
            st.caption(
                f"At this day's service level: pickup {gain.level.wait_min:.1f} min after the promised window opens "
                f"(median), rides {gain.level.detour_factor:.2f}× the direct time, "
                f"{100 * gain.level.served_share:.0f} % of riders served; one trip to or from the hub per resident "
                "a day. Compared with walking and transit to the hub at 08:00 (median of 10 departures)."
            )
            st.pydeck_chart(webapp.gain_map(res, gain), height=420, key="gain_map")
            st.markdown(webapp.legend_html(webapp.gain_legend()), unsafe_allow_html=True)


def main() -> None:
    try:
        res = resources()
    except MaasError as error:
        st.error(f"The area's data could not be loaded: {error}")
        st.stop()
    page = st.sidebar.radio("Page", ["Plan a trip", "Shuttle fleet"], key="page")
    st.sidebar.caption(f"{res.area.title}: GTFS © HSL (CC BY 4.0), streets © OpenStreetMap contributors (ODbL)")
    if page == "Plan a trip":
        planner_page(res)
    else:
        fleet_page(res)


main()
