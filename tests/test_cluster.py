"""Scanning on a Dask cluster and from object storage, with real processes on 127.0.0.1.

One module-scoped cluster (a ``dask scheduler`` and two one-thread ``dask worker`` processes)
and one local S3 server (moto's server mode) serve every test here; both are always stopped.
The reference is a plain local scan of fixtures/library in the same run.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed")
pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

import cloudpickle  # noqa: E402

from tempo.cli import cli  # noqa: E402
from tempo.dask_executor import DaskExecutor  # noqa: E402
from tempo.errors import TempoError  # noqa: E402
from tempo.executors import _analyze_task  # noqa: E402
from tempo.library import Library, LibraryOptions  # noqa: E402
from tempo.models import FileFailure, TrackAnalysis  # noqa: E402

cloudpickle.register_pickle_by_value(sys.modules[__name__])

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = os.path.join(REPO, "fixtures", "library")
START_TIMEOUT_S = 60.0
#: The files of the fault tests (a third of the library keeps them quick).
SUBSET = [os.path.join(LIBRARY, n) for n in sorted(os.listdir(LIBRARY))
          if not n.endswith(".json")][::3]
BUCKET = "music"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Cluster:
    """A scheduler and workers started as `dask` command-line processes."""

    def __init__(self, folder: str, env: dict):
        self.folder, self.env = folder, env
        self.port = _free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.procs: dict[str, subprocess.Popen] = {}
        self._start("scheduler", ["scheduler", "--host", "127.0.0.1", "--port", str(self.port),
                                  "--no-dashboard"])

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(os.path.join(self.folder, f"{name}.log"), "wb")
        proc = subprocess.Popen([sys.executable, "-m", "dask", *args], stdout=log,
                                stderr=subprocess.STDOUT, env=self.env, cwd=self.folder)
        log.close()
        self.procs[name] = proc
        return proc

    def add_worker(self, name: str) -> subprocess.Popen:
        # --no-nanny: the pid we kill is the worker itself, not a nanny that would restart it
        return self._start(name, ["worker", self.address, "--name", name, "--nthreads", "1",
                                  "--no-nanny", "--no-dashboard", "--host", "127.0.0.1",
                                  "--memory-limit", "0"])

    def wait_for(self, names: set[str]) -> None:
        with distributed.Client(self.address, timeout=START_TIMEOUT_S, set_as_default=False) as c:
            deadline = time.monotonic() + START_TIMEOUT_S
            while time.monotonic() < deadline:
                have = {w["name"] for w in c.scheduler_info()["workers"].values()}
                if names <= have:
                    return
                time.sleep(0.2)
        raise RuntimeError(f"workers {names} did not join; logs in {self.folder}")

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.procs):
            proc = self.procs.pop(key, None)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(10)


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A local S3 server with five files of fixtures/library under s3://music/lib/ and
    one object that is not audio; yields (endpoint, {url: local file})."""
    import boto3

    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
             "AWS_DEFAULT_REGION": "us-east-1"}
    try:
        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="testing",
                              aws_secret_access_key="testing", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        objects = {}
        names = [n for n in sorted(os.listdir(LIBRARY)) if not n.endswith(".json")]
        for i, name in enumerate(names[::7]):  # slow to fast
            key = f"lib/{'sub/' if i == 1 else ''}{name}"
            client.upload_file(os.path.join(LIBRARY, name), BUCKET, key)
            objects[f"s3://{BUCKET}/{key}"] = os.path.join(LIBRARY, name)
        client.put_object(Bucket=BUCKET, Key="lib/junk.mp3", Body=b"not audio at all" * 100)
        client.put_object(Bucket=BUCKET, Key="lib/notes.txt", Body=b"not listed")
        yield endpoint, creds, objects
    finally:
        server.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3):
    endpoint, creds, _ = s3
    folder = str(tmp_path_factory.mktemp("dask"))
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""),
               FSSPEC_S3_ENDPOINT_URL=endpoint, DASK_DISTRIBUTED__WORKER__DAEMON="True", **creds)
    c = _Cluster(folder, env)
    try:
        c.add_worker("w1")
        c.add_worker("w2")
        c.wait_for({"w1", "w2"})
        yield c
    finally:
        c.stop()


@pytest.fixture()
def s3_client_env(s3, monkeypatch):
    """This process reads the local S3 server too (the client lists; InProcess analyses)."""
    import fsspec

    endpoint, creds, _ = s3
    for k, v in creds.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})
    fsspec.AbstractFileSystem.clear_instance_cache()
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """fixtures/library scanned locally: {path: analysis as a dict}."""
    db = str(tmp_path_factory.mktemp("ref") / "ref.sqlite")
    result = Library(LibraryOptions(db_path=db, jobs=2)).scan([LIBRARY])
    assert result.found == 30 and not result.failures
    return {t.path: t.to_dict() for t in result.tracks}


def _cached(db: str) -> dict:
    """Every analysis in a cache, as dicts by path (a warm scan: nothing is analysed)."""
    from tempo.cache import Cache

    with Cache.open(db) as cache:
        return {t.path: t.to_dict() for t in cache.tracks()}


# -- scanning through the cluster ---------------------------------------------------------------

def test_scan_on_the_cluster_gives_the_local_analyses(cluster, reference, runner, tmp_path):
    db = str(tmp_path / "c.sqlite")
    res = runner.invoke(cli, ["scan", LIBRARY, "--db", db, "--scheduler", cluster.address, "--json"])
    assert res.exit_code == 0, res.output
    summary = __import__("json").loads(res.stdout.strip().splitlines()[-1])
    assert (summary["found"], summary["analysed"], summary["failed"]) == (30, 30, 0)
    assert _cached(db) == reference
    # a rerun is answered by the cache: the cluster is not even contacted
    res = runner.invoke(cli, ["scan", LIBRARY, "--db", db, "--scheduler", "tcp://127.0.0.1:1",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert '"reused": 30' in res.stdout


def test_scheduler_from_the_environment(cluster, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("TEMPO_SCHEDULER", cluster.address)
    one = sorted(os.listdir(LIBRARY))[0]
    db = str(tmp_path / "e.sqlite")
    res = runner.invoke(cli, ["scan", os.path.join(LIBRARY, one), "--db", db, "--json"])
    assert res.exit_code == 0, res.output
    assert '"analysed": 1' in res.stdout


def test_batches_with_back_pressure_each_item_once(cluster):
    """500 cheap items: far fewer tasks than items, the generator is never drained ahead of
    the results by more than the in-flight limit, and every item comes back once."""
    pulled, yielded, ahead = [0], [0], []

    def items():
        for i in range(500):
            pulled[0] += 1
            ahead.append(pulled[0] - yielded[0])
            yield f"item-{i:03d}"

    ex = DaskExecutor(cluster.address, max_pending=3, batch_size=20)
    try:
        seen = []
        for item, outcome in ex.run(str.upper, items()):
            assert outcome == item.upper()
            seen.append(item)
            yielded[0] += 1
    finally:
        ex.close()
    assert sorted(seen) == [f"item-{i:03d}" for i in range(500)]
    assert ex.stats["batches"] == 25
    assert max(ahead) <= 3 * 20 + 1
    assert ex.stats["max_in_flight_files"] <= 3 * 20


def _slow_on(path: str) -> str:  # (this module is pickled by value: workers cannot import it)
    if "slow" in path:
        time.sleep(30)
    return "ok:" + path


def test_worker_side_time_limit_fails_one_file_not_the_batch(cluster):
    ex = DaskExecutor(cluster.address, timeout_s=1.0, batch_size=3)
    t0 = time.monotonic()
    try:
        out = dict(ex.run(_slow_on, ["a", "slow", "b"]))
    finally:
        ex.close()
    assert time.monotonic() - t0 < 25
    assert out["a"] == "ok:a" and out["b"] == "ok:b"
    assert isinstance(out["slow"], FileFailure) and out["slow"].kind == "timeout"
    assert out["slow"].transient


def test_unreadable_file_is_one_failure_in_its_batch(cluster, tmp_path):
    names = sorted(os.listdir(LIBRARY))[:2]
    locked = tmp_path / "locked.mp3"
    shutil.copy(os.path.join(LIBRARY, names[0]), locked)
    paths = [os.path.join(LIBRARY, names[1]), str(tmp_path / "gone.mp3"), str(locked)]
    os.chmod(locked, 0)
    ex = DaskExecutor(cluster.address, batch_size=3)
    try:
        out = dict(ex.run(_analyze_task, paths))
    finally:
        ex.close()
        os.chmod(locked, 0o644)
    assert isinstance(out[paths[0]], TrackAnalysis)
    assert isinstance(out[paths[1]], FileFailure) and out[paths[1]].kind == "decode"
    if os.geteuid() != 0:  # root reads any file
        assert isinstance(out[paths[2]], FileFailure)


def test_worker_killed_mid_scan_every_file_once(cluster, reference, tmp_path):
    """A third worker is SIGKILLed while it runs a batch: its batch runs again elsewhere, and
    the scan still reports and stores each file exactly once."""
    victim = cluster.add_worker("victim")
    cluster.wait_for({"w1", "w2", "victim"})
    killed = threading.Event()
    stop = threading.Event()

    def assassin():
        with distributed.Client(cluster.address, set_as_default=False) as c:
            while not stop.is_set():
                busy = c.processing()
                addr = next((a for a, w in c.scheduler_info()["workers"].items()
                             if w["name"] == "victim"), None)
                if addr and busy.get(addr):
                    time.sleep(0.3)  # well into its batch
                    os.kill(victim.pid, signal.SIGKILL)
                    killed.set()
                    return
                time.sleep(0.05)

    db = str(tmp_path / "k.sqlite")
    seen = []
    thread = threading.Thread(target=assassin, daemon=True)
    thread.start()
    try:
        ex = DaskExecutor(cluster.address, batch_size=2)
        lib = Library(LibraryOptions(db_path=db), executor=ex,
                      progress=lambda done, total, path: seen.append(path))
        result = lib.scan(SUBSET)
    finally:
        stop.set()
        thread.join(10)
        cluster.stop("victim")
    assert killed.is_set(), "the victim never ran a batch: the test proved nothing"
    n = len(SUBSET)
    assert (result.found, result.analysed, result.failed) == (n, n, 0), result.failures
    assert len(seen) == n and len(set(seen)) == n
    assert [t.path for t in result.tracks] == sorted(SUBSET)
    assert _cached(db) == {p: reference[p] for p in SUBSET}


def test_lost_scheduler_stops_with_a_clear_message(tmp_path, reference, monkeypatch):
    """The scheduler killed mid-scan: TempoError naming it; what finished is in the cache."""
    import tempo.dask_executor as de

    monkeypatch.setattr(de, "CONNECT_TIMEOUT_S", 3.0)  # how long the client tries to reconnect
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    c = _Cluster(str(tmp_path), env)
    db = str(tmp_path / "l.sqlite")
    done = []

    def progress(n, total, path):
        done.append(path)
        if len(done) == 2:
            c.procs["scheduler"].kill()

    try:
        c.add_worker("solo")
        c.wait_for({"solo"})
        import dask

        with dask.config.set({"distributed.comm.timeouts.connect": "3s"}):
            ex = DaskExecutor(c.address, batch_size=1, max_pending=1)
            with pytest.raises(TempoError, match="lost the scheduler at tcp://127.0.0.1.*run again "
                                                 "to resume"):
                Library(LibraryOptions(db_path=db), executor=ex, progress=progress).scan(SUBSET)
    finally:
        c.stop()
    cached = _cached(db)
    assert len(cached) >= 2 and all(cached[p] == reference[p] for p in cached)


# -- object storage -------------------------------------------------------------------------------

def test_s3_scan_on_the_cluster_and_playlist_of_urls(cluster, s3, s3_client_env, runner,
                                                    tmp_path, reference):
    _, _, objects = s3
    db = str(tmp_path / "s3.sqlite")
    res = runner.invoke(cli, ["scan", f"s3://{BUCKET}/lib", "--db", db, "--scheduler",
                              cluster.address, "--json"])
    assert res.exit_code == 0, res.output
    assert "junk.mp3: decode" in res.stderr
    cached = _cached(db)
    assert sorted(cached) == sorted(objects)  # notes.txt is not audio: not listed
    for url, local in objects.items():
        mine, ref = dict(cached[url]), dict(reference[local])
        assert mine.pop("path") == url and ref.pop("path") == local
        mine.pop("mtime_ns"), ref.pop("mtime_ns")
        assert mine == ref  # same bytes, same analysis
    # the playlist is made from the cache (no analysis) and lists the URLs as they are
    out = tmp_path / "pl" / "run.m3u8"
    res = runner.invoke(cli, ["playlist", f"s3://{BUCKET}/lib", "--db", db, "-o", str(out),
                              "--minutes", "1", "-q"])
    assert res.exit_code == 0, res.output
    lines = [x for x in out.read_text().splitlines() if x and not x.startswith("#")]
    assert lines and set(lines) <= set(objects)


def test_s3_object_key_changes_with_its_content(s3, s3_client_env, tmp_path):
    """The cache key of an object is its size and ETag: overwrite it and it is analysed again."""
    import boto3

    endpoint, _, objects = s3
    url, local = sorted(objects.items())[0]
    key = url.split(f"s3://{BUCKET}/", 1)[1]
    db = str(tmp_path / "k.sqlite")
    from tempo.executors import InProcessExecutor

    lib = Library(LibraryOptions(db_path=db), executor=InProcessExecutor())
    first = lib.scan([url])
    assert (first.analysed, first.reused) == (1, 0)
    assert (lib.scan([url]).analysed, lib.scan([url]).reused) == (0, 1)
    other = sorted(os.listdir(LIBRARY))[10]
    s3c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    s3c.upload_file(os.path.join(LIBRARY, other), BUCKET, key)
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # s3fs caches listings within an instance
    try:
        again = lib.scan([url])
        assert (again.analysed, again.reused) == (1, 0)
        assert again.tracks[0].tags.title != first.tracks[0].tags.title
    finally:
        s3c.upload_file(local, BUCKET, key)


# -- without the extra ----------------------------------------------------------------------------

def test_scheduler_without_the_cluster_extra_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['distributed'] = None\n"
            "from tempo.cli import main; sys.argv = ['tempo', 'scan', sys.argv[1], '--scheduler', "
            "'local', '--db', sys.argv[2]]; main()")
    proc = subprocess.run([sys.executable, "-c", code, LIBRARY, str(tmp_path / "x.sqlite")],
                          capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONPATH=REPO))
    assert proc.returncode == 1, proc.stderr
    assert "pip install 'tempo-montage[cluster]'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unreachable_scheduler_is_a_clear_error(runner, tmp_path, monkeypatch):
    import tempo.dask_executor as de

    monkeypatch.setattr(de, "CONNECT_TIMEOUT_S", 2.0)
    one = os.path.join(LIBRARY, sorted(os.listdir(LIBRARY))[0])
    address = f"tcp://127.0.0.1:{_free_port()}"
    res = runner.invoke(cli, ["scan", one, "--db", str(tmp_path / "u.sqlite"), "--scheduler", address])
    assert res.exit_code == 1
    assert f"cannot reach the Dask scheduler at {address}" in res.output


def test_file_urls_are_listed_and_analysed_like_their_files(tmp_path, reference):
    """file:// URLs: listed through fsspec (hidden and non-audio names left out), keyed by
    the file's mtime (no ETag), analysed from a copy, reported under the URL."""
    from tempo.executors import InProcessExecutor

    names = [n for n in sorted(os.listdir(LIBRARY)) if not n.endswith(".json")][:2]
    (tmp_path / "m" / "sub").mkdir(parents=True)
    shutil.copy2(os.path.join(LIBRARY, names[0]), tmp_path / "m" / names[0])
    shutil.copy2(os.path.join(LIBRARY, names[1]), tmp_path / "m" / "sub" / names[1])
    (tmp_path / "m" / ".hidden.mp3").write_bytes(b"x")
    (tmp_path / "m" / "notes.txt").write_bytes(b"x")
    url = "file://" + str(tmp_path / "m")
    lib = Library(LibraryOptions(db_path=str(tmp_path / "f.sqlite")), executor=InProcessExecutor())
    result = lib.scan([url])
    assert [t.path for t in result.tracks] == [f"{url}/{names[0]}", f"{url}/sub/{names[1]}"]
    for t, name in zip(result.tracks, names):
        mine, ref = t.to_dict(), dict(reference[os.path.join(LIBRARY, name)])
        for d in (mine, ref):
            d.pop("path"), d.pop("mtime_ns")  # fsspec gives float seconds: ns are rounded
        assert mine == ref
    again = lib.scan([url])
    assert (again.reused, again.analysed) == (2, 0)
    os.utime(tmp_path / "m" / names[0], ns=(1, 10**18))
    assert lib.scan([url]).analysed == 1
