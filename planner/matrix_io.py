"""Writing a travel-time matrix as it is computed, chunk after chunk of origins, as CSV or Parquet.

The columns are r5py's: ``from_id, to_id, travel_time`` (whole minutes, empty or null where the
destination is not reachable), or ``travel_time_p25, travel_time_p50, ...`` with several percentiles.
Only one chunk is in memory at a time, so a matrix larger than memory can be written. The format
follows the file's suffix: ``.parquet`` or anything else for CSV.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from maas.errors import MaasError

__all__ = ["MatrixWriter", "percentile_column", "time_columns"]


def percentile_column(percentile: float) -> str:
    """``travel_time_p50`` for 50, ``travel_time_p12.5`` for 12.5 (r5py's names)."""
    return f"travel_time_p{percentile:g}"


def time_columns(percentiles: tuple[float, ...]) -> list[str]:
    """The travel-time column names for ``percentiles``: ``travel_time`` alone for one percentile."""
    return ["travel_time"] if len(percentiles) == 1 else [percentile_column(p) for p in percentiles]


class MatrixWriter:
    """Streams matrix rows to ``path``; use as a context manager, call :meth:`write` per chunk."""

    def __init__(
        self,
        path: str | Path,
        origin_ids: tuple[str, ...],
        destination_ids: tuple[str, ...],
        percentiles: tuple[float, ...],
    ) -> None:
        import pyarrow as pa

        self.path = Path(path)
        self.origin_ids = pa.array(origin_ids, type=pa.string())
        self.parquet = self.path.suffix.lower() == ".parquet"
        self.destination_ids = pa.array(destination_ids, type=pa.string())
        self.columns = time_columns(percentiles)
        self.rows_written = 0
        self.reachable = 0
        # ids travel as indices into the id lists; Parquet stores them as strings (read back as str)
        ids = pa.string() if self.parquet else pa.dictionary(pa.int32(), pa.string())
        fields = [pa.field("from_id", ids), pa.field("to_id", ids)]
        fields += [pa.field(name, pa.int32()) for name in self.columns]
        self.schema = pa.schema(fields)
        self._writer: Any = None
        self._needs_quotes = any(_needs_quotes(i) for i in (*origin_ids, *destination_ids))

    def __enter__(self) -> MatrixWriter:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self.parquet:
                import pyarrow.parquet as pq

                self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
            else:
                self._open_csv()
        except OSError as exc:
            raise MaasError(f"cannot write the matrix to {self.path}: {exc.strerror or exc}") from exc
        return self

    def _open_csv(self) -> None:
        import pyarrow.csv as pcsv

        options = pcsv.WriteOptions(quoting_style="needed" if self._needs_quotes else "none", quoting_header="none")
        self._writer = pcsv.CSVWriter(self.path, self.schema, write_options=options)

    def write(self, first: int, minutes: np.ndarray) -> None:
        """Append the rows of the origins from index ``first`` on (minutes of shape (origins,
        destinations, percentiles), NaN where unreachable), every destination of each origin in order."""
        import pyarrow as pa

        if self._writer is None:
            raise MaasError("MatrixWriter.write called outside its with-block")
        n_origins, n_dest = minutes.shape[0], minutes.shape[1]
        from_index = np.repeat(np.arange(first, first + n_origins, dtype=np.int32), n_dest)
        from_ids = pa.DictionaryArray.from_arrays(pa.array(from_index), self.origin_ids)
        to_ids = pa.DictionaryArray.from_arrays(
            pa.array(np.tile(np.arange(n_dest, dtype=np.int32), n_origins)), self.destination_ids
        )
        arrays = [from_ids.cast(pa.string()), to_ids.cast(pa.string())] if self.parquet else [from_ids, to_ids]
        for k in range(len(self.columns)):
            values = minutes[:, :, k].reshape(-1)
            missing = np.isnan(values)
            arrays.append(pa.array(np.where(missing, 0, values).astype(np.int32), mask=missing))
            if k == 0:
                self.reachable += int((~missing).sum())
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self._writer.write_table(table)
        self.rows_written += table.num_rows

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _needs_quotes(text: str) -> bool:
    return any(c in text for c in ',"\n\r')
