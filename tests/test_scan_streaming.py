"""The scan streams: listing is lazy and sorted per folder, cache lookups and the files to
analyse go chunk by chunk, and copies are still recognised across chunk boundaries."""

from __future__ import annotations

import os
import shutil

import pytest

import tempo.library as library
from tempo.executors import InProcessExecutor
from tempo.library import Library, LibraryOptions, _iter_walk, _Spool

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = os.path.join(REPO, "fixtures", "library")


def _touch(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(b"x")


def test_listing_is_lazy_and_sorted_per_folder(tmp_path):
    for rel in ("b.mp3", "a.mp3", "sub2/z.mp3", "sub1/y.mp3", "sub1/deep/x.mp3", "sub1/.h.mp3",
                "c.txt"):
        _touch(str(tmp_path / rel))
    walk = _iter_walk([str(tmp_path)])
    first = next(walk)
    assert first[0] == str(tmp_path / "a.mp3")
    # a file added below after the first answer is still found: the tree is listed as it goes
    _touch(str(tmp_path / "sub2" / "late.mp3"))
    rest = [p for p, _ in walk]
    assert [os.path.relpath(p, tmp_path) for p in rest] == [
        "b.mp3", "sub1/y.mp3", "sub1/deep/x.mp3", "sub2/late.mp3", "sub2/z.mp3"]


def test_missing_path_fails_before_anything_is_listed(tmp_path):
    _touch(str(tmp_path / "a.mp3"))
    walk = _iter_walk([str(tmp_path), str(tmp_path / "nope")])
    with pytest.raises(library.TempoError, match="no such file or folder"):
        next(walk)


def test_a_file_given_and_found_in_its_folder_is_listed_once(tmp_path):
    _touch(str(tmp_path / "a.mp3"))
    _touch(str(tmp_path / "b.mp3"))
    paths = [p for p, _ in _iter_walk([str(tmp_path / "b.mp3"), str(tmp_path)])]
    assert sorted(paths) == [str(tmp_path / "a.mp3"), str(tmp_path / "b.mp3")]


def test_spool_round_trip_keeps_odd_names():
    odd = os.fsdecode(b"/music/caf\xe9 \n new.mp3")  # not UTF-8, with a newline
    with _Spool() as spool:
        spool.write([("/a.mp3", 1, 2), (odd, 3, 4)])
        spool.write([])
        spool.write([("/b.mp3", 5, 6)])
        assert spool.count == 3
        assert list(spool) == [[("/a.mp3", 1, 2), (odd, 3, 4)], [("/b.mp3", 5, 6)]]
        assert list(spool) == [[("/a.mp3", 1, 2), (odd, 3, 4)], [("/b.mp3", 5, 6)]]


def test_copies_across_chunks_are_analysed_once(tmp_path, monkeypatch):
    """Three songs, each copied into three folders, looked up two files at a time."""
    monkeypatch.setattr(library, "LOOKUP_CHUNK", 2)
    names = [n for n in sorted(os.listdir(LIBRARY)) if not n.endswith(".json")][:3]
    for folder in ("x", "y", "z"):
        os.makedirs(tmp_path / "m" / folder)
        for n in names:
            shutil.copy(os.path.join(LIBRARY, n), tmp_path / "m" / folder / n)
    lib = Library(LibraryOptions(db_path=str(tmp_path / "c.sqlite")), executor=InProcessExecutor())
    result = lib.scan([str(tmp_path / "m")])
    assert (result.found, result.analysed, result.moved, result.failed) == (9, 3, 6, 0)
    assert len(result.tracks) == 9
    assert [t.path for t in result.tracks] == sorted(t.path for t in result.tracks)
    by_name = {}
    for t in result.tracks:
        by_name.setdefault(os.path.basename(t.path), set()).add(t.bpm)
    assert all(len(bpms) == 1 for bpms in by_name.values())
    warm = lib.scan([str(tmp_path / "m")], keep_tracks=False)
    assert (warm.found, warm.reused, warm.analysed, warm.tracks) == (9, 9, 0, [])


def test_keep_tracks_off_still_counts_tag_tempos(tmp_path):
    db = str(tmp_path / "c.sqlite")
    one = [os.path.join(LIBRARY, n) for n in sorted(os.listdir(LIBRARY)) if not n.endswith(".json")][:2]
    opts = LibraryOptions(db_path=db, trust_tags=True)
    full = Library(opts, executor=InProcessExecutor()).scan(one)
    lean = Library(opts).scan(one, keep_tracks=False)
    assert lean.tracks == [] and lean.reused == 2
    assert lean.from_tags == full.from_tags
