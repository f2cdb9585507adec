"""Argument types and area loading shared by the ``maas`` subcommands."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.area_data import AreaData
    from planner.router import Planner

__all__ = [
    "add_area_arguments",
    "area_data_from_args",
    "date_arg",
    "datetime_arg",
    "hours_arg",
    "latlon_arg",
    "number_arg",
    "planner_from_args",
    "progress_printer",
]


def progress_printer(start: float) -> Callable[[str], None]:
    """A printer of timestamped progress lines (seconds since ``start``) on stderr."""

    def say(message: str) -> None:
        print(f"[{time.perf_counter() - start:6.1f} s] {message}", file=sys.stderr, flush=True)

    return say


def number_arg(kind: type, low: float, high: float, what: str) -> Callable[[str], float | int]:
    """An argparse type: a finite ``kind`` (int or float) in [low, high], with a message naming the range."""

    def parse(text: str) -> float | int:
        try:
            value: float | int = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            span = f"{low:g}" + (f" to {high:g}" if math.isfinite(high) else " or more")
            raise argparse.ArgumentTypeError(f"expected {what} from {span}, got {text!r}")
        return value

    return parse


def date_arg(text: str) -> dt.date:
    """An argparse type: a YYYY-MM-DD date."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date in YYYY-MM-DD form: {text!r}") from exc


def add_area_arguments(parser: argparse.ArgumentParser) -> None:
    """--area, --data-dir, --cache-dir and --date, which every area command takes."""
    parser.add_argument("--area", default="helsinki", help="area name under data/areas or a .toml path")
    parser.add_argument("--data-dir", help="directory holding the area's data files")
    parser.add_argument("--cache-dir", help="where compiled data is cached (default $MAAS_CACHE_DIR or ~/.cache/maas)")
    parser.add_argument("--date", type=date_arg, help="service date (default: the area's service_date)")


def area_data_from_args(args: argparse.Namespace, *, rebuild: bool = False, verbose: bool = True) -> AreaData:
    """The area data the flags name, from the cache or built (with progress lines if ``verbose``)."""
    from maas.area import load_area
    from planner.area_data import load_area_data

    area = load_area(args.area, args.data_dir)
    start = time.perf_counter()
    return load_area_data(
        area,
        service_date=args.date,
        cache=args.cache_dir,
        rebuild=rebuild,
        progress=progress_printer(start) if verbose else None,
    )


def latlon_arg(text: str) -> tuple[float, float]:
    """An argparse type: LAT,LON in degrees."""
    try:
        lat, lon = (float(v) for v in text.split(","))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected LAT,LON (e.g. 60.1699,24.9384), got {text!r}") from exc
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise argparse.ArgumentTypeError(f"LAT,LON out of range: {text!r}")
    return lat, lon


def datetime_arg(text: str) -> dt.datetime:
    """An argparse type: a date and time such as 2022-02-22T08:30."""
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not a date and time like 2022-02-22T08:30: {text!r}") from exc


def planner_from_args(args: argparse.Namespace) -> Planner:
    """The planner of the area the flags name, with the router settings of ``--params`` if given."""
    from planner.router import Planner, RouterParams

    params = RouterParams.from_toml(args.params) if getattr(args, "params", None) else RouterParams()
    return Planner(area_data_from_args(args), params)


def hours_arg(text: str) -> tuple[float, float]:
    """An argparse type: service hours START-END, e.g. 7-19."""
    try:
        start, end = (float(x) for x in text.split("-"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"hours must be START-END, e.g. 7-19; got {text!r}") from exc
    if not (math.isfinite(start) and math.isfinite(end) and 0 <= start < end <= 48):
        raise argparse.ArgumentTypeError(
            f"hours must be START-END with 0 <= START < END <= 48, e.g. 7-19; got {text!r}"
        )
    return start, end
