#!/usr/bin/env python3
"""Which playlist entries do real players open? A compatibility table, measured.

Run by hand (not in CI); prints a Markdown table (docs/players.md holds the last one):

    python benchmarks/players.py                       # every player found on PATH
    python benchmarks/players.py --players mpv,vlc --formats m3u8 --json out.json

It writes tiny real audio files (0.2 s WAV) with awkward names into a temporary music root, has
tempo write a playlist for each format x path mode, and asks each player which entries it opened:

- **mpv**: ``mpv --ao=null --vo=null --end=0.02 PLAYLIST``; an entry opened when its
  ``Playing:`` line is followed by an audio stream.
- **VLC**: ``cvlc -vv -A dummy --play-and-exit PLAYLIST`` (under the user ``nobody`` when run as
  root: VLC refuses root); an entry opened when the log says ``successfully opened`` for its own
  file. A run stops at VLC's end marker or after 5 s of silence (VLC 3 can hang on exit after
  a misread entry made it open a folder).
- **MPD**: a real ``mpd`` on 127.0.0.1 (free port, temporary config, music_directory = the music
  root, null output), driven with ``mpc``. Two ways to hand it a playlist: a file in the music
  folder loaded by its path (``mpc load lists/x.m3u8``), and a *stored* playlist in its
  playlist_directory (``mpc load x``; MPD only stores ``.m3u``). An entry opened when it is in
  the queue afterwards (``mpc playlist``).

Path modes (see tempo.playlist): ``relative`` (to the playlist's folder), ``absolute``, ``uri``
(file:// URIs), ``base`` (relative to the music root: ``--base``). Every player run is bounded by
a timeout. The tests (tests/test_players.py) run a slice of this matrix.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unicodedata
from urllib.parse import unquote_to_bytes

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tempo.playlist import FORMATS, PlaylistEntry, write_playlist  # noqa: E402

#: Awkward file names, by the key the table uses.
NAMES = {
    "plain": "plain.wav",
    "space": "two words.wav",
    "#": "Track #1.wav",
    "?": "What?.wav",
    "%41": "a%41.wav",  # a literal percent sign followed by hex digits
    "&": "Rock & Roll.wav",
    "unicode": unicodedata.normalize("NFC", "Café Björk.wav"),
    "nfd": unicodedata.normalize("NFD", "Ça NFD.wav"),
    "latin1": os.fsdecode(b"caf\xe9 latin1.wav"),  # not valid UTF-8
    # last: when VLC misreads it, it opens the folder, plays all of it and may hang on exit
    "lead#": "#1 hit.wav",
}
MODES = ("relative", "absolute", "uri", "base")
PLAYERS = ("mpv", "vlc", "mpd-music", "mpd-stored")
ALBUM = "Album"
LISTS = "lists"
TIMEOUT_S = 30.0


# --- the music and the playlists ------------------------------------------------------------------

def make_music(root: str, names: dict[str, str] = NAMES, seconds: float = 0.2) -> dict[str, str]:
    """``root/music/Album/<name>`` for each name (0.2 s of a quiet tone); {key: path}."""
    import numpy as np
    import soundfile as sf

    folder = os.path.join(root, "music", ALBUM)
    os.makedirs(folder, exist_ok=True)
    sr = 22050
    t = np.arange(int(sr * seconds)) / sr
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype("float32")
    out = {}
    for key, name in names.items():
        path = os.path.join(folder, name)
        try:
            with open(os.fsencode(path), "wb") as fh:  # bytes: names that are not UTF-8 too
                sf.write(fh, tone, sr, format="WAV", subtype="PCM_16")
        except OSError:  # a file system that refuses the name
            continue
        out[key] = path
    return out


def write_case(root: str, files: dict[str, str], fmt: str, mode: str, *,
               stored: bool = False) -> str:
    """Have tempo write the playlist of ``files`` for one format x mode; return its path.
    ``stored``: into MPD's playlist_directory as ``NAME.m3u`` (what MPD stores)."""
    music = os.path.join(root, "music")
    if stored:
        dest = os.path.join(root, "playlists", f"{fmt}-{mode}.m3u")
    else:
        dest = os.path.join(music, LISTS, f"{mode}.{fmt}")
    entries = [PlaylistEntry(p, 0.2, key) for key, p in files.items()]
    if mode == "base":
        write_playlist(entries, dest, fmt=fmt, base=music)
    else:
        write_playlist(entries, dest, fmt=fmt, paths=mode)
    return dest


def _which(paths: set[str], files: dict[str, str]) -> list[str]:
    """Keys of ``files`` whose path is in ``paths`` (compared as the file system's bytes)."""
    norm = {os.fsencode(os.path.normpath(p)) for p in paths}
    return [k for k, p in files.items() if os.fsencode(os.path.normpath(p)) in norm]


def _uri_or_path(s: str, cwd: str) -> str:
    if s.startswith("file://"):
        return os.fsdecode(unquote_to_bytes(s[len("file://"):]))
    return os.path.join(cwd, s)


# --- mpv -------------------------------------------------------------------------------------------

def run_mpv(playlist: str, files: dict[str, str], timeout: float = TIMEOUT_S) -> list[str]:
    """Keys of the entries mpv opened (an audio stream after their ``Playing:`` line)."""
    cwd = os.path.dirname(playlist)
    cmd = ["mpv", "--no-config", "--ao=null", "--vo=null", "--idle=no", "--end=0.02",
           "--msg-level=all=error,cplayer=info", "--term-status-msg=", playlist]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout)
    opened, current = set(), None
    for line in os.fsdecode(proc.stdout + b"\n" + proc.stderr).splitlines():
        if line.startswith("Playing: "):
            current = _uri_or_path(line[len("Playing: "):], cwd)
        elif current is not None and line.lstrip().startswith("(+) Audio"):
            opened.add(current)
            current = None
    return _which(opened, files)


# --- VLC -------------------------------------------------------------------------------------------

def vlc_command() -> list[str] | None:
    """How to start cvlc here: as is, or under ``nobody`` when we are root (VLC refuses root)."""
    if not shutil.which("cvlc"):
        return None
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        runuser = shutil.which("runuser")
        return [runuser, "-u", "nobody", "--", "env"] if runuser else None
    return ["env"]


def _open_to_others(root: str) -> None:
    """VLC runs as another user: let it read the music and write a home folder."""
    for folder, dirs, names in os.walk(root):
        os.chmod(folder, 0o755)
        for n in names:
            os.chmod(os.path.join(folder, n), 0o644)
    home = os.path.join(root, "vlc-home")
    os.makedirs(home, exist_ok=True)
    os.chmod(home, 0o777)


def _run_until(cmd: list[str], marker: str, timeout: float, idle: float = 5.0, **kw) -> str:
    """Run ``cmd`` (its own process group) and return its output once it exits, or once a line
    holds ``marker``, or once it has been silent for ``idle`` seconds, or at ``timeout`` (then
    the group is killed: VLC 3 can hang on exit, silent, after it has opened a folder)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True, **kw)
    lines: list[bytes] = []
    last = [time.monotonic()]
    done = threading.Event()
    needle = marker.encode()

    def reader():
        for line in proc.stdout:
            lines.append(line)
            last[0] = time.monotonic()
            if needle in line:
                done.set()
        done.set()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    deadline = time.monotonic() + timeout
    while not done.wait(0.2):
        now = time.monotonic()
        if now > deadline or now - last[0] > idle:
            break
    try:
        proc.wait(timeout=1.0)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    t.join(timeout=2.0)
    return os.fsdecode(b"".join(lines))


def run_vlc(playlist: str, files: dict[str, str], timeout: float = TIMEOUT_S) -> list[str]:
    """Keys of the entries VLC opened: a playback input (not a preparse) logged ``successfully
    opened`` for the entry's own file. VLC names an M3U/PLS input by the playlist's title (the
    key) and an XSPF one by its file name; once it has opened a folder (a raw ``#`` cuts a path
    down to its folder, which VLC then plays whole) only inputs named by the key count."""
    prefix = vlc_command()
    if prefix is None:
        raise RuntimeError("cvlc is not available")
    root = os.path.dirname(os.path.dirname(os.path.dirname(playlist)))
    home = os.path.join(root, "vlc-home")
    cmd = prefix + [f"HOME={home}", "cvlc", "-vv", "--no-dbus", "-A", "dummy", "--no-video",
                    "--play-and-exit", "--no-loop", "--no-repeat", "--no-random", playlist]
    log = _run_until(cmd, "deleting item `Playlist'", timeout, cwd=home)
    current: dict[str, str] = {}
    opened, folder_seen = set(), False
    for m in re.finditer(r"^\[(\w+)\] main input debug: (?:Creating an input for '(.*)'"
                         r"|`(.+)' successfully opened)$", log, re.M):
        obj, title, mrl = m.groups()
        if title is not None:
            current[obj] = title
            continue
        path = _uri_or_path(mrl, "/")
        if mrl.endswith("/") or os.path.isdir(path):
            folder_seen = True
        for key in _which({path}, files):
            if current.get(obj) == key or not folder_seen:
                opened.add(key)
    return [k for k in files if k in opened]


# --- MPD -------------------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mpd:
    """A private MPD on 127.0.0.1 (free port) over ``root/music``, with a null output."""

    def __init__(self, root: str, timeout: float = TIMEOUT_S):
        self.root, self.timeout = root, timeout
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Mpd":
        os.makedirs(os.path.join(self.root, "playlists"), exist_ok=True)
        conf = os.path.join(self.root, "mpd.conf")
        with open(conf, "w", encoding="utf-8") as fh:
            fh.write(f'music_directory "{self.root}/music"\n'
                     f'playlist_directory "{self.root}/playlists"\n'
                     f'db_file "{self.root}/mpd.db"\n'
                     f'log_file "{self.root}/mpd.log"\n'
                     f'bind_to_address "127.0.0.1"\nport "{self.port}"\n'
                     'zeroconf_enabled "no"\nauto_update "no"\n'
                     'audio_output {\n  type "null"\n  name "null"\n}\n')
        self.proc = subprocess.Popen(["mpd", "--no-daemon", conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + self.timeout
        while True:
            with contextlib.suppress(OSError), socket.create_connection(
                    ("127.0.0.1", self.port), timeout=1):
                break
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"mpd did not start (see {self.root}/mpd.log)")
            time.sleep(0.05)
        self.mpc("update", "--wait")
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def mpc(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["mpc", "-q", "-p", str(self.port), *args], capture_output=True,
                              timeout=self.timeout)

    def load(self, name: str, files: dict[str, str]) -> list[str]:
        """Keys of the entries in MPD's queue after ``load name`` on an empty queue."""
        self.mpc("clear")
        self.mpc("load", name)
        out = self.mpc("playlist", "-f", "%file%").stdout
        music = os.path.join(self.root, "music")
        queued = {_uri_or_path(line, music) for line in os.fsdecode(out).splitlines() if line}
        return _which(queued, files)


# --- the matrix ------------------------------------------------------------------------------------

def available_players() -> list[str]:
    out = []
    if shutil.which("mpv"):
        out.append("mpv")
    if vlc_command():
        out.append("vlc")
    if shutil.which("mpd") and shutil.which("mpc"):
        out += ["mpd-music", "mpd-stored"]
    return out


def measure(root: str, *, players=PLAYERS, formats=FORMATS, modes=MODES,
            names: dict[str, str] = NAMES, timeout: float = TIMEOUT_S) -> dict:
    """{(player, fmt, mode): [keys opened]} plus "files": {key: path}. ``root`` is an empty
    folder readable by others (VLC runs as ``nobody`` under root)."""
    files = make_music(root, names)
    cases = {}
    for fmt in formats:
        for mode in modes:
            cases[fmt, mode] = write_case(root, files, fmt, mode)
            if fmt == "m3u" and "mpd-stored" in players:
                cases["stored", mode] = write_case(root, files, fmt, mode, stored=True)
    results: dict = {"files": files}
    if "vlc" in players:
        _open_to_others(root)
    for (fmt, mode), playlist in cases.items():
        if fmt == "stored":
            continue
        if "mpv" in players:
            results["mpv", fmt, mode] = run_mpv(playlist, files, timeout)
        if "vlc" in players:
            results["vlc", fmt, mode] = run_vlc(playlist, files, timeout)
    if "mpd-music" in players or "mpd-stored" in players:
        with Mpd(root, timeout) as mpd:
            for (fmt, mode), playlist in cases.items():
                if fmt != "stored" and "mpd-music" in players:
                    rel = os.path.relpath(playlist, os.path.join(root, "music"))
                    results["mpd-music", fmt, mode] = mpd.load(rel, files)
                elif fmt == "stored":
                    name = os.path.splitext(os.path.basename(playlist))[0]
                    results["mpd-stored", "m3u", mode] = mpd.load(name, files)
    return results


def cell(opened: list[str] | None, files: dict[str, str]) -> str:
    if opened is None:
        return "n/a"
    missed = [k for k in files if k not in opened]
    if not missed:
        return f"**all {len(files)}**"
    if not opened:
        return "none"
    return f"{len(opened)}/{len(files)} (not {', '.join(f'`{k}`' for k in missed)})"


def markdown(results: dict, *, players=PLAYERS, formats=FORMATS, modes=MODES) -> str:
    files = results["files"]
    header = {"mpv": "mpv", "vlc": "VLC", "mpd-music": "MPD, playlist in music folder",
              "mpd-stored": "MPD, stored playlist (.m3u)"}
    cols = [p for p in players if any(k[0] == p for k in results if isinstance(k, tuple))]
    lines = ["| format | paths | " + " | ".join(header[p] for p in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for fmt in formats:
        for mode in modes:
            cells = [cell(results.get((p, fmt, mode)), files) for p in cols]
            lines.append(f"| {fmt} | {mode} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def versions() -> dict[str, str]:
    """First line of each player's --version (mpc: its package, it has no --version)."""
    cmds = {"mpv": ["mpv", "--version"], "mpd": ["mpd", "--version"],
            "mpc": ["dpkg-query", "-W", "mpc"]}
    if vlc_command():
        cmds["vlc"] = vlc_command() + ["cvlc", "--version"]
    out = {}
    for name, cmd in cmds.items():
        if shutil.which(cmd[0]):
            with contextlib.suppress(OSError, subprocess.SubprocessError):
                res = subprocess.run(cmd, capture_output=True, timeout=10)
                first = os.fsdecode(res.stdout).strip().splitlines()
                if first:
                    out[name] = first[0].replace("\t", " ")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--players", default=",".join(PLAYERS))
    ap.add_argument("--formats", default=",".join(FORMATS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--names", default=",".join(NAMES), help="keys of NAMES")
    ap.add_argument("--timeout", type=float, default=TIMEOUT_S, help="seconds per player run")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temporary music folder")
    args = ap.parse_args(argv)
    found = available_players()
    players = [p for p in args.players.split(",") if p in found]
    missing = [p for p in args.players.split(",") if p not in found]
    if missing:
        print(f"not found here, left out: {', '.join(missing)}", file=sys.stderr)
    formats = args.formats.split(",")
    modes = args.modes.split(",")
    names = {k: NAMES[k] for k in args.names.split(",")}
    root = tempfile.mkdtemp(prefix="tempo-players-")
    os.chmod(root, 0o755)
    t0 = time.perf_counter()
    try:
        results = measure(root, players=players, formats=formats, modes=modes, names=names,
                          timeout=args.timeout)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    elapsed = time.perf_counter() - t0
    for name, v in versions().items():
        print(f"- {name}: {v}")
    print("- names: " + ", ".join(f"`{k}` = {os.fsencode(v)!r}"[:80] for k, v in names.items()))
    print(f"- measured in {elapsed:.1f} s\n")
    print(markdown(results, players=players, formats=formats, modes=modes))
    if args.json:
        rows = [{"player": k[0], "format": k[1], "paths": k[2], "opened": v}
                for k, v in results.items() if isinstance(k, tuple)]
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"names": list(names), "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
