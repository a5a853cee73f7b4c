"""Finding audio files and analysing many of them, through the cache.

I/O layer: walks folders, asks the cache for known results, analyses the rest in worker
processes, collects per-file failures. Pure computation lives in features/estimate/ranking.

Conventions
-----------
- Paths are absolute and sorted; a symbolic link keeps the path it was found under.
- This module imports no numpy/librosa: a warm re-scan answered from the cache never loads them.
  Workers import the analysis code themselves.
- Executors see only a picklable task function and paths (``_analyze_task``), so the local
  process pool and a cluster executor (e.g. Dask) are the same code path.
"""

from __future__ import annotations

import os
import shutil
import stat as stat_mod
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial

from .errors import TempoError
from .executors import (  # noqa: F401  (re-exported: the executors lived here before)
    DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIMEOUT_S, START_METHOD, WARM_UP_MODULES, WORKER_START_TIMEOUT_S, InProcessExecutor,
    ProcessExecutor, _analyze_task, default_jobs,
)
from .models import AnalysisSettings, FileFailure, TrackAnalysis

#: Extensions recognised as audio, matched case-insensitively.
AUDIO_EXTENSIONS = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
    ".m4a", ".mp4", ".aac", ".alac", ".wma", ".webm", ".mka",
)
#: Seconds a command waits for another scan that is writing to the same cache (``--wait``).
DEFAULT_WAIT_S = 60.0
#: Seconds between plain progress lines when stderr is not a terminal.
PROGRESS_INTERVAL_S = 10.0

Progress = Callable[[int, int, str], None]


def normalize_extensions(extensions: Iterable[str]) -> tuple[str, ...]:
    """``["MP3", ".flac", "ogg,opus"]`` -> ``(".mp3", ".flac", ".ogg", ".opus")``."""
    out: list[str] = []
    for item in extensions:
        for e in str(item).split(","):
            e = e.strip().lower()
            if e:
                e = e if e.startswith(".") else "." + e
                if e not in out:
                    out.append(e)
    if not out:
        raise TempoError("no file extensions given", hint="e.g. --ext mp3,flac")
    return tuple(out)


def _iter_walk(paths: Iterable[str | os.PathLike], *, extensions=AUDIO_EXTENSIONS,
               hidden: bool = False) -> Iterator[tuple[str, os.stat_result]]:
    """(absolute path, stat) of audio files under ``paths``, streamed: unique, sorted within
    each folder (files first, then its subfolders in name order), never all held at once.

    Files given directly are taken as given (any extension, any name). Folders are searched
    recursively: symbolic links are followed, each real folder visited once (no loops);
    hidden folders and files (name starting with ".") are skipped unless ``hidden``; only
    regular files whose extension is in ``extensions`` (case-insensitive) are kept. URLs
    (``s3://bucket/prefix``, see :mod:`tempo.sources`) are listed through fsspec and yield
    a :class:`~tempo.sources.ObjectStat` (size, ETag or mtime) instead of a stat. Every local
    path is checked before the first one is yielded.
    """
    from .sources import is_url, iter_objects

    exts = normalize_extensions(extensions)
    roots: list[tuple[str, os.stat_result | None]] = []
    given: set[str] = set()
    for p in paths:
        if is_url(p):
            roots.append((p, None))
            continue
        p = os.path.abspath(os.path.expanduser(os.fspath(p)))
        try:
            st = os.stat(p)
        except OSError:
            raise TempoError("no such file or folder", path=p, hint="check the path") from None
        if not stat_mod.S_ISDIR(st.st_mode):
            if p in given:
                continue
            given.add(p)
        roots.append((p, st))
    seen_dirs: set[tuple[int, int]] = set()
    for p, st in roots:
        if st is None:
            yield from iter_objects(p, extensions=exts, hidden=hidden)
            continue
        if not stat_mod.S_ISDIR(st.st_mode):
            yield p, st
            continue
        stack = [(p, st)]
        while stack:
            folder, fst = stack.pop()
            key = (fst.st_dev, fst.st_ino)
            if key in seen_dirs:
                continue
            seen_dirs.add(key)
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError:
                continue  # unreadable folder: nothing to find there
            subfolders = []
            for entry in entries:
                name = entry.name
                if not hidden and name.startswith("."):
                    continue
                try:
                    est = entry.stat()  # follows symbolic links
                except OSError:
                    continue  # broken link or vanished file
                if stat_mod.S_ISDIR(est.st_mode):
                    subfolders.append((entry.path, est))
                elif (stat_mod.S_ISREG(est.st_mode) and name.lower().endswith(exts)
                      and entry.path not in given):
                    yield entry.path, est
            stack.extend(reversed(subfolders))


def _walk(paths: Iterable[str | os.PathLike], *, extensions=AUDIO_EXTENSIONS,
          hidden: bool = False) -> list[tuple[str, os.stat_result]]:
    """:func:`_iter_walk` as one list sorted by path (for callers that need it all)."""
    return sorted(_iter_walk(paths, extensions=extensions, hidden=hidden), key=lambda e: e[0])


def find_audio_files(paths: Iterable[str | os.PathLike], *, extensions=AUDIO_EXTENSIONS,
                     hidden: bool = False) -> list[str]:
    """Absolute paths of audio files under ``paths`` (files are taken as given), sorted, unique."""
    return [path for path, _ in _walk(paths, extensions=extensions, hidden=hidden)]


# -- scanning ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ScanResult:
    """What one scan found.

    ``tracks``: every successfully analysed file under the paths, sorted by path (from the cache
    or freshly analysed). ``failures``: files that could not be analysed, sorted by path (new
    ones and, unless retried, those recorded by earlier scans: ``known_failed`` of them).
    ``found == analysed + reused + failed``. ``warned``: analysed tracks that carry warnings
    (truncated, damaged, too short; see ``TrackAnalysis.warnings``). ``busy``: files left out
    (failures of kind "busy") because another scan held the cache past ``wait_s``.
    ``warnings``: (path, warnings) of each such track, by path, also when ``tracks`` is not kept.
    """

    tracks: list[TrackAnalysis]
    failures: list[FileFailure]
    found: int
    analysed: int
    reused: int
    failed: int
    elapsed_s: float
    known_failed: int = 0
    moved: int = 0
    from_tags: int = 0
    warned: int = 0
    busy: int = 0
    warnings: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def summary(self) -> str:
        text = (f"found {self.found}, analysed {self.analysed}, reused {self.reused}, "
                f"failed {self.failed} in {self.elapsed_s:.1f} s")
        if self.known_failed:
            text += f" ({self.known_failed} failed before; --retry-failed tries them again)"
        if self.warned:
            text += f"; {self.warned} with warnings"
        if self.busy:
            text += (f"; {self.busy} not analysed while another scan was writing to the cache "
                     "(the rest is from the cache)")
        if self.from_tags:
            text += f"; {self.from_tags} tempos from BPM tags"
        return text

    def to_dict(self) -> dict:
        return {"found": self.found, "analysed": self.analysed, "reused": self.reused,
                "failed": self.failed, "known_failed": self.known_failed, "moved": self.moved,
                "from_tags": self.from_tags, "warned": self.warned, "busy": self.busy,
                "elapsed_s": round(self.elapsed_s, 3)}


@dataclass(frozen=True)
class LibraryOptions:
    """How a library is read: the options every command that reads the library shares.

    ``db_path``: the cache database (default :func:`tempo.cache.default_db_path`);
    ``use_cache=False`` analyses everything and stores nothing. ``jobs``: worker processes
    (default: the number of CPUs). ``timeout_s``: time limit per file, after which its worker is
    replaced and the file reported as failed (kind "timeout", not cached). ``extensions`` and
    ``hidden``: which files a folder search finds. ``retry_failed``: analyse files that failed
    before even if unchanged. ``wait_s``: how long a command that has files to analyse waits
    for another scan writing to the same cache; then ``tempo scan`` stops with an error and the
    other commands work from what is cached (the rest reported as kind "busy").
    ``memory_limit_mb``: address space each worker process may use (0: no limit); a file that
    needs more fails alone as kind "memory".

    Read-time views (the cache keeps what the audio says; changing them costs no analysis):
    corrections stored with ``tempo fix`` always apply; ``trust_tags`` lets each file's own BPM tag
    choose the beat level or replace an unrelated estimate (:func:`tempo.tags.apply_tag_tempo`);
    ``bpm_range`` (a :class:`tempo.corrections.BpmRange`, or text such as ``"87-174"``) moves a
    reading outside it to the candidate inside it (:func:`tempo.corrections.in_range`).
    ``scheduler``: analyse on a Dask cluster (``tcp://HOST:PORT``, or ``"local"`` for a
    LocalCluster of ``jobs`` workers; see :mod:`tempo.dask_executor`) instead of local worker
    processes.
    """

    db_path: str | None = None
    use_cache: bool = True
    jobs: int | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    extensions: tuple[str, ...] = AUDIO_EXTENSIONS
    hidden: bool = False
    retry_failed: bool = False
    trust_tags: bool = False
    bpm_range: object = None
    wait_s: float = DEFAULT_WAIT_S
    memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB
    settings: AnalysisSettings = AnalysisSettings()
    scheduler: str | None = None

    def __post_init__(self):
        if isinstance(self.bpm_range, str):
            from .corrections import BpmRange

            object.__setattr__(self, "bpm_range", BpmRange.parse(self.bpm_range))
        if self.scheduler:
            from .dask_executor import require_cluster_extra

            require_cluster_extra()
        if self.jobs is not None and self.jobs < 1:
            raise TempoError(f"jobs={self.jobs} must be at least 1")
        if self.timeout_s <= 0:
            raise TempoError(f"timeout={self.timeout_s} s must be positive")
        if not self.wait_s >= 0:
            raise TempoError(f"wait={self.wait_s} s must be 0 or more")
        if self.memory_limit_mb < 0:
            raise TempoError(f"memory limit={self.memory_limit_mb} MB must be 0 (none) or more")
        object.__setattr__(self, "extensions", normalize_extensions(self.extensions))
        if self.db_path is not None:
            object.__setattr__(self, "db_path", os.fspath(self.db_path))


@dataclass(frozen=True)
class Correction:
    """What ``tempo fix`` did to one file: the tempo shown before (``old_bpm``), the
    listener's tempo now (``new_bpm``, None when cleared), and ``action``."""

    path: str
    old_bpm: float | None
    new_bpm: float | None
    action: str
    fingerprint: str | None = None

    def to_dict(self) -> dict:
        return {"path": self.path, "old_bpm": self.old_bpm, "new_bpm": self.new_bpm,
                "action": self.action}


@dataclass(frozen=True)
class Plan:
    """A planned workout: the profile as resolved for ``minutes``, the chosen sequence of tracks
    (:class:`tempo.ranking.Sequence`) and the scan it was chosen from."""

    profile: object
    minutes: float
    sequence: object
    scan: ScanResult


class Library:
    """The one owner of a music library: cache, analysis settings, executor, retry policy and
    read-time views (trust-tags). Every command goes through it.

    >>> lib = Library(LibraryOptions(db_path="tempo.sqlite", jobs=2))
    >>> result = lib.scan(["~/Music"])                      # doctest: +SKIP
    >>> plan = lib.plan(["~/Music"], "montage", minutes=45)  # doctest: +SKIP

    ``progress(done, total, path)`` is called as files not answered by the cache are settled.
    ``executor``: anything with ``run(fn, paths) -> iterator of (path, TrackAnalysis |
    FileFailure)`` and ``close()`` (default: a :class:`~tempo.executors.ProcessExecutor` of
    ``options.jobs`` workers, started only when something needs analysing). ``notice(text)``
    receives one-line messages for the user (e.g. that the scan waits for another one).
    """

    def __init__(self, options: LibraryOptions | None = None, *, progress: Progress | None = None,
                 executor=None, notice: Callable[[str], None] | None = None):
        self.options = options or LibraryOptions()
        self.progress = progress
        self.executor = executor
        self.notice = notice

    # -- analyses -------------------------------------------------------------------------------

    def view(self, track: TrackAnalysis, *, user_bpm: float | None = None,
             trust_tags: bool | None = None) -> TrackAnalysis:
        """A track as the commands see it: the cached analysis with the read-time views applied,
        strongest first: the listener's correction (``user_bpm``), then the file's BPM tag (with
        ``trust_tags``), then the preferred range."""
        from .corrections import in_range, with_user_bpm

        if user_bpm is not None:
            return with_user_bpm(track, user_bpm)
        if self.options.trust_tags if trust_tags is None else trust_tags:
            from .tags import apply_tag_tempo

            track = apply_tag_tempo(track)
        return in_range(track, self.options.bpm_range)

    def user_bpms(self, tracks: list[TrackAnalysis]) -> dict[str, float]:
        """{path: the listener's tempo} for those of ``tracks`` that have a correction."""
        from .cache import Cache

        with Cache.open(self.options.db_path) as cache:
            user_bpm = self._user_bpm_finder(cache)
            return {t.path: bpm for t in tracks if (bpm := user_bpm(t)) is not None}

    def _user_bpm_finder(self, cache) -> Callable[[TrackAnalysis], float | None]:
        """A function giving a track's stored correction (or None): matched by content
        fingerprint (so it survives moves, renames and new analyzer versions), else by path.
        Costs nothing per track when there are no corrections."""
        from .cache import _key, fingerprint

        stored = cache.corrections()
        if not stored:
            return lambda track: None
        by_fp = {fp: bpm for fp, _, bpm in stored}
        by_path = {path: bpm for _, path, bpm in stored}

        def find(t: TrackAnalysis) -> float | None:
            fp = cache.stored_fingerprint(t.path, self.options.settings) or fingerprint(t.path, t.size)
            bpm = by_fp.get(fp) if fp else None
            return by_path.get(_key(t.path)) if bpm is None else bpm

        return find

    def _viewer(self, cache) -> Callable[[TrackAnalysis], TrackAnalysis]:
        """:meth:`view` with each track's stored correction, for one scan over ``cache``."""
        user_bpm = self._user_bpm_finder(cache)
        return lambda track: self.view(track, user_bpm=user_bpm(track))

    def scan(self, paths: Iterable[str | os.PathLike], *, strict: bool = False,
             view: bool = True, must_write: bool = False, keep_tracks: bool = True) -> ScanResult:
        """Find audio files under ``paths`` and return the analysis of each, analysing only what
        the cache does not already hold for this file state, analyzer version and settings.

        Every result is committed as soon as it arrives, so an interrupted scan resumes where it
        stopped when run again. Files new to the cache whose content (fingerprint) is already
        known (moved, renamed, copied, or a copy earlier in this scan) are not decoded again.
        Permanent failures are remembered (and reported again until the file changes or
        ``retry_failed``); transient ones (timeout, crash, out of memory) are retried on the next
        run. ``strict``: raise TempoError after the scan (its results are stored) if any file
        failed or has warnings (truncated, too short). When files need analysing while another
        scan writes to the cache, the scan waits up to ``options.wait_s`` for it; then, with
        ``must_write`` (``tempo scan``), raises :class:`~tempo.cache.CacheBusyError`, otherwise
        answers from the cache and reports the rest as failures of kind "busy" (``busy``).
        ``view=False`` returns the analyses as cached, without read-time views.
        ``keep_tracks=False`` returns no tracks, only the counts and failures: the listing,
        the cache lookups and the analysis all stream, so a scan of millions of files runs in
        flat memory (``tempo scan`` does this).
        """
        from .cache import Cache, CacheBusyError

        opts = self.options
        t0 = time.perf_counter()
        entries = _iter_walk(paths, extensions=opts.extensions, hidden=opts.hidden)
        found = 0
        with Cache.open(opts.db_path if opts.use_cache else ":memory:") as cache, _Spool() as todo:
            run = _ScanRun(cache, opts.settings, self.progress,
                           view=self._viewer(cache) if view else None, keep_tracks=keep_tracks)
            for chunk in _chunks(entries, LOOKUP_CHUNK):  # streaming: memory is one chunk
                found += len(chunk)
                todo.write(run.lookup(chunk, retry_failed=opts.retry_failed))
            if todo.count:
                waited = []

                def on_wait(holder: str, wait_s: float) -> None:
                    waited.append(holder)
                    if self.notice is not None:
                        self.notice(f"waiting up to {wait_s:g} s for another tempo scan (pid {holder}) "
                                    f"to finish writing to the cache ({todo.count} files to analyse; "
                                    "--wait SECONDS)")

                try:
                    cache.acquire_writer(wait_s=opts.wait_s, on_wait=on_wait)
                except CacheBusyError as err:
                    if must_write:
                        raise
                    # work from what is cached, including what the other scan stored meanwhile
                    with _Spool() as left:
                        run.relookup(todo, left, retry_failed=opts.retry_failed)
                        for chunk in left:
                            run.failures += [FileFailure(path=p, kind="busy", message=(
                                f"not analysed: another tempo scan (pid {err.holder}) was writing "
                                "to the cache; run again when it has finished")) for p, _, _ in chunk]
                        run.busy = left.count
                else:
                    if waited:  # the other scan may have analysed some of them meanwhile
                        with _Spool() as left:
                            run.relookup(todo, left, retry_failed=opts.retry_failed)
                            if left.count:
                                run.analyse(left, self.executor or self._executor())
                    else:
                        run.analyse(todo, self.executor or self._executor())
        tracks = sorted(run.tracks, key=lambda a: a.path)
        failures = sorted(run.failures, key=lambda f: f.path)
        result = ScanResult(tracks=tracks, failures=failures, found=found,
                            analysed=run.analysed, reused=run.reused + run.moved,
                            failed=len(failures), elapsed_s=time.perf_counter() - t0,
                            known_failed=run.known_failed, moved=run.moved,
                            from_tags=run.from_tags, warned=run.warned, busy=run.busy,
                            warnings=sorted(run.warnings))
        if strict and failures:
            first = failures[0]
            raise TempoError(f"{len(failures)} of {found} files could not be analysed, first "
                             f"{first.path}: {first.kind}: {first.message}",
                             hint="`tempo scan --failed` lists them")
        if strict and result.warned:
            path, warnings = result.warnings[0]
            raise TempoError(f"{result.warned} of {found} files have warnings, first "
                             f"{path}: {warnings[0]}",
                             hint="`tempo analyze --json` shows them")
        return result

    def _executor(self):
        """The executor for files the cache does not answer: the Dask cluster of
        ``options.scheduler``, else local worker processes."""
        opts = self.options
        if opts.scheduler:
            from .dask_executor import DaskExecutor

            return DaskExecutor(opts.scheduler, jobs=opts.jobs, timeout_s=opts.timeout_s)
        return ProcessExecutor(opts.jobs or default_jobs(), timeout_s=opts.timeout_s,
                               memory_limit_mb=opts.memory_limit_mb)

    # -- corrections ----------------------------------------------------------------------------

    def fix(self, paths: Iterable[str | os.PathLike], *, bpm: float | None = None,
            double: bool = False, half: bool = False, clear: bool = False) -> list[Correction]:
        """Store (or with ``clear`` forget) the listener's tempo for the files under ``paths``:
        ``bpm`` itself, or the tempo as now shown doubled or halved. Kept by content, so it
        survives re-scans, moves, renames and new analyzer versions. Returns what was done, per
        file, by path."""
        from .cache import Cache, fingerprint
        from .corrections import check_user_bpm

        if sum([bpm is not None, double, half, clear]) != 1:
            raise TempoError("say one of --bpm N, --double, --half or --clear")
        if bpm is not None:
            bpm = check_user_bpm(bpm)
        result = self.tracks(paths)
        done = []
        with Cache.open(self.options.db_path) as cache:
            for track in result.tracks:
                fp = cache.stored_fingerprint(track.path, self.options.settings) or fingerprint(
                    track.path, track.size)
                if fp is None:
                    raise TempoError("cannot read the file to remember its correction", path=track.path)
                if clear:
                    removed = cache.delete_correction(fp, track.path)
                    done.append(Correction(track.path, track.tempo.raw_bpm or track.bpm, None,
                                           "cleared" if removed else "none"))
                    continue
                new = bpm
                if new is None:
                    if track.bpm is None:
                        done.append(Correction(track.path, None, None, "no tempo to double or halve"))
                        continue
                    new = check_user_bpm(track.bpm * (2.0 if double else 0.5))
                cache.put_correction(fp, track.path, new)
                done.append(Correction(track.path, track.bpm, new, "fixed"))
        return done

    def corrections(self) -> list[Correction]:
        """Every stored correction (path as last seen, and the tempo), by path."""
        from .cache import Cache

        from .cache import _exists

        out = []
        with Cache.open(self.options.db_path) as cache:
            for fp, path, bpm in cache.corrections():
                if not _exists(path):  # moved or renamed: where its content was seen last
                    path = next((p for p in cache.paths_with_fingerprint(fp) if _exists(p)), path)
                out.append(Correction(path, None, bpm, "stored", fingerprint=fp))
        return sorted(out, key=lambda c: c.path)

    def export_corrections(self, dest: str) -> int:
        """Write every correction to a CSV file (path, fingerprint, bpm), atomically; the count."""
        import csv
        import io

        from .atomic import atomic_write_bytes

        rows = self.corrections()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["path", "fingerprint", "bpm"])
        for c in rows:
            writer.writerow([c.path, c.fingerprint, f"{c.new_bpm:g}"])
        try:
            atomic_write_bytes(dest, buf.getvalue().encode("utf-8", "surrogateescape"))
        except OSError as err:
            raise TempoError(f"cannot write the corrections: {err.strerror or err}", path=dest,
                             hint="check the folder exists and is writable") from err
        return len(rows)

    def import_corrections(self, src: str) -> tuple[int, list[str]]:
        """Read corrections from a CSV file written by :meth:`export_corrections` (columns path,
        fingerprint, bpm; fingerprint may be empty, then the file at path is fingerprinted).
        Returns (number imported, one message per row skipped)."""
        import csv

        from .cache import Cache, fingerprint
        from .corrections import check_user_bpm

        try:
            with open(src, encoding="utf-8-sig", newline="", errors="surrogateescape") as fh:
                rows = list(csv.DictReader(fh))
        except OSError as err:
            raise TempoError(f"cannot read the corrections: {err.strerror or err}", path=src) from None
        if rows and not {"path", "bpm"} <= set(rows[0]):
            raise TempoError("is not a corrections file (needs the columns path, fingerprint, bpm)",
                             path=src, hint="write one with `tempo fix --export FILE.csv`")
        imported, skipped = 0, []
        with Cache.open(self.options.db_path) as cache:
            for n, row in enumerate(rows, start=2):
                path = row.get("path") or ""
                try:
                    bpm = check_user_bpm(float(row.get("bpm") or "nan"))
                except (ValueError, TempoError):
                    skipped.append(f"line {n}: {row.get('bpm')!r} is not a tempo")
                    continue
                fp = (row.get("fingerprint") or "").strip()
                if not fp:
                    try:
                        fp = fingerprint(path, os.stat(path).st_size) or ""
                    except OSError:
                        fp = ""
                if not fp:
                    skipped.append(f"line {n}: {path}: no fingerprint and no such file")
                    continue
                cache.put_correction(fp, os.path.abspath(path) if path else path, bpm)
                imported += 1
        return imported, skipped

    def to_review(self, paths: Iterable[str | os.PathLike], *, below: float) -> list[TrackAnalysis]:
        """The tracks under ``paths`` whose confidence is below ``below`` and that the listener
        has not corrected, by path: what ``tempo fix --review`` walks through."""
        result = self.tracks(paths)
        return [t for t in result.tracks if t.tempo.source != "user" and t.confidence < below]

    def tracks(self, paths: Iterable[str | os.PathLike]) -> ScanResult:
        """Like :meth:`scan`, for commands that need at least one analysed track: raises
        TempoError naming the paths when there is none."""
        paths = [os.fspath(p) for p in paths]
        result = self.scan(paths)
        if not result.tracks:
            raise TempoError("no analysed audio files found", path=", ".join(paths),
                             hint="check the path; `tempo scan --failed` lists files that failed")
        return result

    def failures(self, under: Iterable[str | os.PathLike] = ()) -> list[FileFailure]:
        """Files that failed in earlier scans (below ``under`` when given)."""
        from .cache import Cache

        with Cache.open(self.options.db_path) as cache:
            return cache.failures(under=[os.fspath(u) for u in under], settings=self.options.settings)

    def playlist_tracks(self, playlist_path: str, *, base: str | None = None
                        ) -> tuple[list[TrackAnalysis], ScanResult]:
        """The analysed tracks of a playlist file, in the playlist's order (entries analysed
        through the cache); entries that are missing or failed are left out of the list and
        reported in the scan result (missing ones as failures of kind "missing"). ``base``:
        the music root relative entries name (a playlist written with ``--base``)."""
        from .playlist import read_playlist

        from .sources import exists, is_url

        entries = read_playlist(playlist_path, base=base)
        present = [p for p in entries if exists(p)]
        missing = [FileFailure(path=p, kind="missing", message="does not exist (listed in "
                               f"{os.path.basename(playlist_path)})") for p in entries
                   if not exists(p)]
        result = self.scan(present) if present else ScanResult([], [], 0, 0, 0, 0, 0.0)
        if missing:
            failures = sorted(result.failures + missing, key=lambda f: f.path)
            result = replace(result, failures=failures, failed=len(failures),
                             found=result.found + len(missing))
        by_path = {t.path: t for t in result.tracks}
        tracks = [by_path[p] for p in (e if is_url(e) else os.path.abspath(e) for e in entries)
                  if p in by_path]
        return tracks, result

    # -- what the commands make of them ---------------------------------------------------------

    def plan(self, paths: Iterable[str | os.PathLike], profile: str = "montage", *,
             minutes: float | None = None, seed: int | None = None, **profile_options) -> Plan:
        """Choose and order tracks under ``paths`` for a workout profile (a built-in name or a
        TOML file) over ``minutes`` (default: the profile's own length; see
        :func:`tempo.profiles.resolve_profile`)."""
        from .profiles import resolve_profile
        from .ranking import build_sequence

        resolved, minutes = resolve_profile(profile, minutes=minutes, **profile_options)
        result = self.tracks(paths)
        seq = build_sequence(result.tracks, resolved, minutes=minutes, seed=seed)
        return Plan(profile=resolved, minutes=minutes, sequence=seq, scan=result)

    def tag(self, paths: Iterable[str | os.PathLike], **kwargs):
        """Plan (and with ``write=True`` write) BPM tags: see :func:`tempo.tagging.tag_files`."""
        from .tagging import tag_files

        return tag_files(paths, library=self, **kwargs)


def scan(paths: Iterable[str | os.PathLike], *, db_path: str | os.PathLike | None = None,
         jobs: int | None = None, timeout_s: float = DEFAULT_TIMEOUT_S,
         settings: AnalysisSettings | None = None, hidden: bool = False,
         extensions: Iterable[str] = AUDIO_EXTENSIONS, retry_failed: bool = False,
         progress: Progress | None = None, strict: bool = False, use_cache: bool = True,
         executor=None, trust_tags: bool = False) -> ScanResult:
    """``Library(LibraryOptions(...), progress=..., executor=...).scan(paths, strict=...)`` in
    one call (see :class:`LibraryOptions` for the options and :meth:`Library.scan`)."""
    options = LibraryOptions(db_path=db_path, use_cache=use_cache, jobs=jobs, timeout_s=timeout_s,
                             extensions=tuple(extensions), hidden=hidden, retry_failed=retry_failed,
                             trust_tags=trust_tags, settings=settings or AnalysisSettings())
    return Library(options, progress=progress, executor=executor).scan(paths, strict=strict)


#: Files listed and looked up in the cache per read transaction (the scan's memory unit).
LOOKUP_CHUNK = 2000


def _chunks(items: Iterable, n: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


class _Spool:
    """The files a scan must analyse, (path, size, mtime_ns) in chunks, kept in an anonymous
    temporary file instead of memory, so a cold scan of millions holds one chunk at a time;
    read back in the order written (``for chunk in spool``)."""

    def __init__(self):
        self._file = None
        self.count = 0

    def write(self, chunk: list[tuple[str, int, int]]) -> None:
        import pickle
        import tempfile

        if not chunk:
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="tempo-scan-")
        pickle.dump(chunk, self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self.count += len(chunk)

    def __iter__(self) -> Iterator[list[tuple[str, int, int]]]:
        import pickle

        if self._file is None:
            return
        self._file.seek(0)
        while True:
            try:
                yield pickle.load(self._file)
            except EOFError:
                return

    def __enter__(self) -> "_Spool":
        return self

    def __exit__(self, *exc) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class _ScanRun:
    """The state of one scan's analysing phase (the parent process is the only writer).

    Fingerprints are read lazily, just before a file would go to a worker, so a cold scan of a
    huge library starts analysing at once instead of reading every file's ends first. Per-file
    state lives only while the file is in flight; a file's content, once analysed and stored
    with its fingerprint, is found by later copies through the cache.
    """

    def __init__(self, cache, settings: AnalysisSettings, progress: Progress | None, *,
                 view: Callable[[TrackAnalysis], TrackAnalysis] | None = None,
                 keep_tracks: bool = True):
        self.cache, self.settings, self.progress = cache, settings, progress
        self.view, self.keep_tracks = view, keep_tracks
        self.tracks: list[TrackAnalysis] = []
        self.failures: list[FileFailure] = []
        self.reused = self.analysed = self.moved = self.known_failed = self.from_tags = 0
        self.warned = self.busy = 0
        self.warnings: list[tuple[str, tuple[str, ...]]] = []
        self.stats: dict[str, object] = {}  # path -> (st_size, st_mtime_ns), while in flight
        self.fps: dict[str, str | None] = {}
        self.first_of: dict[str, str] = {}  # fingerprint -> the path analysed for it in this scan
        self.twins: dict[str, list[str]] = {}  # that path -> new paths with the same content
        self.outcome_of: dict[str, TrackAnalysis | FileFailure | None] = {}
        self.unsaved_copies: list[tuple[TrackAnalysis, str | None]] = []
        self.unsaved_failures: list[tuple[FileFailure, object]] = []
        self.done = self.total = 0

    def keep(self, track: TrackAnalysis) -> None:
        """A track of the result (viewed), counted, and kept unless ``keep_tracks`` is off."""
        if self.view is not None:
            track = self.view(track)
        if track.tempo.source in ("tag", "tag-level"):
            self.from_tags += 1
        if track.warnings:
            self.warned += 1
            self.warnings.append((track.path, tuple(track.warnings)))
        if self.keep_tracks:
            self.tracks.append(track)

    def lookup(self, entries, *, retry_failed: bool) -> list[tuple[str, int, int]]:
        """Settle from the cache what it knows (tracks, and permanent failures unless
        ``retry_failed``) of ``entries`` ((path, stat) pairs); returns (path, size, mtime_ns) of
        those that still need analysing. One read transaction: with the WAL journal it never
        waits for a scan that is writing."""
        misses = []
        with self.cache.reading():
            for path, st in entries:
                hit = self.cache.get(path, st.st_size, st.st_mtime_ns, self.settings)
                if hit is not None:
                    self.keep(hit)
                    self.reused += 1
                    continue
                if not retry_failed:
                    failure = self.cache.get_failure(path, st.st_size, st.st_mtime_ns, self.settings)
                    if failure is not None and not failure.transient:  # (older versions stored them)
                        self.failures.append(failure)
                        self.known_failed += 1
                        continue
                misses.append((path, st.st_size, st.st_mtime_ns))
        return misses

    def relookup(self, todo: _Spool, left: _Spool, *, retry_failed: bool) -> None:
        """Look the spooled misses up again (another scan may have stored them meanwhile); what
        is still missing goes to ``left``."""
        from .sources import ObjectStat

        for chunk in todo:
            left.write(self.lookup([(p, ObjectStat(size, mtime)) for p, size, mtime in chunk],
                                   retry_failed=retry_failed))

    def analyse(self, todo: _Spool, executor) -> None:
        self.total = todo.count
        task = partial(_analyze_task, settings=self.settings)
        last = ""
        try:
            for path, outcome in executor.run(task, self._candidates(todo)):
                self._record(path, outcome)
                self._save()
                self._tick(path)
                last = path
        finally:
            executor.close()
        self._save()
        if self.done < self.total:  # only copies settled after the last analysis
            self._tick(last)

    def _candidates(self, todo: _Spool) -> Iterator[str]:
        """The paths that need decoding; the others are settled here from known content.

        Largest files first within each chunk: the long analyses start early instead of leaving
        one worker busy with a big file at the end while the others idle (results are sorted
        afterwards). Only paths new to the cache are matched by content: a known path with a
        new size or mtime was changed, perhaps in the middle, which the cheap fingerprint does
        not read.
        """
        from .cache import fingerprint
        from .sources import ObjectStat

        for chunk in todo:
            chunk.sort(key=lambda e: (-e[1], e[0]))
            for path, size, mtime_ns in chunk:
                self.stats[path] = ObjectStat(size, mtime_ns)
                fp = self.fps[path] = fingerprint(path, size)
                if fp is None or self.cache.has_path(path, self.settings):
                    yield path
                    continue
                prev = self.cache.get_by_fingerprint(fp, self.settings)
                if prev is not None:
                    self._settle_twin(path, prev)
                elif fp in self.first_of:
                    first = self.first_of[fp]
                    if first in self.outcome_of:
                        self._settle_twin(path, self.outcome_of[first])
                    else:
                        self.twins[first].append(path)
                else:
                    self.first_of[fp] = path
                    self.twins[path] = []
                    yield path
                if len(self.unsaved_copies) >= 100:
                    self._save()
                    self._tick(path)

    def _settle_twin(self, path: str, outcome: TrackAnalysis | FileFailure | None) -> None:
        st = self.stats.pop(path)
        fp = self.fps.pop(path, None)
        if isinstance(outcome, TrackAnalysis):
            copy = replace(outcome, path=path, size=st.st_size, mtime_ns=st.st_mtime_ns)
            self.unsaved_copies.append((copy, fp))
            self.keep(copy)
            self.moved += 1
        elif isinstance(outcome, FileFailure):
            failure = replace(outcome, path=path)
            if not failure.transient:
                self.unsaved_failures.append((failure, st))
            self.failures.append(failure)
        else:  # the file analysed for this content changed meanwhile: not recorded, retried next time
            self.failures.append(FileFailure(path=path, kind="changed", message=(
                "a file with the same content changed during the scan; scan again")))
        self.done += 1

    def _record(self, path: str, outcome: TrackAnalysis | FileFailure) -> None:
        st = self.stats.pop(path)
        fp = self.fps.pop(path, None)
        stored = False
        if isinstance(outcome, TrackAnalysis):
            unchanged = (outcome.size, outcome.mtime_ns) == (st.st_size, st.st_mtime_ns)
            self.cache.put(outcome, fingerprint=fp if unchanged else None)
            stored = unchanged and fp is not None
            self.keep(outcome)
            self.analysed += 1
            shared = outcome if unchanged else None
        else:
            if not outcome.transient:  # a timeout or a crash says nothing lasting about the file
                self.unsaved_failures.append((outcome, st))
            self.failures.append(outcome)
            shared = outcome
        self.done += 1
        if path in self.twins:
            for twin in self.twins.pop(path):
                self._settle_twin(twin, shared)
            if stored:  # later copies find it in the cache by its fingerprint
                self.first_of.pop(fp, None)
            else:
                self.outcome_of[path] = shared

    def _save(self) -> None:
        if self.unsaved_copies:
            self.cache.put_many(self.unsaved_copies)
            self.unsaved_copies = []
        for failure, st in self.unsaved_failures:
            self.cache.put_failure(failure, size=st.st_size, mtime_ns=st.st_mtime_ns, settings=self.settings)
        self.unsaved_failures = []

    def _tick(self, path: str) -> None:
        if self.progress is not None:
            self.progress(self.done, self.total, path)


# -- progress ----------------------------------------------------------------------------------

def _fmt_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class ProgressPrinter:
    """A ``progress(done, total, path)`` callable writing to a stream (usually stderr).

    On a terminal: one bar redrawn in place (done/total, rate, ETA, current file). Otherwise:
    a plain line every ``interval_s`` seconds and at the end, so logs stay readable.
    """

    def __init__(self, stream=None, *, tty: bool | None = None, interval_s: float = PROGRESS_INTERVAL_S,
                 label: str = "analysing"):
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.interval_s = interval_s
        self.label = label
        self.t0 = time.monotonic()
        self._last = float("-inf")

    def line(self, done: int, total: int, path: str) -> tuple[str, str]:
        elapsed = max(time.monotonic() - self.t0, 1e-9)
        rate = done / elapsed
        eta = _fmt_duration((total - done) / rate) if rate > 0 else "?"
        from .textsafe import safe

        return f"{self.label} {done}/{total}  {rate:.1f} files/s  ETA {eta}", safe(os.path.basename(path))

    def __call__(self, done: int, total: int, path: str) -> None:
        head, name = self.line(done, total, path)
        if self.tty:
            width = shutil.get_terminal_size((80, 20)).columns
            filled = int(20 * done / total) if total else 20
            text = f"[{'#' * filled}{'-' * (20 - filled)}] {head}  {name}"[: width - 1]
            self.stream.write("\r" + text.ljust(width - 1) + ("\n" if done >= total else ""))
            self.stream.flush()
            return
        now = time.monotonic()
        if done >= total or now - self._last >= self.interval_s:
            self._last = now
            self.stream.write(f"{head}  {name}\n")
            self.stream.flush()
