"""Shared pieces of the MaaS planner, the layer every other package builds on: the error hierarchy,
area files and their settings, checked parameter tables, the cache directory and the CSV reader."""

__version__ = "0.1.0"
