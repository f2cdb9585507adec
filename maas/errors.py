"""One error hierarchy for the whole project.

Every error a user can cause (bad input, missing data, a date without service)
is a :class:`MaasError`; the CLI prints its message and exits non-zero instead
of showing a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass


class MaasError(Exception):
    """Base class of every error the project raises on purpose."""


class ConfigError(MaasError):
    """An area or parameter file is missing, unreadable or has invalid values."""


class DataNotFoundError(MaasError):
    """The data directory or one of the files an area names cannot be found."""


@dataclass(frozen=True, slots=True)
class InputProblem:
    """One problem found in an input file (a GTFS table, a CSV, a TOML file).

    ``rows`` are 1-based line numbers in the file as a text editor shows them
    (the header is line 1), so a user can jump straight to them.
    """

    file: str
    field: str | None
    message: str
    rows: tuple[int, ...] = ()

    def describe(self, max_rows: int = 10) -> str:
        """The problem in one line: file, field, rows and what is wrong."""
        where = self.file
        if self.field:
            where += f", field '{self.field}'"
        if self.rows:
            shown = ", ".join(str(r) for r in self.rows[:max_rows])
            more = f" and {len(self.rows) - max_rows} more" if len(self.rows) > max_rows else ""
            where += f", row{'s' if len(self.rows) > 1 else ''} {shown}{more}"
        return f"{where}: {self.message}"


FeedProblem = InputProblem  # the name the GTFS reader has always used


class InputError(MaasError):
    """An input file has one or more problems; all of them are in :attr:`problems`.

    ``kind`` says what the input is ("GTFS feed", "requests file", ...) and ``source`` names it.
    """

    kind = "input"

    def __init__(self, source: str, problems: list[InputProblem], kind: str | None = None) -> None:
        self.source = source
        self.problems = list(problems)
        if kind is not None:
            self.kind = kind
        lines = [f"{self.kind} {source} has {len(self.problems)} problem(s):"]
        lines += [f"  - {p.describe()}" for p in self.problems]
        super().__init__("\n".join(lines))


class FeedValidationError(InputError):
    """A GTFS feed has one or more problems; all of them are in :attr:`problems`."""

    kind = "GTFS feed"


class RealtimeFeedError(InputError):
    """A GTFS-Realtime feed cannot be read or applied; the static timetable is still usable."""

    kind = "GTFS-Realtime feed"


class NoServiceError(FeedValidationError):
    """The requested service date has no active trips; the message lists the dates that do."""


class StreetDataError(MaasError):
    """The OpenStreetMap extract cannot be turned into a usable street graph."""


class OutsideAreaError(MaasError):
    """A coordinate lies too far from the street network of the area."""
