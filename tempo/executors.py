"""Executors: run the analysis task over many paths, in this process or in worker processes.

An executor is anything with ``run(fn, paths) -> iterator of (path, outcome)`` and ``close()``;
the scan (:mod:`tempo.library`) sees only that, so a local pool and a cluster are the same code
path. Outcomes are ``TrackAnalysis`` or ``FileFailure`` (see ``FileFailure.transient``).

This module imports no numpy: workers import the analysis code themselves.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import wait

from .errors import TempoError
from .models import AnalysisSettings, FileFailure, TrackAnalysis
from .sources import is_url

#: Seconds one file may take in a worker before the worker is replaced and the file failed.
DEFAULT_TIMEOUT_S = 120.0
#: Address space one worker process may use (MB). A worker with the analysis code loaded maps
#: about 500 MB (mostly libraries, little of it resident); analysing a 3-hour file adds about
#: 250 MB. A file whose decoding or analysis would need more (a corrupt header declaring absurd
#: sizes, a decoder bug) fails alone, as kind "memory", instead of swapping the machine to death.
DEFAULT_MEMORY_LIMIT_MB = 3072
#: Seconds a new worker may take to start (import numpy, scipy, ...) before the scan gives up.
WORKER_START_TIMEOUT_S = 300.0
#: Start method of worker processes. Linux: "forkserver", with the analysis modules imported
#: once in the server, so a worker (also one replacing a timed-out worker) starts in ~0.05 s
#: instead of ~1 s, and inherits no threads, locks or sqlite handles from the scanning process.
#: Elsewhere "spawn" (fork after numpy/Accelerate is unsafe on macOS; Windows has no fork).
START_METHOD = "forkserver" if sys.platform.startswith("linux") else "spawn"

# -- the task every executor runs --------------------------------------------------------------

def _analyze_task(path: str, settings: AnalysisSettings | None = None) -> TrackAnalysis | FileFailure:
    """Analyse one file; a bad file becomes a FileFailure instead of an exception.

    This is the process boundary of a batch: besides TempoError (bad input), an unexpected
    exception is also turned into a failure of this one file (kind "internal") so that one odd
    file cannot stop a scan of 100,000; its type and message are kept for a bug report.
    """
    from .analysis import analyze_file

    try:
        if is_url(path):
            return _analyze_url(path, settings)
        return analyze_file(path, settings=settings)
    except TempoError as err:
        return FileFailure(path=path, kind=err.kind, message=err.message)
    except (KeyboardInterrupt, SystemExit):
        raise
    except MemoryError:
        return FileFailure(path=path, kind="memory", message=(
            "ran out of memory while analysing this file; it is tried again on the next run"))
    except BaseException as err:  # noqa: BLE001 - see docstring
        return FileFailure(path=path, kind="internal",
                           message=f"unexpected {type(err).__name__}: {err} (please report this)")


def _analyze_url(url: str, settings: AnalysisSettings | None) -> TrackAnalysis:
    """Analyse the object at ``url`` from a temporary local copy (:func:`tempo.sources.local_copy`);
    the result names the URL and carries the object's cache key (size, ETag or mtime)."""
    from dataclasses import replace

    from .analysis import analyze_file
    from .sources import local_copy

    with local_copy(url) as (local, st):
        analysis = analyze_file(local, settings=settings)
    return replace(analysis, path=url, size=st.st_size, mtime_ns=st.st_mtime_ns)


#: Modules the analysis imports lazily; a worker imports them before its first file's clock
#: starts (about 0.5 s), so the per-file time limit measures analysis only. Best effort.
WARM_UP_MODULES = ("tempo.analysis", "tempo.features", "tempo.estimate", "tempo.loudness", "tempo.tags",
                   "scipy.signal", "scipy.ndimage", "soundfile", "soxr", "mutagen")


def _warm_up() -> None:
    """Import the analysis code once per worker."""
    import importlib

    for name in WARM_UP_MODULES:
        try:
            importlib.import_module(name)
        except ImportError:
            pass


def default_jobs() -> int:
    """Worker processes by default: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


#: Environment variables that size the thread pools of numeric libraries in a worker.
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


# -- executors ---------------------------------------------------------------------------------

class InProcessExecutor:
    """Runs tasks one by one in this process (no time limit). For tests and single files."""

    def run(self, fn: Callable[[str], object], items: Iterable[str]) -> Iterator[tuple[str, object]]:
        for item in items:
            yield item, fn(item)

    def close(self) -> None:
        pass


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: object
    ready: bool = False
    item: str | None = None
    started: float = 0.0
    spawned: float = field(default_factory=time.monotonic)
    log_path: str | None = None


def _exit_with_parent() -> None:
    """End this worker when the scan that started it is gone (even by ``kill -9``), also while
    it is stuck in a hung decoder."""
    import threading

    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="tempo-parent-watch", daemon=True).start()


def _capture_c_stderr(log_path: str | None) -> None:
    """Send what C decoders print on file descriptor 2 (mpg123's "Illegal Audio-MPEG-Header"
    notes on every damaged MP3, glibc's or ffmpeg's last words before an abort) to ``log_path``
    instead of the terminal, so it does not tear the parent's progress bar, and so that the
    parent can quote it when this process dies (see :func:`_c_last_words`). Python's own
    ``sys.stderr`` (tracebacks, warnings) keeps the real stderr. The log is emptied before each
    item (:func:`_reset_c_stderr`), so it only ever holds what the current file caused."""
    try:
        sys.stderr.flush()
        real = os.dup(2)
        target = os.open(log_path or os.devnull, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, 2)
        os.close(target)
        sys.stderr = open(real, "w", buffering=1, errors="backslashreplace")
    except (OSError, ValueError):
        pass


def _reset_c_stderr() -> None:
    try:
        os.ftruncate(2, 0)
        os.lseek(2, 0, os.SEEK_SET)
    except OSError:
        pass  # /dev/null, or no capture


#: Bytes of a dead worker's C stderr quoted in its failure message.
LAST_WORDS_BYTES = 400


def _c_last_words(log_path: str | None) -> str:
    """The last lines a dead worker's C libraries printed (empty when none), on one line."""
    if not log_path:
        return ""
    try:
        with open(log_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - LAST_WORDS_BYTES))
            text = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " / ".join(lines[-3:])


@contextlib.contextmanager
def _thread_env(threads: int) -> Iterator[None]:
    """Thread-pool sizes for numeric libraries, set only while a worker (or the forkserver that
    will fork workers) starts; variables the user set are left alone."""
    added = [var for var in _THREAD_VARS if var not in os.environ]
    for var in added:
        os.environ[var] = str(threads)
    try:
        yield
    finally:
        for var in added:
            os.environ.pop(var, None)


def _limit_memory(limit_mb: int | None) -> None:
    """Cap this process's address space at ``limit_mb`` (RLIMIT_AS): an allocation beyond it
    fails (numpy raises MemoryError) instead of the kernel killing the machine's biggest
    process. Best effort: not on Windows, never above an existing hard limit."""
    if not limit_mb:
        return
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = int(limit_mb) * 1024 * 1024
        if hard != resource.RLIM_INFINITY:
            want = min(want, hard)
        if soft == resource.RLIM_INFINITY or want < soft:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def _over_limit(result, limit_mb: int | None):
    """A "memory" failure under a limit says which limit, and how to raise it."""
    if limit_mb and isinstance(result, FileFailure) and result.kind == "memory":
        return FileFailure(path=result.path, kind="memory", message=(
            f"needed more memory than a worker may use ({limit_mb} MB; raise it with "
            "--memory-limit); tried again on the next run"))
    return result


def _worker_main(conn, fn, initializer, threads: int = 1, log_path: str | None = None,
                 memory_limit_mb: int | None = None) -> None:
    """Worker loop: receive a path, send back fn(path); stop on None or a closed pipe."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    for var in _THREAD_VARS:  # N workers x M BLAS threads would oversubscribe the CPUs
        os.environ.setdefault(var, str(threads))
    _exit_with_parent()
    _capture_c_stderr(log_path)
    if initializer is not None:
        initializer()
    _limit_memory(memory_limit_mb)
    conn.send(("ready", None))
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        _reset_c_stderr()
        result = _over_limit(fn(item), memory_limit_mb)
        try:
            conn.send(("done", result))
        except (BrokenPipeError, EOFError, OSError):
            return  # the scan is gone (killed): nobody to tell


def _death(code: int | None, last_words: str) -> tuple[str, str]:
    """(kind, message) for a worker that died with exit status ``code``."""
    import signal as signal_mod

    if code is not None and code < 0:
        try:
            name = signal_mod.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        how = f"killed by {name}"
    else:
        how = f"exit code {code}"
    if code == -signal_mod.SIGKILL:
        kind, why = "memory", "probably out of memory (the kernel's OOM killer sends SIGKILL)"
    else:
        kind, why = "crash", "a crash in a decoder or a library it uses"
    message = f"the analysis process died ({how}), {why}"
    if last_words:
        message += f"; it said: {last_words}"
    return kind, message + "; tried again on the next run"


class ProcessExecutor:
    """A pool of worker processes with a per-item time limit.

    Each worker gets one item at a time through its own pipe. A worker that exceeds
    ``timeout_s`` on an item is killed and replaced, and the item yields
    ``FileFailure(kind="timeout")``; a worker that dies yields ``FileFailure(kind="crash")``
    (``"memory"`` when it was killed by SIGKILL, which on Linux is the out-of-memory killer),
    quoting what its C libraries printed last. Each worker's address space is capped at
    ``memory_limit_mb`` (0 or None: no cap); a file that needs more fails as kind "memory".
    These kinds are transient: not cached, retried on the next run. Results come in completion
    order.
    """

    def __init__(self, jobs: int, *, timeout_s: float = DEFAULT_TIMEOUT_S,
                 initializer: Callable[[], None] | None = _warm_up, start_method: str = START_METHOD,
                 memory_limit_mb: int | None = DEFAULT_MEMORY_LIMIT_MB):
        if jobs < 1:
            raise ValueError(f"jobs={jobs} must be at least 1")
        if timeout_s <= 0:
            raise ValueError(f"timeout_s={timeout_s} must be positive")
        if memory_limit_mb is not None and memory_limit_mb < 0:
            raise ValueError(f"memory_limit_mb={memory_limit_mb} must be 0 (none) or more")
        self.jobs = jobs
        self.timeout_s = timeout_s
        self.memory_limit_mb = memory_limit_mb
        self.initializer = initializer
        self._ctx = multiprocessing.get_context(start_method)
        if start_method == "forkserver" and initializer is _warm_up:
            self._ctx.set_forkserver_preload(["tempo.executors", *WARM_UP_MODULES])
        self._workers: list[_Worker] = []
        self._log_dir: str | None = None

    def _log_path(self) -> str | None:
        """A fresh file for one worker's C stderr, in a private folder removed by close()."""
        import tempfile

        try:
            if self._log_dir is None:
                self._log_dir = tempfile.mkdtemp(prefix="tempo-workers-")
            fd, path = tempfile.mkstemp(dir=self._log_dir, suffix=".stderr")
            os.close(fd)
            return path
        except OSError:
            return None  # no temporary space: C messages go to /dev/null as before

    def _spawn(self, fn) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        # One thread per worker even with --jobs 1: the analysis gains nothing from a second
        # BLAS thread, which only spins (measured: 40 songs in 8.0 s with 1 thread, 11.1 s with 2).
        threads = 1
        log_path = self._log_path()
        proc = self._ctx.Process(target=_worker_main,
                                 args=(child_conn, fn, self.initializer, threads, log_path,
                                       self.memory_limit_mb),
                                 daemon=True, name="tempo-worker")
        with _thread_env(threads):  # a forkserver starting now keeps this environment
            proc.start()
        child_conn.close()
        return _Worker(process=proc, conn=parent_conn, log_path=log_path)

    def _kill(self, w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join(5)
        w.conn.close()
        if w.log_path:
            with contextlib.suppress(OSError):
                os.remove(w.log_path)

    def run(self, fn: Callable[[str], object], items: Iterable[str]) -> Iterator[tuple[str, object]]:
        source = iter(items)  # pulled lazily: the caller may decide per item (see _ScanRun)
        pending: deque = deque()

        def more() -> bool:
            if not pending:
                for item in source:
                    pending.append(item)
                    break
            return bool(pending)

        for item in source:  # enough to know how many workers to start
            pending.append(item)
            if len(pending) >= self.jobs:
                break
        if not pending:
            return
        self._workers = [self._spawn(fn) for _ in range(min(self.jobs, len(pending)))]
        try:
            while self._workers:
                for w in self._workers:
                    if w.ready and w.item is None and more():
                        w.item = pending.popleft()
                        w.started = time.monotonic()
                        w.conn.send(w.item)
                busy = [w for w in self._workers if w.item is not None or not w.ready]
                if not busy:
                    break
                now = time.monotonic()
                deadlines = [(w.started + self.timeout_s) if w.ready else (w.spawned + WORKER_START_TIMEOUT_S)
                             for w in busy]
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy],
                             timeout=max(0.0, min(deadlines) - now))
                now = time.monotonic()
                for w, deadline in zip(busy, deadlines):
                    message = None
                    if w.conn in ready or w.process.sentinel in ready:
                        try:
                            message = w.conn.recv() if w.conn.poll() else None
                        except (EOFError, OSError):
                            message = None
                        if message is not None:
                            kind, value = message
                            if kind == "ready":
                                w.ready = True
                            else:
                                item, w.item = w.item, None
                                yield item, value
                            continue
                        # the worker died (its pipe closed): wait for its exit status
                        w.process.join(5)
                        code = w.process.exitcode
                        failure = _death(code, _c_last_words(w.log_path))
                    elif now >= deadline:
                        failure = ("timeout", f"analysis took longer than {self.timeout_s:g} s; "
                                              "the file was skipped (raise the limit with --timeout)")
                    else:
                        continue
                    self._kill(w)
                    self._workers.remove(w)
                    if not w.ready:
                        why = "it took too long" if failure[0] == "timeout" else f"exit code {w.process.exitcode}"
                        raise TempoError(f"an analysis worker process could not start ({why})",
                                         hint="the lines above on stderr say why; check the installation "
                                              "with `python -c 'import tempo.analysis'`")
                    item, w.item = w.item, None
                    yield item, FileFailure(path=item, kind=failure[0], message=failure[1])
                    if more():
                        self._workers.append(self._spawn(fn))
                if all(w.item is None and w.ready for w in self._workers) and not more():
                    break
        finally:
            self.close()

    def close(self) -> None:
        """Stop the workers: a polite None, then kill whatever is still running (in flight)."""
        for w in self._workers:
            if w.item is None and w.ready:
                try:
                    w.conn.send(None)
                except OSError:
                    pass
        for w in self._workers:
            if w.item is None and w.ready:
                w.process.join(2)
            self._kill(w)
        self._workers = []
        if self._log_dir is not None:
            import shutil

            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = None
