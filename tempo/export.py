"""``tempo cache export``: the cached analyses as Parquet, CSV or JSON Lines.

Conventions
-----------
- One row per analysed file of the current analyzer version and the given settings, ordered
  by path. CSV and Parquet hold flat columns (:data:`COLUMNS`: ``TrackAnalysis.to_row()``
  plus the cache key and versions; candidates as ``bpm:strength;...``); JSON Lines holds each
  analysis whole (``TrackAnalysis.to_dict()``, with the tempo curve and candidates).
- Streaming: rows are read from the cache and written in batches of ``BATCH_ROWS``, so a
  catalogue of millions exports in flat memory.
- Atomic: the export is written to a temporary file beside ``dest`` and renamed over it at
  the end; an interrupted or failed export leaves no partial file.
- Parquet needs pyarrow (the ``cluster`` extra); CSV and JSON Lines need nothing.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .atomic import atomic_open
from .errors import TempoError
from .models import AnalysisSettings, TrackAnalysis
from .sources import CLUSTER_EXTRA

#: Export formats and the extensions that choose them.
FORMATS = {"parquet": (".parquet", ".pq"), "csv": (".csv",), "jsonl": (".jsonl", ".ndjson", ".json")}
#: Rows per write batch (and per Parquet row group at most).
BATCH_ROWS = 10_000

#: Flat columns of CSV and Parquet, with their Arrow types.
COLUMNS = (
    ("path", "string"), ("bpm", "float64"), ("confidence", "float64"), ("stable", "bool"),
    ("drift", "float64"), ("energy", "float64"), ("loudness_lufs", "float64"),
    ("onset_rate", "float64"), ("duration_s", "float64"), ("artist", "string"),
    ("title", "string"), ("album", "string"), ("tag_bpm", "float64"), ("candidates", "string"),
    ("bpm_source", "string"), ("raw_bpm", "float64"), ("warnings", "string"), ("format", "string"), ("sample_rate", "int64"), ("channels", "int64"), ("size", "int64"),
    ("mtime_ns", "int64"), ("analyzer_version", "string"), ("settings_hash", "string"),
)


@dataclass(frozen=True)
class ExportResult:
    path: str
    format: str
    rows: int


def format_for(dest: str, fmt: str | None = None) -> str:
    """The format named by ``fmt``, else by the extension of ``dest``."""
    if fmt:
        fmt = fmt.lower().lstrip(".")
        if fmt == "json":
            fmt = "jsonl"
        if fmt not in FORMATS:
            raise TempoError(f"unknown export format {fmt!r}", hint=f"choose one of {', '.join(FORMATS)}")
        return fmt
    ext = os.path.splitext(dest)[1].lower()
    for name, exts in FORMATS.items():
        if ext in exts:
            return name
    raise TempoError(f"cannot tell the export format from the extension {ext or '(none)'!r}",
                     path=dest, hint="name the file .parquet, .csv or .jsonl, or give --format")


def row(track: TrackAnalysis) -> dict:
    """One flat export row (the keys of :data:`COLUMNS`)."""
    out = track.to_row()
    out.update(size=track.size, mtime_ns=track.mtime_ns, analyzer_version=track.analyzer_version,
               settings_hash=track.settings.settings_hash())
    return out


def _batches(tracks: Iterable[TrackAnalysis], n: int) -> Iterator[list[TrackAnalysis]]:
    batch: list[TrackAnalysis] = []
    for t in tracks:
        batch.append(t)
        if len(batch) >= n:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_csv(tracks, fh) -> int:
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline="")
    writer = csv.DictWriter(text, fieldnames=[c for c, _ in COLUMNS], lineterminator="\n")
    writer.writeheader()
    n = 0
    for batch in _batches(tracks, BATCH_ROWS):
        writer.writerows(row(t) for t in batch)
        n += len(batch)
    text.flush()
    text.detach()
    return n


def _write_jsonl(tracks, fh) -> int:
    n = 0
    for batch in _batches(tracks, BATCH_ROWS):
        fh.write("".join(json.dumps(t.to_dict(), ensure_ascii=False) + "\n" for t in batch)
                 .encode("utf-8", "surrogateescape"))
        n += len(batch)
    return n


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise TempoError("Parquet export needs pyarrow", hint=f"{CLUSTER_EXTRA}, or export .csv / .jsonl") from None
    return pa, pq


def _schema(pa):
    types = {"string": pa.string(), "float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_()}
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


def _write_parquet(tracks, fh) -> int:
    pa, pq = _pyarrow()
    schema = _schema(pa)
    n = 0
    with pq.ParquetWriter(fh, schema, compression="zstd") as writer:
        for batch in _batches(tracks, BATCH_ROWS):
            rows = [row(t) for t in batch]
            columns = {name: [r[name] for r in rows] for name, _ in COLUMNS}
            columns["path"] = [p.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                               for p in columns["path"]]
            writer.write_table(pa.Table.from_pydict(columns, schema=schema))
            n += len(batch)
    return n


_WRITERS = {"csv": _write_csv, "jsonl": _write_jsonl, "parquet": _write_parquet}


def export_cache(dest: str, *, db_path: str | os.PathLike | None = None, fmt: str | None = None,
                 settings: AnalysisSettings | None = None) -> ExportResult:
    """Write the cache's analyses (current analyzer version, ``settings``) to ``dest`` in
    ``fmt`` (default: from the extension), streaming, atomically. Returns the rows written."""
    from .cache import Cache

    fmt = format_for(dest, fmt)
    if fmt == "parquet":
        _pyarrow()  # fail before touching anything
    dest = os.path.abspath(os.path.expanduser(dest))
    try:
        with Cache.open(db_path) as cache, atomic_open(dest) as fh:
            rows = _WRITERS[fmt](cache.iter_tracks(settings), fh)
    except OSError as err:
        raise TempoError(f"cannot write the export: {err.strerror or err}", path=dest,
                         hint="check the disk space and the folder's permissions") from None
    return ExportResult(path=dest, format=fmt, rows=rows)
