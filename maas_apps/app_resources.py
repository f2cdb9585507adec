"""What the app's sessions share, loaded once per server process (and ahead of the first session)."""

from __future__ import annotations

import contextlib

import streamlit as st

from maas.errors import MaasError
from maas_apps import webapp

__all__ = ["preload", "resources"]


@st.cache_resource(show_spinner="Loading the timetable, streets and shuttle network…")
def resources() -> webapp.AppResources:
    """The area data, planner, shuttle network and place index, shared by every session."""
    res = webapp.load_resources()
    webapp.trip_map(res, None, None, None)  # the streets, water, parks and buildings, read once for every map
    return res


def preload() -> None:
    """Fill the cache before any rider connects (a loading error is shown by the page itself)."""
    with contextlib.suppress(MaasError):
        resources()
