"""Multimodal trip planner: GTFS timetable, OpenStreetMap street graphs and the searches on them."""
