"""Mutations of real input files for the bad-input tests, and the rule every reader must keep.

Each mutation says what a correct reader must do with it:

* ``reject``: the input is wrong (a NaN seat count, a duplicated id, a reversed window, bytes that
  are not UTF-8, ...): the reader raises a :class:`MaasError` whose message names the file and,
  where the mutation knows it, the line.
* ``accept``: the input is still right with the same meaning (an optional column dropped whose
  values were the defaults): the reader returns the same result as for the original.
* ``either``: the input may or may not be usable (a file cut short at a line end): the reader may
  refuse it with a named problem or read it, but never fails with any other exception.

A reader that raises anything but a :class:`MaasError` has crashed; one that accepts a ``reject``
mutation has silently changed the input's meaning.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from maas.errors import MaasError

BAD_VALUES: dict[str, list[str]] = {
    "lat": ["nan", "NaN", "inf", "-inf", "abc", "91", "-90.5", "1e309", "60,1", "0x3C"],
    "lon": ["nan", "inf", "-inf", "abc", "181", "-180.5", "1e400", "24,9"],
    "count": ["nan", "1.5", "-1", "abc", "1e400", "inf", "100001", "2,0"],
    "clock": ["25:99", "12:60", "48:00", "abc", "-1:00", "12:5x", "nan", "inf", "1e9", "12.30", "99999"],
    "gtfs_time": ["25:99:00", "12:60:00", "abc", "-01:00:00", "12:00:60", "nan", "1e9"],
    "date": ["20221340", "2022-02-22", "abc", "0", "99999999", "nan"],
    "flag": ["2", "-1", "yes", "nan", "1.5"],
    "route_type": ["-1", "abc", "99999", "nan", "1.5"],
    "seq": ["-1", "abc", "nan", "1e12", "1.5"],
    "positive": ["0", "-5", "nan", "inf", "abc"],
}
INVALID_BYTES = [b"\xff", b"\xc3\x28", b"\x00", b"\x80\x81\x82", b"\xed\xa0\x80"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    required: bool = True  # a required value may not be empty
    kind: str = "text"  # a BAD_VALUES key, "id" or "text"
    optional_column: bool = False  # the whole column may be dropped (its values are the defaults)


@dataclass(frozen=True, slots=True)
class TableSpec:
    """What a reader demands of one CSV table."""

    file: str
    columns: tuple[Column, ...]
    unique: str | None = None  # a column whose values must be unique
    windows: tuple[tuple[str, str], ...] = ()  # (earlier, later) pairs that must not be reversed
    rows_required: bool = True  # a header without rows is an error
    swapped_is_wrong: tuple[str, str] | None = None  # (lat, lon): swapping them leaves the region

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


@dataclass(frozen=True, slots=True)
class Mutation:
    kind: str
    file: str
    expect: str  # reject, accept or either
    line: int | None = None
    field: str | None = None
    note: str = ""


def _split(text: str) -> tuple[list[str], list[list[str]]]:
    lines = text.strip("\n").split("\n")
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


def _join(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode("utf-8")


@st.composite
def mutated_csv(draw: Any, text: str, spec: TableSpec) -> tuple[bytes, Mutation]:
    """One mutation of the CSV ``text`` (a clean table without quoted commas), and what it must cause."""
    header, rows = _split(text)
    kinds = ["truncate", "inject_bytes", "empty_file", "header_only", "drop_column", "empty_value"]
    kinds += ["extra_fields", "garbage_row", "blank_lines"]
    if any(c.kind in BAD_VALUES and c.name in header for c in spec.columns):
        kinds.append("bad_value")
    if spec.unique and len(rows) > 1:
        kinds.append("duplicate_id")
    if spec.windows:
        kinds.append("reversed")
    if spec.swapped_is_wrong:
        kinds.append("swap_latlon")
    kind = draw(st.sampled_from(kinds))
    data = _join(header, rows)
    row = draw(st.integers(0, len(rows) - 1))
    line = row + 2
    if kind == "truncate":
        cut = draw(st.integers(0, len(data) - 1))
        return data[:cut], Mutation(kind, spec.file, "either", note=f"cut at byte {cut}")
    if kind == "inject_bytes":
        at = draw(st.integers(0, len(data)))
        bad = draw(st.sampled_from(INVALID_BYTES))
        return data[:at] + bad + data[at:], Mutation(kind, spec.file, "reject", note=f"{bad!r} at byte {at}")
    if kind == "empty_file":
        return b"", Mutation(kind, spec.file, "reject")
    if kind == "header_only":
        return _join(header, []), Mutation(kind, spec.file, "reject" if spec.rows_required else "either")
    if kind == "blank_lines":
        out = [",".join(header)] + [",".join(r) + "\n" for r in rows]
        return ("\n".join(out) + "\n\n").encode(), Mutation(kind, spec.file, "accept", note="blank lines")
    if kind == "extra_fields":
        rows = [list(r) for r in rows]
        rows[row] += ["x", "y"]
        return _join(header, rows), Mutation(kind, spec.file, "reject", line)
    if kind == "garbage_row":
        junk = draw(st.text(st.characters(codec="utf-8", exclude_characters="\r\n\x00"), min_size=1, max_size=20))
        rows = [list(r) for r in rows]
        rows.insert(row, [junk])
        return _join(header, rows), Mutation(kind, spec.file, "either", note=repr(junk))
    if kind == "drop_column":
        name = draw(st.sampled_from(header))
        col = spec.column(name)
        i = header.index(name)
        new_rows = [r[:i] + r[i + 1 :] for r in rows]
        new_header = header[:i] + header[i + 1 :]
        if col is None:
            expect = "either"  # a column the reader does not promise anything about
        elif col.optional_column:
            expect = "accept"
        else:
            expect = "reject"
        return _join(new_header, new_rows), Mutation(kind, spec.file, expect, field=name)
    if kind == "empty_value":
        name = draw(st.sampled_from(header))
        col = spec.column(name)
        rows = [list(r) for r in rows]
        was = rows[row][header.index(name)]
        rows[row][header.index(name)] = ""
        if col is not None and col.required and was != "":
            expect = "reject"
        elif col is not None and col.optional_column:
            expect = "accept"
        else:
            expect = "either"
        return _join(header, rows), Mutation(kind, spec.file, expect, line, name)
    if kind == "bad_value":
        typed = [c for c in spec.columns if c.kind in BAD_VALUES and c.name in header]
        col = draw(st.sampled_from(typed))
        value = draw(st.sampled_from(BAD_VALUES[col.kind]))
        rows = [list(r) for r in rows]
        rows[row][header.index(col.name)] = value
        return _join(header, rows), Mutation(kind, spec.file, "reject", line, col.name, repr(value))
    if kind == "duplicate_id":
        assert spec.unique is not None
        i = header.index(spec.unique)
        other = draw(st.integers(0, len(rows) - 1).filter(lambda k: k != row))
        rows = [list(r) for r in rows]
        rows[row][i] = rows[other][i]
        # whichever of the two comes later in the file is the repeat
        return _join(header, rows), Mutation(kind, spec.file, "reject", max(row, other) + 2, spec.unique)
    if kind == "reversed":
        early, late = draw(st.sampled_from(spec.windows))
        i, j = header.index(early), header.index(late)
        rows = [list(r) for r in rows]
        candidates = [k for k, r in enumerate(rows) if r[i] != r[j] and r[i] and r[j]]
        if not candidates:
            return data, Mutation("none", spec.file, "accept")
        row = draw(st.sampled_from(candidates))
        rows[row][i], rows[row][j] = rows[row][j], rows[row][i]
        return _join(header, rows), Mutation(kind, spec.file, "reject", row + 2, note=f"{early}<->{late}")
    assert kind == "swap_latlon" and spec.swapped_is_wrong
    i, j = (header.index(c) for c in spec.swapped_is_wrong)
    rows = [list(r) for r in rows]
    rows[row][i], rows[row][j] = rows[row][j], rows[row][i]
    return _join(header, rows), Mutation(kind, spec.file, "reject", line)


@dataclass
class Tally:
    """Outcomes per reader, for the long profile's report."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reader: str, mutation: Mutation, outcome: str) -> None:
        self.counts[f"{reader}|{mutation.kind}|{mutation.expect}|{outcome}"] += 1

    def write(self, path: str) -> None:
        rows: dict[str, Any] = {}
        for key, n in sorted(self.counts.items()):
            reader, kind, expect, outcome = key.split("|")
            rows.setdefault(reader, []).append({"mutation": kind, "expect": expect, "outcome": outcome, "n": n})
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1)


TALLY = Tally()


def check(reader: str, mutation: Mutation, run: Callable[[], Any], baseline: Any = None) -> str:
    """Run a reader on a mutated input and assert the rule above; returns the outcome."""
    try:
        result = run()
    except MaasError as exc:
        message = str(exc)
        outcome = "rejected"
        if mutation.expect == "accept":
            TALLY.add(reader, mutation, "WRONG-rejected")
            raise AssertionError(f"{reader}: {mutation} should be accepted, was refused: {message}") from exc
        stem = os.path.splitext(mutation.file)[0]
        assert stem in message, f"{reader}: the message does not name {mutation.file}: {message}"
        if mutation.expect == "reject" and mutation.line is not None:
            assert re.search(rf"\b(rows?|lines?) ([\d, ]*\b)?{mutation.line}\b", message) or (
                f"line {mutation.line}" in message
            ), f"{reader}: {mutation} the message does not name line {mutation.line}: {message}"
        TALLY.add(reader, mutation, outcome)
        return outcome
    except Exception:
        TALLY.add(reader, mutation, "CRASH")
        raise
    if mutation.expect == "reject":
        TALLY.add(reader, mutation, "SILENT")
        raise AssertionError(f"{reader}: {mutation} was accepted without complaint")
    if mutation.expect == "accept" and baseline is not None:
        assert result == baseline, f"{reader}: {mutation} changed the meaning of the input"
    TALLY.add(reader, mutation, "accepted")
    return "accepted"
