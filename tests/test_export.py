"""`tempo cache export`: Parquet, CSV and JSON Lines, streamed and written atomically."""

from __future__ import annotations

import csv
import json
import os

import pytest

from tempo.cache import Cache
from tempo.cli import cli
from tempo.export import COLUMNS, export_cache
from tempo.models import AnalysisSettings, TempoEstimate, Tags, TrackAnalysis


def _track(i: int, **kw) -> TrackAnalysis:
    return TrackAnalysis(
        path=kw.get("path", f"/music/{i:05d}.mp3"), size=1000 + i, mtime_ns=10**18 + i,
        duration_s=180.0 + i, tempo=TempoEstimate(bpm=kw.get("bpm", 100.0 + i % 80), confidence=0.8,
                                                  candidates=((100.0 + i % 80, 0.9), (50.0, 0.3)),
                                                  curve=((5.0, 100.0),), stable=i % 2 == 0),
        loudness_lufs=None if i == 0 else -9.5, energy=0.5, onset_rate=3.2,
        tags=Tags(artist=kw.get("artist", f"Artist {i}"), title=f"Song {i}", bpm=None if i % 3 else 120.0),
        format="mp3", sample_rate=44100, channels=2)


@pytest.fixture()
def db(tmp_path):
    """A cache of 25 analyses (one with a URL path, one with a non-ASCII artist) plus one of
    other settings, which the export leaves out."""
    path = str(tmp_path / "x.sqlite")
    tracks = [_track(i) for i in range(23)]
    tracks.append(_track(23, path="s3://bucket/lib/song.flac"))
    tracks.append(_track(24, artist="Motörhead, \"live\"\nencore"))
    with Cache.open(path) as cache:
        cache.put_many((t, None) for t in tracks)
        other = TrackAnalysis.from_dict(dict(_track(99).to_dict(), settings={"sr": 22050}))
        cache.put(other)
    return path, sorted(tracks, key=lambda t: t.path)


def test_parquet_reads_back_with_pyarrow(db, tmp_path, runner):
    pq = pytest.importorskip("pyarrow.parquet")
    path, tracks = db
    out = tmp_path / "out" / "catalogue.parquet"
    res = runner.invoke(cli, ["cache", "export", str(out), "--db", path])
    assert res.exit_code == 0, res.output
    assert "25 analyses (parquet)" in res.output
    table = pq.read_table(out)
    assert table.column_names == [c for c, _ in COLUMNS]
    assert table.num_rows == 25
    rows = table.to_pylist()
    assert [r["path"] for r in rows] == [t.path for t in tracks]
    first = rows[0]
    assert first["bpm"] == tracks[0].bpm and first["loudness_lufs"] is None
    assert first["candidates"] == "100:0.90;50:0.30"
    assert first["settings_hash"] == AnalysisSettings().settings_hash()
    assert first["mtime_ns"] == 10**18 and first["stable"] is True
    assert str(table.schema.field("mtime_ns").type) == "int64"
    assert not [p for p in os.listdir(out.parent) if p.endswith(".tmp")]


def test_parquet_streams_in_row_groups(db, tmp_path, monkeypatch):
    pq = pytest.importorskip("pyarrow.parquet")
    import tempo.export as export

    monkeypatch.setattr(export, "BATCH_ROWS", 10)
    path, _ = db
    out = str(tmp_path / "a.parquet")
    assert export_cache(out, db_path=path).rows == 25
    assert pq.ParquetFile(out).metadata.num_row_groups == 3  # 10 + 10 + 5: written batch by batch


def test_csv(db, tmp_path, runner):
    path, tracks = db
    out = tmp_path / "a.csv"
    res = runner.invoke(cli, ["cache", "export", str(out), "--db", path])
    assert res.exit_code == 0, res.output
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 25 and list(rows[0]) == [c for c, _ in COLUMNS]
    by_path = {r["path"]: r for r in rows}
    assert by_path["s3://bucket/lib/song.flac"]["title"] == "Song 23"
    assert by_path["/music/00024.mp3"]["artist"] == 'Motörhead, "live"\nencore'
    assert float(by_path["/music/00005.mp3"]["bpm"]) == 105.0


def test_jsonl_holds_whole_analyses(db, tmp_path, runner):
    path, tracks = db
    out = tmp_path / "a.data"
    res = runner.invoke(cli, ["cache", "export", str(out), "--db", path, "--format", "jsonl"])
    assert res.exit_code == 0, res.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert [TrackAnalysis.from_dict(json.loads(x)) for x in lines] == tracks


def test_failed_export_leaves_the_old_file(db, tmp_path, monkeypatch):
    import tempo.export as export

    path, _ = db
    out = tmp_path / "a.jsonl"
    out.write_text("old\n")

    def broken(tracks, fh):
        fh.write(b"half")
        raise OSError(28, "No space left on device")

    monkeypatch.setitem(export._WRITERS, "jsonl", broken)
    with pytest.raises(export.TempoError, match="No space left"):
        export_cache(str(out), db_path=path)
    assert out.read_text() == "old\n"
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_unknown_extension_asks_for_format(db, tmp_path, runner):
    path, _ = db
    res = runner.invoke(cli, ["cache", "export", str(tmp_path / "a.xlsx"), "--db", path])
    assert res.exit_code == 1
    assert "cannot tell the export format" in res.output and "--format" in res.output
    assert not os.path.exists(tmp_path / "a.xlsx")


def test_parquet_without_pyarrow_names_the_extra(db, tmp_path, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)
    path, _ = db
    from tempo.errors import TempoError

    with pytest.raises(TempoError, match=r"tempo-montage\[cluster\]"):
        export_cache(str(tmp_path / "a.parquet"), db_path=path)
    assert not os.path.exists(tmp_path / "a.parquet")
