"""The analysis cache: one embedded SQLite file, the only module that touches a database.

Conventions
-----------
- A cached analysis is valid for exactly one key: (absolute path, size, mtime_ns) of the file,
  ``ANALYZER_VERSION`` and ``AnalysisSettings.settings_hash()``. Anything else is a miss, so a
  stale result is never mixed in. Rows of other versions or settings stay until ``prune``.
- A file moved or renamed (or copied) is recognised by its content fingerprint (size plus a hash
  of its first and last 64 KB) and its analysis is reused without decoding.
- Failures are remembered per file with the same key; a failed file is tried again when it
  changes, when the analyzer or settings change, or when asked (``--retry-failed``).
- WAL journal: readers never block the one writer. The writer (the scanning process; workers
  only analyse) commits in small transactions, so a crash or ``kill -9`` loses at most the
  files in flight. A lock file beside the database (``<db>.lock``, ``flock``) lets only one scan
  write at a time; a second one waits for it (``--wait``) instead of analysing the same files
  twice, then stops with a message (``tempo scan``) or works from what is cached (the others).
- Every sqlite3 error becomes a :class:`CacheError` that names the database file and the fix.
- The listener's corrections (``tempo fix``) are not re-computable: :func:`clear` deletes the
  analyses and keeps them, and never deletes a file it cannot read (it sets it aside).
- An object in a store is keyed like a file: its URL, size, and ETag hash or mtime as
  ``mtime_ns`` (:mod:`tempo.sources`); it has no fingerprint, and ``prune`` keeps its rows.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat as stat_mod
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace

from .errors import CacheError
from .models import ANALYZER_VERSION, AnalysisSettings, FileFailure, TrackAnalysis
from .sources import is_url

#: Bumped when the table layout changes; an older database is refused with a hint to clear it.
SCHEMA_VERSION = "1"
#: Name of the database file in the user cache folder.
DB_FILENAME = "tempo.sqlite"
#: Environment variable naming the database file (the ``--db`` option wins over it).
DB_ENV = "TEMPO_DB"
#: Bytes hashed at each end of a file for its content fingerprint.
FINGERPRINT_CHUNK_BYTES = 64 * 1024
#: How long a reader or writer waits for a lock held by another connection (s).
BUSY_TIMEOUT_S = 30.0
#: Seconds between attempts to take the writer lock while another scan holds it.
LOCK_POLL_S = 0.2
#: Rows written per transaction by ``put_many``.
BATCH_ROWS = 500
#: Hint appended to errors about a damaged or foreign database file.
_CLEAR_HINT = "clear it with `tempo cache clear --db {path}`, or choose another file with --db or TEMPO_DB"
_WRITABLE_HINT = "choose a writable location with --db PATH or the TEMPO_DB environment variable"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tracks (
    path TEXT NOT NULL,
    analyzer_version TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    fingerprint TEXT,
    data TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (path, analyzer_version, settings_hash)
);
CREATE INDEX IF NOT EXISTS tracks_fingerprint ON tracks (fingerprint, analyzer_version, settings_hash);
CREATE INDEX IF NOT EXISTS tracks_fingerprint_path ON tracks (fingerprint, analyzer_version, settings_hash, path);
CREATE TABLE IF NOT EXISTS failures (
    path TEXT NOT NULL,
    analyzer_version TEXT NOT NULL,
    settings_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (path, analyzer_version, settings_hash)
);
""" + """
CREATE TABLE IF NOT EXISTS corrections (
    fingerprint TEXT PRIMARY KEY,
    path TEXT NOT NULL,
    bpm REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS corrections_path ON corrections (path);
"""


class CacheBusyError(CacheError):
    """Another scan holds the cache's writer lock (and kept it past the wait). ``holder`` is its
    process id as text ("?" when unknown)."""

    kind = "busy"

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None,
                 holder: str = "?"):
        self.holder = holder
        super().__init__(message, path=path, hint=hint)


class CacheUnusableError(CacheError):
    """The file is not a usable tempo cache of this version: damaged, not a database, another
    program's database, or written by another tempo version. (``clear`` sets such a file aside
    instead of deleting it.)"""


#: The index that answers "the first path with this content" (see ``get_by_fingerprint``).
_FINGERPRINT_PATH_INDEX = ("CREATE INDEX IF NOT EXISTS tracks_fingerprint_path ON tracks "
                           "(fingerprint, analyzer_version, settings_hash, path)")


def default_db_path() -> str:
    """``$TEMPO_DB`` if set, else ``tempo.sqlite`` in the user cache folder (platformdirs)."""
    env = os.environ.get(DB_ENV)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("tempo", appauthor=False), DB_FILENAME)


def fingerprint(path: str, size: int) -> str | None:
    """Cheap content identity: size and a SHA-1 of the first and last 64 KB (None if unreadable).

    Only regular files are read (a FIFO or device would block or never end).
    """
    try:
        if not stat_mod.S_ISREG(os.stat(path).st_mode):
            return None
        with open(path, "rb") as f:
            h = hashlib.sha1(f.read(FINGERPRINT_CHUNK_BYTES))
            if size > 2 * FINGERPRINT_CHUNK_BYTES:
                f.seek(-FINGERPRINT_CHUNK_BYTES, os.SEEK_END)
                h.update(f.read(FINGERPRINT_CHUNK_BYTES))
            elif size > FINGERPRINT_CHUNK_BYTES:
                h.update(f.read())
    except OSError:
        return None
    return f"{size}:{h.hexdigest()}"


@dataclass(frozen=True)
class CacheInfo:
    """What ``tempo cache info`` shows. ``versions`` holds (analyzer_version, settings_hash, rows)."""

    path: str
    size_bytes: int
    tracks: int
    failures: int
    versions: tuple[tuple[str, str, int], ...]
    current_version: str = ANALYZER_VERSION

    def to_dict(self) -> dict:
        return {
            "path": self.path,
            "size_bytes": self.size_bytes,
            "tracks": self.tracks,
            "failures": self.failures,
            "versions": [{"analyzer_version": v, "settings_hash": h, "tracks": n} for v, h, n in self.versions],
            "current_version": self.current_version,
        }


@dataclass(frozen=True)
class PruneResult:
    """Rows dropped by ``prune``: of files that no longer exist, and of other analyzer versions."""

    missing: int
    old_version: int


#: Free bytes under which an I/O error of the cache is reported as a full disk.
LOW_SPACE_BYTES = 4 * 1024 * 1024


def _free_bytes(path: str) -> int | None:
    """Free bytes on the file system holding ``path`` (None when unknown or in memory)."""
    if path == ":memory:":
        return None
    try:
        return shutil.disk_usage(os.path.dirname(path) or ".").free
    except OSError:
        return None


def _is_readonly_error(err: sqlite3.Error) -> bool:
    text = str(err).lower()
    return any(s in text for s in ("readonly", "read-only", "unable to open", "permission"))


class Cache:
    """An open analysis database. Use ``with Cache.open(path) as cache: ...``.

    ``path=":memory:"`` gives a throw-away cache (nothing is stored between runs).
    """

    #: True when the database could only be opened for reading (a read-only file, folder or
    #: file system): lookups work, storing raises CacheError naming the place and the fix.
    read_only = False

    def __init__(self, path: str):
        self.path = path
        self._lock_fd: int | None = None
        self._conn: sqlite3.Connection | None = None
        try:
            self._connect()
        except CacheError as err:
            self.close()
            if "read-only" not in err.message or not self._open_read_only():
                raise err from None

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> "Cache":
        path = default_db_path() if path is None else os.fspath(path)
        if path != ":memory:":
            path = os.path.abspath(os.path.expanduser(path))
        return cls(path)

    # -- connection ---------------------------------------------------------------------------

    def _connect(self) -> None:
        path = self.path
        if path != ":memory:":
            if os.path.isdir(path):
                raise CacheError("is a folder, not a database file", path=path,
                                 hint="give a file name, e.g. --db " + os.path.join(path, DB_FILENAME))
            folder = os.path.dirname(path)
            try:
                os.makedirs(folder, exist_ok=True)
            except OSError as err:
                raise CacheError(f"cannot create the cache folder {folder} ({err.strerror or err})",
                                 path=path, hint=_WRITABLE_HINT) from None
        try:
            self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                         check_same_thread=False)
        except sqlite3.Error as err:
            raise self._error(err) from None
        # Switching a new file to WAL takes an exclusive lock and SQLite does not always wait
        # for it (SQLITE_BUSY at once when two scans create the same database): retry here.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                if self._conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    self._conn.execute("PRAGMA journal_mode=WAL")
                self._conn.execute("PRAGMA synchronous=NORMAL")
                self._check_schema()
                return
            except sqlite3.OperationalError as err:
                if "locked" not in str(err).lower() or time.monotonic() > deadline:
                    raise self._error(err) from None
                time.sleep(0.05)
            except sqlite3.Error as err:
                raise self._error(err) from None

    def _open_read_only(self) -> bool:
        """Open an existing database that cannot be written, for reading only (True on success).

        A WAL database needs its ``-shm`` index beside it; where the folder cannot be written
        either, SQLite is told the file is immutable (nothing can change it there)."""
        path = self.path
        if path == ":memory:" or not os.path.isfile(path):
            return False
        from urllib.parse import quote

        folder_writable = os.access(os.path.dirname(path), os.W_OK)
        uri = f"file:{quote(path)}?mode=ro" + ("" if folder_writable else "&immutable=1")
        try:
            self._conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None,
                                         check_same_thread=False)
            self._check_schema()
        except (sqlite3.Error, CacheError):
            self.close()
            return False
        self.read_only = True
        return True

    def _error(self, err: sqlite3.Error, doing: str = "open") -> CacheError:
        """Translate a sqlite3 error into a CacheError naming the file and the fix."""
        if isinstance(err, sqlite3.DatabaseError) and not isinstance(err, sqlite3.OperationalError):
            # "file is not a database", "database disk image is malformed"
            return CacheUnusableError(f"is not a usable tempo cache database ({err})", path=self.path,
                                      hint=_CLEAR_HINT.format(path=self.path))
        if "locked" in str(err).lower() or "busy" in str(err).lower():
            return CacheError(f"the cache database stayed locked for {BUSY_TIMEOUT_S:.0f} s ({err})",
                              path=self.path, hint="wait for the other tempo command to finish, or use --db")
        text = str(err).lower()
        free = _free_bytes(self.path)
        if "full" in text or ("i/o" in text and free is not None and free < LOW_SPACE_BYTES):
            # SQLite reports a full disk as SQLITE_FULL, or (growing the WAL index) as an I/O error
            room = f"{free // 1024} KB free; " if free is not None else ""
            return CacheError(f"cannot {doing} the cache database: the disk holding it is full "
                              f"({room}{err})", path=self.path,
                              hint="free some space there, or choose another location with --db PATH "
                                   "or TEMPO_DB; what was stored before is kept")
        if "i/o" in text:
            return CacheError(f"cannot {doing} the cache database: the disk reported an error ({err})",
                              path=self.path, hint="check the disk; or " + _WRITABLE_HINT.replace(
                                  "choose a writable", "choose another"))
        if _is_readonly_error(err):
            return CacheError(f"cannot {doing} the cache database: the location is read-only or "
                              f"not accessible ({err})", path=self.path, hint=_WRITABLE_HINT)
        return CacheError(f"cache database error ({err})", path=self.path,
                          hint=_CLEAR_HINT.format(path=self.path))

    def _check_schema(self) -> None:
        conn = self._conn
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if tables and "meta" not in tables:
            raise CacheUnusableError("is an SQLite database but not a tempo cache", path=self.path,
                                     hint="choose another file with --db or TEMPO_DB")
        if "meta" in tables:
            row = conn.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            if row is None or row[0] != SCHEMA_VERSION:
                found = row[0] if row else "none"
                raise CacheUnusableError(f"was written by another tempo version (cache schema {found}, "
                                         f"this tempo uses {SCHEMA_VERSION})", path=self.path,
                                         hint=_CLEAR_HINT.format(path=self.path))
            if "corrections" not in tables:  # added later to schema 1: create it when we can
                with contextlib.suppress(CacheError):
                    with self._write("update"):
                        for statement in _SCHEMA.split(";"):
                            if "corrections" in statement:
                                conn.execute(statement)
            return
        with self._write("create"):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema', ?)", (SCHEMA_VERSION,))

    @contextlib.contextmanager
    def _write(self, doing: str = "write to") -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), sqlite3 errors translated."""
        if self.read_only:
            raise CacheError(f"cannot {doing} the cache database: it is read-only (file, folder or "
                             "file system); it can be read but nothing new stored", path=self.path,
                             hint=_WRITABLE_HINT + ", or make it writable")
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise self._error(err, doing) from None
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc, doing) from None
            raise

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Group many lookups in one read transaction (a consistent snapshot, and much faster)."""
        try:
            self._conn.execute("BEGIN")
        except sqlite3.Error as err:
            raise self._error(err, "read") from None
        try:
            yield
        finally:
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as err:
            raise self._error(err, "read") from None

    def close(self) -> None:
        self.release_writer()
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def __enter__(self) -> "Cache":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the one-writer lock ----------------------------------------------------------------

    @property
    def lock_path(self) -> str:
        return self.path + ".lock"

    def acquire_writer(self, *, wait_s: float = 0.0,
                       on_wait: Callable[[str, float], None] | None = None) -> None:
        """Become the only scan writing to this database, waiting up to ``wait_s`` seconds for
        another one to finish; then raise :class:`CacheBusyError` naming the holder.

        ``on_wait(holder_pid, wait_s)`` is called once when the wait begins (to tell the user).
        The lock is an ``flock`` on ``<db>.lock``: the kernel drops it when the process dies, even
        by ``kill -9``, so a crashed scan never blocks the next one. Readers take no lock at all:
        with the WAL journal they read the last committed state while a scan writes.
        """
        if self._lock_fd is not None or self.path == ":memory:":
            return
        if self.read_only:
            with self._write("write to"):
                pass  # raises the read-only CacheError
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: rely on SQLite's own locking
            return
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            raise CacheError(f"cannot create the lock file {self.lock_path} ({err.strerror or err})",
                             path=self.path, hint=_WRITABLE_HINT) from None
        deadline = time.monotonic() + max(0.0, wait_s)
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError:
                pass
            try:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            except OSError:
                holder = "?"
            now = time.monotonic()
            if now >= deadline:
                os.close(fd)
                waited = f" (waited {wait_s:g} s)" if wait_s > 0 else ""
                raise CacheBusyError(f"another tempo scan (pid {holder}) is writing to this cache{waited}",
                                     path=self.path, holder=holder,
                                     hint="wait for it to finish (--wait SECONDS waits longer), or give "
                                          "this run its own cache with --db PATH") from None
            if not told and on_wait is not None:
                on_wait(holder, wait_s)
                told = True
            time.sleep(min(LOCK_POLL_S, deadline - now))
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd
        # Databases made before it lack the index that finds the first copy of a content in
        # O(log n) (without it, 100,000 copies of one file took a second each); the writer adds it.
        if self._conn is not None:  # (clear() takes the lock without opening the database)
            try:
                with self._write("update"):
                    self._conn.execute(_FINGERPRINT_PATH_INDEX)
            except CacheError:
                self.release_writer()
                raise

    def release_writer(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._lock_fd, 0)
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    # -- tracks -------------------------------------------------------------------------------

    def get(self, path: str, size: int, mtime_ns: int,
            settings: AnalysisSettings | None = None) -> TrackAnalysis | None:
        """The cached analysis of this exact file state, analyzer version and settings, or None."""
        settings = settings or AnalysisSettings()
        rows = self._query(
            "SELECT size, mtime_ns, data FROM tracks WHERE path=? AND analyzer_version=? AND settings_hash=?",
            (_key(path), ANALYZER_VERSION, _settings_key(settings)))
        if not rows or rows[0][0] != size or rows[0][1] != mtime_ns:
            return None
        return _decode(rows[0][2], path=path)

    def has_path(self, path: str, settings: AnalysisSettings | None = None) -> bool:
        """Whether some state of this path is cached (for this version and settings)."""
        settings = settings or AnalysisSettings()
        return bool(self._query("SELECT 1 FROM tracks WHERE path=? AND analyzer_version=? AND settings_hash=?",
                                (_key(path), ANALYZER_VERSION, _settings_key(settings))))

    def get_by_fingerprint(self, fp: str, settings: AnalysisSettings | None = None) -> TrackAnalysis | None:
        """An analysis of a file with the same content (moved, renamed or copied), or None."""
        settings = settings or AnalysisSettings()
        rows = self._query(
            "SELECT path, data FROM tracks WHERE fingerprint=? AND analyzer_version=? AND settings_hash=? "
            "ORDER BY path LIMIT 1", (fp, ANALYZER_VERSION, _settings_key(settings)))
        return _decode(rows[0][1], path=rows[0][0]) if rows else None

    def put(self, analysis: TrackAnalysis, *, fingerprint: str | None = None) -> None:
        """Store one analysis (replacing an older one of that file) in its own transaction."""
        self.put_many([(analysis, fingerprint)])

    def put_many(self, items: Iterable[tuple[TrackAnalysis, str | None]]) -> None:
        """Store analyses with their fingerprints, ``BATCH_ROWS`` per transaction."""
        batch: list[tuple] = []
        now = time.time()
        for analysis, fp in items:
            data = json.dumps(analysis.to_dict(), separators=(",", ":"), allow_nan=False)
            batch.append((_key(analysis.path), analysis.analyzer_version, _settings_key(analysis.settings),
                          analysis.size, analysis.mtime_ns, fp, data, now))
            if len(batch) >= BATCH_ROWS:
                self._put_rows(batch)
                batch = []
        if batch:
            self._put_rows(batch)

    def _put_rows(self, rows: list[tuple]) -> None:
        with self._write() as conn:
            conn.executemany("INSERT OR REPLACE INTO tracks (path, analyzer_version, settings_hash, size, "
                             "mtime_ns, fingerprint, data, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
            conn.executemany("DELETE FROM failures WHERE path=? AND analyzer_version=? AND settings_hash=?",
                             [r[:3] for r in rows])

    def tracks(self, settings: AnalysisSettings | None = None) -> list[TrackAnalysis]:
        """Every cached analysis of the current analyzer version and these settings, by path."""
        settings = settings or AnalysisSettings()
        rows = self._query("SELECT path, data FROM tracks WHERE analyzer_version=? AND settings_hash=? "
                           "ORDER BY path", (ANALYZER_VERSION, _settings_key(settings)))
        return [a for a in (_decode(data, path=path) for path, data in rows) if a is not None]

    def iter_tracks(self, settings: AnalysisSettings | None = None, *,
                    batch_rows: int = BATCH_ROWS) -> Iterator[TrackAnalysis]:
        """:meth:`tracks`, streamed: ``batch_rows`` rows in memory at a time (for exports of
        millions). One read transaction, so the rows are one consistent snapshot."""
        settings = settings or AnalysisSettings()
        with self.reading():
            try:
                cursor = self._conn.execute(
                    "SELECT path, data FROM tracks WHERE analyzer_version=? AND settings_hash=? "
                    "ORDER BY path", (ANALYZER_VERSION, _settings_key(settings)))
                while True:
                    rows = cursor.fetchmany(batch_rows)
                    if not rows:
                        return
                    for path, data in rows:
                        analysis = _decode(data, path=path)
                        if analysis is not None:
                            yield analysis
            except sqlite3.Error as err:
                raise self._error(err, "read") from None

    # -- failures -----------------------------------------------------------------------------

    def put_failure(self, failure: FileFailure, *, size: int, mtime_ns: int,
                    settings: AnalysisSettings | None = None) -> None:
        """Remember that this file state could not be analysed (replaces an earlier record)."""
        settings = settings or AnalysisSettings()
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO failures (path, analyzer_version, settings_hash, size, "
                         "mtime_ns, kind, message, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (_key(failure.path), ANALYZER_VERSION, _settings_key(settings), size, mtime_ns,
                          failure.kind, _key(failure.message), time.time()))

    def get_failure(self, path: str, size: int, mtime_ns: int,
                    settings: AnalysisSettings | None = None) -> FileFailure | None:
        """The recorded failure of this exact file state, version and settings, or None."""
        settings = settings or AnalysisSettings()
        rows = self._query("SELECT size, mtime_ns, kind, message FROM failures WHERE path=? AND "
                           "analyzer_version=? AND settings_hash=?",
                           (_key(path), ANALYZER_VERSION, _settings_key(settings)))
        if not rows or rows[0][0] != size or rows[0][1] != mtime_ns:
            return None
        return FileFailure(path=path, kind=rows[0][2], message=rows[0][3])

    def failures(self, under: Iterable[str] = (), settings: AnalysisSettings | None = None) -> list[FileFailure]:
        """Recorded failures of the current version and settings, by path; only those below
        the folders or files in ``under`` when it is given."""
        settings = settings or AnalysisSettings()
        rows = self._query("SELECT path, kind, message FROM failures WHERE analyzer_version=? AND "
                           "settings_hash=? ORDER BY path", (ANALYZER_VERSION, _settings_key(settings)))
        roots = [(u, "/") if is_url(u) else (os.path.abspath(os.fspath(u)), os.sep) for u in under]
        out = []
        for path, kind, message in rows:
            if roots and not any(path == r or path.startswith(r.rstrip(sep) + sep) for r, sep in roots):
                continue
            out.append(FileFailure(path=path, kind=kind, message=message))
        return out

    # -- corrections (the listener's tempo for a file, kept across re-scans and versions) ----

    def _has_corrections_table(self) -> bool:
        return bool(self._query("SELECT 1 FROM sqlite_master WHERE type='table' AND name='corrections'"))

    def corrections(self) -> list[tuple[str, str, float]]:
        """Every stored correction as (fingerprint, path, bpm), by path."""
        if not self._has_corrections_table():
            return []
        return [(fp, path, bpm) for fp, path, bpm in
                self._query("SELECT fingerprint, path, bpm FROM corrections ORDER BY path, fingerprint")]

    def put_correction(self, fp: str, path: str, bpm: float) -> None:
        """Remember the listener's tempo for the file with this content fingerprint (at ``path``;
        another correction recorded for that path, of older content, is replaced)."""
        with self._write() as conn:
            conn.execute("DELETE FROM corrections WHERE path=? AND fingerprint!=?", (_key(path), fp))
            conn.execute("INSERT OR REPLACE INTO corrections (fingerprint, path, bpm, updated_at) "
                         "VALUES (?, ?, ?, ?)", (fp, _key(path), float(bpm), time.time()))

    def delete_correction(self, fp: str | None, path: str) -> int:
        """Forget the corrections of this content or this path; the number removed."""
        with self._write() as conn:
            return conn.execute("DELETE FROM corrections WHERE fingerprint=? OR path=?",
                                (fp, _key(path))).rowcount

    def rekey_correction(self, old_fp: str, new_fp: str, path: str) -> None:
        """The file's content changed on purpose (a tag was written): its correction follows."""
        if old_fp == new_fp or not self._has_corrections_table():
            return
        with self._write() as conn:
            conn.execute("UPDATE OR REPLACE corrections SET fingerprint=?, path=? WHERE fingerprint=?",
                         (new_fp, _key(path), old_fp))

    def paths_with_fingerprint(self, fp: str) -> list[str]:
        """Paths whose analysis (of any version) has this content fingerprint, newest first."""
        rows = self._query("SELECT path FROM tracks WHERE fingerprint=? GROUP BY path "
                           "ORDER BY MAX(updated_at) DESC, path", (fp,))
        return [r[0] for r in rows]

    def stored_fingerprint(self, path: str, settings: AnalysisSettings | None = None) -> str | None:
        """The content fingerprint stored with this path's analysis, if any."""
        settings = settings or AnalysisSettings()
        rows = self._query("SELECT fingerprint FROM tracks WHERE path=? AND analyzer_version=? AND "
                           "settings_hash=?", (_key(path), ANALYZER_VERSION, settings.settings_hash()))
        return rows[0][0] if rows else None

    # -- maintenance --------------------------------------------------------------------------

    def info(self) -> CacheInfo:
        tracks = self._query("SELECT COUNT(*) FROM tracks")[0][0]
        failures = self._query("SELECT COUNT(*) FROM failures")[0][0]
        versions = tuple(self._query("SELECT analyzer_version, settings_hash, COUNT(*) FROM tracks "
                                     "GROUP BY analyzer_version, settings_hash "
                                     "ORDER BY analyzer_version, settings_hash"))
        size = 0
        if self.path != ":memory:":
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(OSError):
                    size += os.path.getsize(self.path + suffix)
        return CacheInfo(path=self.path, size_bytes=size, tracks=tracks, failures=failures,
                         versions=versions)

    def prune(self) -> PruneResult:
        """Drop rows of files that no longer exist, and rows of other analyzer versions
        (they can never be used again). Rows of other settings of this version are kept."""
        old = 0
        missing = 0
        with self._write("prune") as conn:
            for table in ("tracks", "failures"):
                old += conn.execute(f"DELETE FROM {table} WHERE analyzer_version != ?",
                                    (ANALYZER_VERSION,)).rowcount
                paths = [r[0] for r in conn.execute(f"SELECT DISTINCT path FROM {table}")]
                gone = [(p,) for p in paths if not _exists(p)]
                for p in gone:
                    missing += conn.execute(f"DELETE FROM {table} WHERE path=?", p).rowcount
        return PruneResult(missing=missing, old_version=old)

    def integrity_ok(self) -> bool:
        """SQLite's own consistency check (used by tests and ``cache info``)."""
        return self._query("PRAGMA integrity_check")[0][0] == "ok"


@dataclass(frozen=True)
class StoredCounts:
    """Rows in a cache database: analyses, failure records and the listener's corrections."""

    analyses: int
    failures: int
    corrections: int


@dataclass(frozen=True)
class ClearResult:
    """What :func:`clear` did to the database at ``path``.

    Counts are None where the file could not be read. ``corrections_lost`` is None when the
    file was unusable and its corrections could not be read (whether it held any is unknown).
    ``unusable`` says why the file could not be used as a cache (then it was moved to
    ``set_aside``, not deleted). True when there was a database to clear (False: none existed).
    """

    path: str
    existed: bool = True
    analyses: int | None = None
    failures: int | None = None
    corrections_kept: int = 0
    corrections_lost: int | None = 0
    unusable: str | None = None
    set_aside: str | None = None

    def __bool__(self) -> bool:
        return self.existed


#: What an unusable database file is renamed to by ``clear`` (``<db>.unusable-<UTC time>``).
UNUSABLE_SUFFIX = ".unusable-"


def stored_counts(path: str | os.PathLike | None = None) -> StoredCounts | None:
    """How many analyses, failure records and corrections the database holds, read without
    changing (or creating) anything; None when it does not exist or cannot be read as a cache
    (damaged, another program's database or locked): what a confirmation prompt can say."""
    path = _clear_path(path)
    if not os.path.isfile(path):
        return None

    def read(conn, tables):
        if not {"meta", "tracks", "failures"} <= tables:
            return None
        count = (lambda table: conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
        return StoredCounts(analyses=count("tracks"), failures=count("failures"),
                            corrections=count("corrections") if "corrections" in tables else 0)

    return _peek(path, read)


def clear(path: str | os.PathLike | None = None, *, keep_corrections: bool = True) -> ClearResult:
    """Delete every stored analysis (and failure record); keep the listener's corrections.

    With ``keep_corrections=False`` the database file is deleted whole (with its WAL, SHM and
    lock files), corrections included. Refuses (:class:`CacheBusyError`) while a scan is
    writing to it; raises CacheError, having changed nothing, when the file or its folder
    cannot be written.

    Crash safety. A usable database is cleared in place, in one SQLite transaction, and then
    compacted (``VACUUM``): a crash leaves either the old or the cleared state, never one
    without the corrections, and a ``tempo fix`` running at the same time (it takes no writer
    lock) writes into the same file, not into one about to be replaced. A file that cannot be
    used as a cache (damaged, not a database, another tempo version's or another program's
    database) is never deleted: it is renamed to ``<db>.unusable-<UTC time>`` (its WAL file
    along), and the corrections that can still be read from it go into a fresh database put in
    its place with ``os.replace``; the result says how many, and when none could be read.
    """
    path = _clear_path(path)
    if os.path.isdir(path):
        raise CacheError("is a folder, not a database file", path=path)
    if not os.path.exists(path):
        return ClearResult(path=path, existed=False)
    holder = Cache.__new__(Cache)  # lock only: do not open (the file may be corrupt)
    holder.path, holder._lock_fd, holder._conn = path, None, None
    holder.acquire_writer()
    try:
        if not keep_corrections:
            counts = stored_counts(path)
            _remove_database(path)
            if counts is None:
                return ClearResult(path=path, corrections_lost=None)
            return ClearResult(path=path, analyses=counts.analyses, failures=counts.failures,
                               corrections_lost=counts.corrections)
        return _clear_keeping_corrections(path)
    finally:
        holder.release_writer()
        if not os.path.exists(path):  # the lock belongs to a database that is gone
            with contextlib.suppress(OSError):
                os.remove(holder.lock_path)


def _clear_path(path: str | os.PathLike | None) -> str:
    return default_db_path() if path is None else os.path.abspath(os.path.expanduser(os.fspath(path)))


def _connect_read_only(path: str) -> sqlite3.Connection:
    from urllib.parse import quote

    return sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S,
                           isolation_level=None, check_same_thread=False)


def _peek(path: str, read):
    """``read(connection, table names)`` on a read-only connection to ``path``: None when the
    file cannot be opened or read as an SQLite database."""
    try:
        conn = _connect_read_only(path)
    except sqlite3.Error:
        return None
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return read(conn, tables)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def _remove_database(path: str) -> None:
    for suffix in ("-wal", "-shm", ""):
        try:
            os.remove(path + suffix)
        except FileNotFoundError:
            pass
        except OSError as err:
            raise CacheError(f"cannot delete {path + suffix} ({err.strerror or err})", path=path,
                             hint="check the folder's permissions") from None


def _clear_keeping_corrections(path: str) -> ClearResult:
    """The in-place clear of a usable database (the caller holds the writer lock); a file that
    turns out unusable goes to :func:`_set_aside`."""
    try:
        cache = Cache(path)
    except CacheUnusableError as err:
        return _set_aside(path, err.message)
    analyses = failures = None
    try:
        with cache._write("clear") as conn:
            has_corrections = bool(conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='corrections'").fetchone())
            analyses = conn.execute("SELECT COUNT(*) FROM tracks").fetchone()[0]
            failures = conn.execute("SELECT COUNT(*) FROM failures").fetchone()[0]
            kept = conn.execute("SELECT COUNT(*) FROM corrections").fetchone()[0] if has_corrections else 0
            conn.execute("DELETE FROM tracks")
            conn.execute("DELETE FROM failures")
        # Give the space back. Rewriting every page left also proves the file sound ("fixes a
        # corrupt cache file"): damage that opening did not show surfaces here.
        try:
            conn.execute("VACUUM")
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # (TRUNCATE would wait for readers)
        except sqlite3.OperationalError:
            pass  # busy or no room to rewrite: cleared all the same, only not compacted
        except sqlite3.Error as err:
            raise cache._error(err, "clear") from None
    except CacheUnusableError as err:
        cache.close()
        return replace(_set_aside(path, err.message), analyses=analyses, failures=failures)
    finally:
        cache.close()
    return ClearResult(path=path, analyses=analyses, failures=failures, corrections_kept=kept)


def _read_corrections(path: str) -> tuple[list[tuple], int] | None:
    """The corrections still readable from an unusable database, as rows (fingerprint, path,
    bpm, updated_at), and the number of rows that cannot be used. ([], 0) when it has none, or
    is not a tempo cache at all (another program's rows are not taken for ours); None when they
    cannot be read."""
    rows = _peek(path, lambda conn, tables: (
        conn.execute("SELECT fingerprint, path, bpm, updated_at FROM corrections").fetchall()
        if {"meta", "corrections"} <= tables else []))
    if rows is None:
        return None
    good = [(fp, p, float(bpm), float(at)) for fp, p, bpm, at in rows
            if isinstance(fp, str) and isinstance(p, str) and isinstance(bpm, (int, float))
            and isinstance(at, (int, float))]
    return good, len(rows) - len(good)


def _set_aside(path: str, reason: str) -> ClearResult:
    """Rename an unusable database to ``<db>.unusable-<time>`` and put a fresh one holding the
    corrections still readable from it in its place. Each step leaves the old file whole (or
    whole under the new name) until the fresh one replaces it, so a crash loses nothing."""
    readable = _read_corrections(path)
    rows = readable[0] if readable else []
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    aside = path + UNUSABLE_SUFFIX + stamp
    n = 1
    while any(os.path.lexists(aside + s) for s in ("", "-wal")):
        n += 1
        aside = f"{path}{UNUSABLE_SUFFIX}{stamp}-{n}"
    tmp = None
    try:
        if rows:
            tmp = _fresh_database(path, rows)
            try:  # a second name for the old file: it stays whole at one name or the other
                os.link(path, aside)
            except OSError:
                shutil.copy2(path, aside)
        if os.path.exists(path + "-wal"):  # its journal goes with it (a fresh file must not
            os.replace(path + "-wal", aside + "-wal")  # find an old journal beside it)
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + "-shm")
        if tmp is not None:
            os.replace(tmp, path)
            tmp = None
            _fsync_folder(path)
        else:
            os.replace(path, aside)
    except OSError as err:
        raise CacheError(f"cannot set the unusable cache file aside ({err.strerror or err})",
                         path=path, hint="check the folder's permissions and free space") from None
    finally:
        if tmp is not None:
            _remove_database(tmp)
    return ClearResult(path=path, corrections_kept=len(rows),
                       corrections_lost=None if readable is None else readable[1], unusable=reason,
                       set_aside=aside)


def _fresh_database(path: str, rows: list[tuple]) -> str:
    """A new database with the current schema holding these corrections, in a temp file in
    ``path``'s folder (one file, fsynced: no WAL beside it); its name."""
    tmp = f"{path}.clear-{os.getpid()}.tmp"
    _remove_database(tmp)
    try:
        fresh = Cache(tmp)  # creates the schema
        try:
            with fresh._write("clear") as conn:
                conn.executemany("INSERT OR REPLACE INTO corrections (fingerprint, path, bpm, updated_at) "
                                 "VALUES (?, ?, ?, ?)", rows)
            try:
                fresh._conn.execute("PRAGMA journal_mode=DELETE")  # folds the WAL into the file
            except sqlite3.Error as err:
                raise fresh._error(err, "clear") from None
        finally:
            fresh.close()
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(CacheError):
            _remove_database(tmp)
        raise
    return tmp


def _fsync_folder(path: str) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@functools.lru_cache(maxsize=64)
def _settings_key(settings: AnalysisSettings) -> str:
    """``settings.settings_hash()``, remembered: it is part of every lookup and write, and
    hashing a JSON dump each time cost ~0.3 ms per file on a 100,000-file scan."""
    return settings.settings_hash()


def _key(text: str) -> str:
    """Text SQLite can store. A file name that is not valid UTF-8 (Python keeps its bytes as
    surrogate escapes, which SQLite refuses) is stored with backslash escapes instead."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _unkey(key: str) -> str | None:
    """The file name a :func:`_key` stands for when it holds backslash escapes of bytes that
    are not UTF-8 (``\\xff``), else None. (A name whose text really contains such an escape
    reads both ways; callers try both.)"""
    if "\\x" not in key:
        return None
    raw = re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]),
                 key.encode("utf-8", "surrogateescape"))
    return os.fsdecode(raw)


def _exists(key: str) -> bool:
    """Whether the file a stored path key names exists (also for names that are not UTF-8).
    Rows of URLs (object storage) are kept: asking the store about each would be slow."""
    if is_url(key) or os.path.exists(key):
        return True
    name = _unkey(key)
    return name is not None and os.path.exists(name)


def _decode(data: str, *, path: str) -> TrackAnalysis | None:
    """The stored analysis, or None (a miss: analysed again) if the row cannot be read back,
    e.g. written by a development version with another result shape but the same version."""
    try:
        analysis = TrackAnalysis.from_dict(json.loads(data))
    except (ValueError, KeyError, TypeError):
        return None
    if analysis.path == path or _key(analysis.path) == path:  # the JSON keeps the real name
        return analysis
    return replace(analysis, path=path)
