"""Reading CSV text safely: every way a table file can be broken becomes an :class:`InputProblem`.

pandas raises a different exception for each kind of broken file (``UnicodeDecodeError``,
``EmptyDataError``, ``ParserError``, ...), none of which names the file. This module reads the
bytes itself, checks the encoding and the shape, and only then hands clean text to pandas, so a
reader gets either a table of strings or a list of problems naming the file and the line.
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from maas.errors import InputProblem

# HH:MM or H:MM, optionally :SS; hours up to 47 so that a service day's after-midnight times fit.
_CLOCK = re.compile(r"^(\d{1,2}):([0-5]\d)(?::([0-5]\d))?$")
MAX_CLOCK_HOURS = 48


@dataclass(frozen=True, slots=True)
class TableText:
    """A CSV table read as strings (``""`` for empty), or the problems that kept it from being read."""

    name: str
    frame: pd.DataFrame | None
    problems: tuple[InputProblem, ...]


def _first_bad_line(data: bytes, error: UnicodeDecodeError) -> int:
    return data[: error.start].count(b"\n") + 1


def _other_separator(columns: list[str]) -> str | None:
    """The separator a one-column header shows it was written with instead of commas, if any."""
    if len(columns) != 1:
        return None
    for separator, said in ((";", "';'"), ("\t", "tabs"), ("|", "'|'")):
        if separator in columns[0]:
            return said
    return None


def read_csv_bytes(data: bytes, name: str, *, header_only_ok: bool = False) -> TableText:
    """Parse CSV bytes (UTF-8, an optional BOM) into a table of strings.

    Problems: not UTF-8 (with the line), an empty file, a header without rows (unless
    ``header_only_ok``), a duplicated or empty column name, rows with more fields than the header.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = _first_bad_line(data, exc)
        return TableText(name, None, (InputProblem(name, None, "is not UTF-8 text (save it as UTF-8)", (line,)),))
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        return TableText(name, None, (InputProblem(name, None, "contains NUL bytes (a binary file?)", (line,)),))
    if not text.strip():
        return TableText(name, None, (InputProblem(name, None, "is empty (expected a header line and rows)"),))
    numbered: list[tuple[int, list[str]]] = []  # (line where the row starts, its fields)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    start = 1
    try:
        for row in reader:
            if row and any(cell.strip() for cell in row):
                numbered.append((start, row))
            start = reader.line_num + 1
    except csv.Error as exc:
        return TableText(name, None, (InputProblem(name, None, f"is not valid CSV ({exc})", (start,)),))
    if not numbered:
        return TableText(name, None, (InputProblem(name, None, "is empty (expected a header line and rows)"),))
    header_line, header = numbered[0]
    columns = [c.strip() for c in header]
    separator = _other_separator(columns)
    if separator:
        # every later problem (one column, rows too long, columns missing) would follow from this one
        message = f"separates its fields with {separator}, not commas: save it as comma-separated CSV"
        if separator == "';'":
            message += " (a spreadsheet set to decimal commas writes ';': numbers need decimal points)"
        return TableText(name, None, (InputProblem(name, None, message, (header_line,)),))
    problems: list[InputProblem] = []
    if any(not c for c in columns):
        problems.append(InputProblem(name, None, "the header has an empty column name", (header_line,)))
    duplicated = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicated:
        problems.append(InputProblem(name, None, f"the header repeats column(s) {', '.join(duplicated)}"))
    body = numbered[1:]
    too_long = [ln for ln, row in body if len(row) > len(columns)]
    if too_long:
        problems.append(InputProblem(name, None, f"more fields than the header's {len(columns)}", tuple(too_long)))
    if not body and not header_only_ok:
        problems.append(InputProblem(name, None, "has a header but no rows"))
    if problems:
        return TableText(name, None, tuple(problems))
    width = len(columns)
    records = [[cell.strip() for cell in row] + [""] * (width - len(row)) for _, row in body]
    frame = pd.DataFrame(records, columns=columns, dtype=object)
    # Row labels are the file's own line numbers, so messages point where an editor does.
    frame.index = pd.Index([ln for ln, _ in body], dtype="int64")
    return TableText(name, frame, ())


def read_csv_file(path: str | Path, *, header_only_ok: bool = False) -> TableText:
    """Like :func:`read_csv_bytes` for a file on disk (a missing or unreadable file is a problem too)."""
    source = Path(path)
    if not source.exists():
        return TableText(source.name, None, (InputProblem(str(source), None, "does not exist"),))
    if not source.is_file():
        return TableText(source.name, None, (InputProblem(str(source), None, "is not a file"),))
    try:
        data = source.read_bytes()
    except OSError as exc:
        return TableText(source.name, None, (InputProblem(str(source), None, f"cannot be read ({exc.strerror})"),))
    return read_csv_bytes(data, source.name, header_only_ok=header_only_ok)


class FieldReader:
    """Typed values from a table of strings, collecting one problem per bad field.

    Every ``read`` names the file, the line and the column of a bad value, and returns a
    placeholder so that reading can go on and report every problem at once.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[InputProblem] = []

    def problem(self, line: int | None, field: str | None, message: str) -> None:
        """Record a problem with ``field`` at file line ``line``."""
        self.problems.append(InputProblem(self.name, field, message, (line,) if line is not None else ()))

    def text(self, raw: object) -> str:
        """A raw cell as stripped text ("" for a missing value)."""
        return "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw).strip()

    def unique_ids(self, frame: pd.DataFrame, column: str = "id") -> None:
        """Every value of ``column`` present, and none repeated (a repeat names the line it repeats)."""
        first: dict[str, int] = {}
        for line, raw in zip(frame.index.tolist(), frame[column], strict=True):
            ident = self.text(raw)
            if not ident:
                self.problem(line, column, "value is empty")
            elif ident in first:
                self.problem(line, column, f"{column} {ident!r} repeats the one on line {first[ident]}")
            else:
                first[ident] = line

    def _empty(self, line: int, field: str, default: float | None) -> float:
        """The value of an empty field: its default, or NaN and a problem where it has none."""
        if default is None:
            self.problem(line, field, "value is empty")
            return math.nan
        return default

    def number(
        self,
        raw: object,
        line: int,
        field: str,
        *,
        default: float | None = None,
        low: float = -math.inf,
        high: float = math.inf,
        integer: bool = False,
    ) -> float:
        """A field as a finite number in [low, high] (a whole number with ``integer``); records a problem and
        returns NaN when it is not one, ``default`` when it is empty.
        """
        text = self.text(raw)
        if text == "":
            return self._empty(line, field, default)
        try:
            value = float(text)
        except ValueError:
            self.problem(line, field, f"not a number ({text!r})")
            return math.nan
        if not math.isfinite(value):
            self.problem(line, field, f"not a finite number ({text!r})")
            return math.nan
        if integer and value != int(value):
            self.problem(line, field, f"must be a whole number, got {text!r}")
            return math.nan
        if not low <= value <= high:
            self.problem(line, field, f"must be in [{_fmt(low)}, {_fmt(high)}], got {text!r}")
            return math.nan
        return value

    def clock_minutes(self, raw: object, line: int, field: str, *, default: float | None = None) -> float:
        """HH:MM[:SS] (hours 0-47) as minutes after midnight."""
        text = self.text(raw)
        if text == "":
            return self._empty(line, field, default)
        value = parse_clock_minutes(text)
        if value is None:
            self.problem(line, field, f"not a time ({text!r}); use HH:MM with hours 0-47 and minutes 0-59")
            return math.nan
        return value


def parse_clock_minutes(text: str) -> float | None:
    """``HH:MM[:SS]`` (hours 0-47, minutes and seconds 0-59) -> minutes after midnight; anything else -> None.

    A bare number is refused on purpose: "12.30" is a common way of writing half past twelve, and read as
    minutes it would silently mean 00:12.
    """
    match = _CLOCK.match(text.strip())
    if not match:
        return None
    hours, minutes, seconds = int(match[1]), int(match[2]), int(match[3] or 0)
    if hours >= MAX_CLOCK_HOURS:
        return None
    return hours * 60 + minutes + seconds / 60


def format_clock(seconds: float) -> str:
    """Seconds after midnight as ``HH:MM`` (to the nearest minute; hours past 24 stay, as in GTFS)."""
    minutes = round(seconds / 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _fmt(value: float) -> str:
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:g}"
