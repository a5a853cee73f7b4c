"""Analysing on a Dask cluster: the executor behind ``--scheduler``.

The client (the ``tempo scan`` process) lists the files, asks the cache, and hands the rest to
:class:`DaskExecutor`, which sends them to the cluster's workers in *batches* (a million files
are not a million tasks) with back-pressure (at most ``max_pending`` batches in flight, so the
client never holds more than that many pending results), and yields each batch's results as
it finishes; the library commits them to the cache at once.

On a worker, each thread keeps one analysis child process for the whole scan (a
:class:`~tempo.executors.ProcessExecutor` of one, fed file by file), so the per-file time
limit, the crash and out-of-memory handling and the messages are those of a local scan, and a
decoder that hangs or crashes costs one file, not the batch or the Dask worker. The analysis
code is imported once per worker: a worker plugin starts the child processes' forkserver with
the analysis modules preloaded.

Faults: a worker killed mid-batch loses its batch's results, which never reached the client;
Dask runs the batch again on another worker, and the client sees each batch's result once,
so no file is counted twice. After ``distributed.scheduler.allowed-failures`` such deaths the
batch's files fail as transient "crash" (retried on the next run). The scheduler gone: the
scan stops with a TempoError; what finished is in the cache and a rerun resumes.

Requires the ``cluster`` extra (``dask[distributed]``); workers need the same tempo installed
(the client checks ``ANALYZER_VERSION`` on every batch) and must see the same paths (a
shared filesystem) or read URLs (:mod:`tempo.sources`).
"""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import os
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator

from .errors import TempoError
from .executors import DEFAULT_TIMEOUT_S, WARM_UP_MODULES, ProcessExecutor, default_jobs
from .models import ANALYZER_VERSION, FileFailure
from .sources import CLUSTER_EXTRA

try:  # the plugin's base class; a missing extra is reported by DaskExecutor()
    from distributed.diagnostics.plugin import WorkerPlugin as _PluginBase
except ImportError:  # pragma: no cover - exercised by a subprocess-free test of _require
    _PluginBase = object

#: Environment variable naming the scheduler (the ``--scheduler`` option wins over it).
SCHEDULER_ENV = "TEMPO_SCHEDULER"
#: ``--scheduler local``: start a LocalCluster in this process for the scan.
LOCAL = "local"
#: Seconds of work a batch aims at: long enough that per-task overhead (a few ms) vanishes,
#: short enough that results stream back and the last batches balance across workers.
TARGET_BATCH_S = 1.0
#: Files per batch at most (when files take no time, e.g. the overhead benchmark's no-op).
MAX_BATCH = 1000
#: Batches in flight per worker thread: one running, one queued behind it (no idle gap).
PENDING_PER_THREAD = 2
#: Seconds to reach the scheduler (also how long a client that lost it tries to reconnect
#: before the scan stops), and to wait for its first worker.
CONNECT_TIMEOUT_S = 30.0
WORKER_WAIT_S = 120.0
#: Messages per connection the client (and a local cluster's scheduler) keeps for debugging.
LOW_LEVEL_LOG_LENGTH = 10
#: Seconds between refreshing the number of worker threads (workers may come and go).
SLOTS_REFRESH_S = 5.0


def require_cluster_extra() -> None:
    """Raise a TempoError naming the extra to install when Dask's distributed is missing
    (checked without importing it, so options stay cheap to build)."""
    import importlib.util

    try:
        found = importlib.util.find_spec("distributed") is not None
    except (ImportError, ValueError):  # ValueError: sys.modules["distributed"] is None
        found = False
    if not found:
        _require()


def _require():
    """The ``distributed`` module, or a TempoError saying what to install."""
    try:
        import distributed
    except ImportError:
        raise TempoError("--scheduler needs Dask's distributed scheduler, which is not installed",
                         hint=CLUSTER_EXTRA) from None
    return distributed


# -- worker side ---------------------------------------------------------------------------------

class _Portable:
    """A task function shipped as cloudpickle bytes, so that functions plain pickle cannot
    carry (a benchmark's no-op defined in ``__main__``) reach the analysis child too."""

    def __init__(self, blob: bytes):
        self.blob = blob
        self._fn = None

    def __getstate__(self):
        return {"blob": self.blob, "_fn": None}

    def __call__(self, path: str):
        if self._fn is None:
            import cloudpickle

            self._fn = cloudpickle.loads(self.blob)
        return self._fn(path)


def _task(blob: bytes):
    """The task function for the analysis child: as itself when plain pickle carries it (the
    scan's task always), else wrapped in :class:`_Portable`."""
    import pickle

    import cloudpickle

    fn = cloudpickle.loads(blob)
    try:
        pickle.dumps(fn)
    except Exception:  # noqa: BLE001 - pickle raises several types for unpicklable things
        return _Portable(blob)
    return fn


class _Runner:
    """One analysis child process, kept for a worker thread's batches: a ProcessExecutor of
    one, fed path by path through a queue (its run() pulls items lazily)."""

    def __init__(self, blob: bytes, timeout_s: float):
        # A Dask nanny starts its worker as a daemonic process, which multiprocessing forbids to
        # have children (they could outlive it). Ours cannot: each child ends itself within a
        # second of its parent's death (tempo.executors._exit_with_parent).
        multiprocessing.current_process()._config["daemon"] = False
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.executor = ProcessExecutor(1, timeout_s=timeout_s)
        self.results = self.executor.run(_task(blob), iter(self.queue.get, None))

    def analyse(self, path: str):
        self.queue.put(path)
        got, outcome = next(self.results)
        if got != path:  # pragma: no cover - would be a bug in the feeding protocol
            raise RuntimeError(f"analysis child answered for {got!r}, asked {path!r}")
        return outcome

    def close(self) -> None:
        self.queue.put(None)
        for _ in self.results:  # pragma: no cover - nothing is in flight between batches
            pass
        self.executor.close()


_local = threading.local()


def _runner(blob: bytes, key: str, timeout_s: float) -> _Runner:
    current = getattr(_local, "runner", None)
    if current is not None and _local.key == (key, timeout_s):
        return current
    if current is not None:  # another scan's settings: a fresh child
        current.close()
    _local.runner, _local.key = _Runner(blob, timeout_s), (key, timeout_s)
    return _local.runner


def _run_batch(blob: bytes, key: str, paths: list[str], timeout_s: float):
    """The Dask task: analyse ``paths`` one by one in this thread's child process.

    Returns (this worker's ANALYZER_VERSION, seconds taken, [(path, outcome), ...]). Every
    per-file problem (unreadable, undecodable, timeout, crash) is that file's FileFailure.
    """
    t0 = time.perf_counter()
    runner = _runner(blob, key, timeout_s)
    outcomes = [(path, runner.analyse(path)) for path in paths]
    return ANALYZER_VERSION, time.perf_counter() - t0, outcomes


#: Variables a Dask nanny sets for its worker (``distributed.nanny.pre-spawn-environ``) that
#: slow the analysis down: MALLOC_TRIM_THRESHOLD_ turns off glibc's adaptive mmap threshold, so
#: every large NumPy array is mapped and unmapped afresh (measured: twice the CPU per song).
_MALLOC_VARS = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")


@contextlib.contextmanager
def _without_malloc_tuning():
    """The analysis processes' server starts (and its children run) with glibc's own malloc
    settings; numpy's thread pools are sized by ``_thread_env`` the same way."""
    saved = {var: os.environ.pop(var) for var in _MALLOC_VARS if var in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


class WarmUp(_PluginBase):
    """Worker plugin: start the analysis children's forkserver with the analysis code
    preloaded, when the worker joins (not when its first file arrives)."""

    name = "tempo-warm-up"

    def setup(self, worker=None):
        from multiprocessing import forkserver

        from .executors import START_METHOD, _thread_env

        if START_METHOD == "forkserver":
            multiprocessing.get_context("forkserver").set_forkserver_preload(
                ["tempo.executors", *WARM_UP_MODULES])
            with _thread_env(1), _without_malloc_tuning():
                forkserver.ensure_running()


# -- client side ---------------------------------------------------------------------------------

class DaskExecutor:
    """Runs the scan's task on a Dask cluster (see the module docstring).

    ``scheduler``: ``tcp://HOST:PORT`` of a running scheduler, or ``"local"`` for a
    LocalCluster of ``jobs`` one-thread workers started for this scan. ``timeout_s``: the time
    limit per file, enforced on the worker. ``max_pending``: batches in flight (default
    ``PENDING_PER_THREAD`` per worker thread). ``batch_size``: fixed files per batch (default:
    adaptive, aiming at ``TARGET_BATCH_S`` seconds of work per batch).
    """

    def __init__(self, scheduler: str, *, jobs: int | None = None,
                 timeout_s: float = DEFAULT_TIMEOUT_S, max_pending: int | None = None,
                 batch_size: int | None = None):
        self.distributed = _require()
        if not scheduler:
            raise TempoError("no scheduler given", hint=f"--scheduler tcp://HOST:8786 or {LOCAL}")
        if scheduler != LOCAL and "://" not in scheduler:
            scheduler = "tcp://" + scheduler
        if max_pending is not None and max_pending < 1:
            raise ValueError(f"max_pending={max_pending} must be at least 1")
        if batch_size is not None and batch_size < 1:
            raise ValueError(f"batch_size={batch_size} must be at least 1")
        self.scheduler = scheduler
        self.jobs = jobs
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self.batch_size = batch_size
        self.client = None
        self.cluster = None
        #: What the last run did: batches sent, the most files in flight, batch sizes used.
        self.stats = {"batches": 0, "max_in_flight_files": 0, "max_batch": 0}

    # -- connection ------------------------------------------------------------------------------

    def _connect(self):
        d = self.distributed
        if self.client is not None:
            return self.client
        import dask

        # Dask keeps the last N messages of each connection for debugging (default 1,000):
        # here each is a batch of paths, so the client's memory would grow with the scan.
        dask.config.set({"distributed.admin.low-level-log-length": LOW_LEVEL_LOG_LENGTH})
        try:
            if self.scheduler == LOCAL:
                import logging

                self.cluster = d.LocalCluster(n_workers=self.jobs or default_jobs(), threads_per_worker=1,
                                              processes=True, dashboard_address=None,
                                              silence_logs=logging.ERROR)
                self.client = d.Client(self.cluster, set_as_default=False)
            else:
                self.client = d.Client(self.scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as err:
            self.close()
            raise TempoError(f"cannot reach the Dask scheduler at {self.scheduler} ({err})",
                             hint=f"start one with `dask scheduler`, or check --scheduler / {SCHEDULER_ENV}"
                             ) from None
        try:
            self.client.register_plugin(WarmUp(), name=WarmUp.name)
            self.client.wait_for_workers(1, timeout=WORKER_WAIT_S)
        except (OSError, TimeoutError) as err:
            self.close()
            raise TempoError(f"no Dask worker joined the scheduler at {self.scheduler} within "
                             f"{WORKER_WAIT_S:g} s ({err})",
                             hint="start workers with `dask worker " + self.scheduler + "`") from None
        return self.client

    def _slots(self) -> int:
        try:
            return max(1, sum(self.client.nthreads().values()))
        except (OSError, TimeoutError):
            return 1

    def _lost(self) -> TempoError:
        return TempoError(f"lost the scheduler at {self.scheduler}; finished files are in the cache; "
                          "run again to resume", hint="check that the scheduler is running")

    # -- running ---------------------------------------------------------------------------------

    def run(self, fn: Callable[[str], object], items: Iterable[str]) -> Iterator[tuple[str, object]]:
        import cloudpickle

        d = self.distributed
        source = iter(items)  # pulled lazily, batch by batch (see tempo.library._ScanRun)
        first = next(source, None)
        if first is None:
            return  # nothing to analyse: no cluster is contacted
        client = self._connect()
        blob = cloudpickle.dumps(fn)
        key = hashlib.sha1(blob).hexdigest()
        head = [first]
        in_flight: dict = {}
        done = d.as_completed(with_results=False, loop=client.loop)
        size = self.batch_size or 1  # adaptive: the first results tell how long a file takes
        slots, slots_at = self._slots(), time.monotonic()
        self.stats = {"batches": 0, "max_in_flight_files": 0, "max_batch": 0}

        def take(n: int) -> list[str]:
            batch = head[:n]
            del head[:n]
            for item in source:
                if len(batch) >= n:
                    head.append(item)
                    break
                batch.append(item)
            return batch

        def fill() -> None:
            nonlocal slots, slots_at
            if time.monotonic() - slots_at > SLOTS_REFRESH_S:
                slots, slots_at = self._slots(), time.monotonic()
            limit = self.max_pending or PENDING_PER_THREAD * slots
            while len(in_flight) < limit:
                batch = take(size)
                if not batch:
                    return
                future = client.submit(_run_batch, blob, key, batch, self.timeout_s, pure=False,
                                        key=f"tempo-batch-{uuid.uuid4().hex}")
                in_flight[future] = batch
                done.add(future)
                self.stats["batches"] += 1
                self.stats["max_batch"] = max(self.stats["max_batch"], len(batch))
            files = sum(len(b) for b in in_flight.values())
            self.stats["max_in_flight_files"] = max(self.stats["max_in_flight_files"], files)

        try:
            fill()
            for future in done:
                batch = in_flight.pop(future)
                elapsed, outcomes = self._outcomes(future, batch)
                if self.batch_size is None and elapsed > 0:
                    per_file = max(elapsed / len(batch), 1e-6)
                    size = max(1, min(MAX_BATCH, int(TARGET_BATCH_S / per_file)))
                future.release()
                yield from outcomes
                fill()
        finally:
            if in_flight and self.client is not None:
                try:
                    self.client.cancel(list(in_flight), force=True)
                except Exception:  # noqa: BLE001 - the scheduler may be gone: nothing to cancel
                    pass

    def _outcomes(self, future, batch: list[str]):
        """(seconds on the worker, [(path, outcome)]) of a finished batch; a batch that could
        not run becomes transient failures of its files; a lost scheduler a TempoError."""
        d = self.distributed
        from concurrent.futures import CancelledError

        try:
            version, elapsed, outcomes = future.result()
        except TempoError:
            raise  # a worker that cannot analyse at all (its child cannot start): as locally
        except d.KilledWorker as err:
            message = (f"the Dask workers running this file's batch died ({err}); probably out "
                       "of memory or killed; tried again on the next run")
            return 0.0, [(p, FileFailure(path=p, kind="crash", message=message)) for p in batch]
        except CancelledError:
            raise self._lost() from None
        except Exception as err:  # noqa: BLE001 - e.g. a worker without tempo (ModuleNotFoundError)
            if isinstance(err, (OSError, TimeoutError)) and (
                    self.client is None or self.client.status != "running"):
                raise self._lost() from None
            raise TempoError(f"a Dask worker could not run the analysis: {type(err).__name__}: {err}",
                             hint="install the same tempo (and its cluster extra) on every worker"
                             ) from None
        if version != ANALYZER_VERSION:
            raise TempoError(f"a Dask worker runs tempo analyzer version {version}, this client "
                             f"{ANALYZER_VERSION}", hint="install the same tempo on the workers")
        return elapsed, outcomes

    def close(self) -> None:
        """Disconnect (and stop the LocalCluster this executor started)."""
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if client is not None:
            try:
                client.close(timeout=10)
            except Exception:  # noqa: BLE001 - closing after the scheduler died
                pass
        if cluster is not None:
            try:
                cluster.close(timeout=10)
            except Exception:  # noqa: BLE001
                pass


def scheduler_from_env(value: str | None = None) -> str | None:
    """``value``, else ``$TEMPO_SCHEDULER``, else None."""
    return value or os.environ.get(SCHEDULER_ENV) or None
