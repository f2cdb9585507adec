"""Shared pieces of the MaaS planner: errors, area definitions, data and cache locations, CLI."""

__version__ = "0.1.0"
