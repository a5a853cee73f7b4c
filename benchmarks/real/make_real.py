#!/usr/bin/env python3
"""Build a corpus of real produced recordings from Debian's free game-music packages.

Usage (from the project root, with the project venv; the packages installed with apt)::

    python benchmarks/real/make_real.py                       # ~/tempo-corpus/real, 60 s excerpts
    python benchmarks/real/make_real.py --out DIR --excerpt 0 # symlinks to the whole files
    python benchmarks/real/make_real.py --list                # show what would be taken

For every package of ``PACKAGES`` that is installed, the files that ``dpkg -L`` lists under the
package's music folder (``MUSIC_DIRS``; or the audio members of a zip archive, ``ARCHIVES``) with an audio extension (ogg, opus, mp3, flac, wav; never
MIDI or module files) are taken when they decode and last at least ``MIN_DURATION_S``. Byte-identical
files are taken once (the first in sorted order). Each becomes ``<package>__<name>.flac`` in the
corpus folder: ``--excerpt`` seconds (default 60) from ``--offset`` seconds in (default 30, past
most intros; from 0 when the track is shorter than offset + excerpt), decoded with soundfile and
written as 16-bit FLAC, channels and sample rate unchanged; with ``--excerpt 0`` a symlink to the
whole file instead. Excerpts keep labelling affordable: madmom's RNN ensemble needs ~15 s of CPU
per minute of audio here. ``tracks.json`` maps each corpus file to its package (the benchmark's "genre"), source
path, source duration, excerpt length and SHA-1. The labels come from ``label_real.py`` (run with
the reference estimators' venv). Output is deterministic: sorted inputs, names from paths.
Standard library + numpy + soundfile only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

import soundfile as sf

MIN_DURATION_S = 30.0
EXCERPT_S = 60.0
OFFSET_S = 30.0
AUDIO_EXT = (".ogg", ".oga", ".opus", ".mp3", ".flac", ".wav")
DEFAULT_OUT = os.path.expanduser("~/tempo-corpus/real")

# package -> regex a path must match to be music (its music folder); checked by hand: the other
# audio files of these packages are sound effects, voices or ambience
MUSIC_DIRS = {
    "colobot-common-sounds": r"/colobot/music/",
    "drascula-music": r"/drascula/audio/",  # de/en/es/fr/it hold the same tracks again
    "extremetuxracer-data": r"/etr/music/",
    "flare-game": r"/flare/mods/[^/]+/music/",
    "frozen-bubble-data": r"/frozen-bubble/snd/(frozen-mainzik|introzik)",
    "hedgewars-data": r"/hedgewars/Data/Music/",
    "hyperrogue-music": r"/hyperrogue/music/",
    "lincity-ng-data": r"/lincity-ng/music/",
    "planetblupi-music-ogg": r"/planetblupi/music/",
    "pushover-data": r"/pushover/themes/",
    "singularity-music": r"/singularity/music/",
    "supertux-data": r"/supertux2/music/",
    "warzone2100-music": r"/warzone2100/music/",
    "wesnoth-1.16-music": r"/wesnoth/[^/]+/data/core/music/",
    "xmoto-data": r"/xmoto/Textures/Musics/",
    # added on 2 December 2026 (second batch)
    "fillets-ng-data": r"/fillets-ng/music/",
    "freedroidrpg-data": r"/freedroidrpg/data/sound/music/",
    "lugaru-data": r"/lugaru/Sounds/Music",
    "megaglest-data": r"/megaglest/(data/core/menu|techs/[^/]+/factions/[^/]+)/music/",
    "naev-data": r"/naev/dat/snd/music/",
    "openclonk-data": r"/openclonk/Music\.ocg/",
    # its *_fast / *_f files are the same pieces sped up for a race's last lap
    "supertuxkart-data": r"/supertuxkart/data/music/(?!.*_f(ast)?\.ogg$)",
    "warmux-data": r"/warmux/music/",
    "widelands-data": r"/widelands/data/music/",
    # third batch (a held-out set: never trained on)
    "caveexpress-data": r"/caveexpress/sounds/music-",
    "gigalomania-data": r"/gigalomania/music/",
    "redeclipse-data": r"/redeclipse/data/sounds/music/",
    "unknown-horizons": r"/unknown-horizons/content/audio/music/",
    # fourth batch (held out, added on 2 December 2026 for version 11); Kenta Cho's shooters
    # keep their music beside the sound effects, which are WAV
    "a7xpg-data": r"/a7xpg/sounds/bgm\d\.ogg$",
    "asc-music": r"/asc/music/",
    "btanks-data": r"/btanks/data/tunes/",
    "gunroar-data": r"/gunroar/sounds/musics/",
    "mu-cade-data": r"/mu-cade/sounds/musics/",
    "parsec47-data": r"/parsec47/sounds/ptn\d\.ogg$",
    "pink-pony-data": r"/pink-pony/music/",
    "raincat-data": r"/raincat/data/music/",
    "rrootage-data": r"/rrootage/sounds/stg_",
    "starfighter-data": r"/starfighter/music/",
    "titanion-data": r"/titanion/sounds/musics/",
    "torus-trooper-data": r"/torus-trooper/sounds/musics/",
    "tumiki-fighters-data": r"/tumiki-fighters/sounds/[^/]+\.ogg$",
    "zaz-data": r"/games/zaz/mus\d\.ogg$",
}
# package -> (archive, member regex): music kept inside a zip archive (Quake-style .pk3). Its
# members are extracted once to ARCHIVE_CACHE and taken like the files of a music folder.
ARCHIVES = {
    "nexuiz-music": (r"/nexuiz/data/music\.pk3$", r"^sound/cdtracks/"),
    "ufoai-music": (r"/ufoai/base/0music\.pk3$", r"^music/"),
}
ARCHIVE_CACHE = os.path.expanduser("~/.cache/tempo-bench/real-archives")
PACKAGES = sorted(set(MUSIC_DIRS) | set(ARCHIVES))


def package_files(pkg):
    """Paths ``dpkg -L`` lists for an installed package, sorted; [] if it is not installed."""
    res = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=False)
    if res.returncode != 0:
        return []
    return sorted(p for p in res.stdout.splitlines() if os.path.isfile(p))


def music_files(pkg):
    if pkg in ARCHIVES:
        return archive_music(pkg)
    rx = re.compile(MUSIC_DIRS[pkg])
    return [p for p in package_files(pkg) if p.lower().endswith(AUDIO_EXT) and rx.search(p)]


def archive_music(pkg):
    """The audio members of ``pkg``'s archive under its member regex, extracted (once, by temp
    file and rename) to ``ARCHIVE_CACHE/<pkg>/``; sorted paths of the extracted files."""
    arx, mrx = (re.compile(r) for r in ARCHIVES[pkg])
    out = []
    for archive in (p for p in package_files(pkg) if arx.search(p)):
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = info.filename
                if not (name.lower().endswith(AUDIO_EXT) and mrx.search(name)) or ".." in name:
                    continue
                dst = os.path.join(ARCHIVE_CACHE, pkg, name)
                if not (os.path.exists(dst) and os.path.getsize(dst) == info.file_size):
                    os.makedirs(os.path.dirname(dst), exist_ok=True)
                    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(dst))
                    with os.fdopen(fd, "wb") as fh, z.open(info) as src:
                        shutil.copyfileobj(src, fh)
                    os.replace(tmp, dst)
                out.append(dst)
    return sorted(out)


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_")


def corpus_names(pkg, paths, ext):
    """``<package>__<basename><ext>``; a basename that repeats in the package gets its folder."""
    stems = [os.path.splitext(os.path.basename(p))[0] for p in paths]
    names = []
    for p, stem in zip(paths, stems):
        if stems.count(stem) > 1:
            stem = os.path.basename(os.path.dirname(p)) + "_" + stem
        names.append(f"{pkg}__{safe_name(stem)}{ext}")
    return names


def sha1(path):
    h = hashlib.sha1()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def probe(path):
    """Source duration in seconds from the header (Ogg: the last granule); None if unreadable."""
    try:
        return sf.info(path).duration
    except (RuntimeError, sf.LibsndfileError, OSError, ValueError):
        return None


def excerpt_start(duration, seconds, offset):
    """Where the excerpt starts: ``offset`` in (past an intro) when the track is long enough."""
    return offset if duration >= seconds + offset else 0.0


def write_excerpt(src, dst, start, seconds):
    """``seconds`` of ``src`` from ``start`` as 16-bit FLAC at ``dst`` (temp file + rename)."""
    with sf.SoundFile(src) as f:
        f.seek(int(round(start * f.samplerate)))
        data = f.read(frames=int(round(seconds * f.samplerate)), dtype="float32", always_2d=True)
        sr = f.samplerate
    fd, tmp = tempfile.mkstemp(suffix=".flac", dir=os.path.dirname(dst))
    os.close(fd)
    try:
        sf.write(tmp, data, sr, format="FLAC", subtype="PCM_16")
        os.replace(tmp, dst)
    except BaseException:
        os.unlink(tmp)
        raise
    return len(data) / sr


def write_json(path, obj):
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


def collect(packages, log=print):
    """[(package, source path, corpus name, duration)] of the music to take, sorted."""
    out, seen = [], set()
    for pkg in packages:
        paths = music_files(pkg)
        if not paths:
            log(f"{pkg}: not installed or no music files, skipped")
            continue
        ext = ".flac"
        kept = 0
        for path, name in zip(paths, corpus_names(pkg, paths, ext)):
            digest = sha1(path)
            if digest in seen:
                continue
            seen.add(digest)
            dur = probe(path)
            if dur is None:
                log(f"{path}: undecodable, skipped")
                continue
            if dur < MIN_DURATION_S:
                continue
            out.append((pkg, path, name, dur, digest))
            kept += 1
        log(f"{pkg}: {kept} of {len(paths)} music files kept")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT, help="corpus folder (default %(default)s)")
    ap.add_argument("--packages", nargs="+", default=PACKAGES, choices=PACKAGES, metavar="PKG",
                    help="Debian packages to take music from (default: all known)")
    ap.add_argument("--excerpt", type=float, default=EXCERPT_S,
                    help="seconds from the start written as FLAC; 0 = symlink the whole file "
                         "(default %(default)s)")
    ap.add_argument("--offset", type=float, default=OFFSET_S,
                    help="excerpts start this many seconds in when the track lasts at least "
                         "offset + excerpt, else at 0 (default %(default)s)")
    ap.add_argument("--list", action="store_true", help="only list what would be taken")
    args = ap.parse_args(argv)

    items = collect(args.packages, log=lambda m: print(m, file=sys.stderr))
    if args.list:
        for pkg, path, name, dur, _ in items:
            print(f"{dur:7.1f}  {name}  <- {path}")
        print(f"{len(items)} tracks", file=sys.stderr)
        return
    os.makedirs(args.out, exist_ok=True)
    tracks = {}
    for pkg, path, name, dur, digest in items:
        start = 0.0
        if args.excerpt > 0:
            dst = os.path.join(args.out, name)
            start = excerpt_start(dur, args.excerpt, args.offset)
            try:
                ex = write_excerpt(path, dst, start, args.excerpt)
            except (RuntimeError, sf.LibsndfileError, OSError, ValueError) as err:
                print(f"{path}: undecodable ({err}), skipped", file=sys.stderr)
                continue
            if ex < MIN_DURATION_S:
                os.unlink(dst)
                print(f"{path}: only {ex:.1f} s decode, skipped", file=sys.stderr)
                continue
        else:
            name = os.path.splitext(name)[0] + os.path.splitext(path)[1].lower()
            dst = os.path.join(args.out, name)
            if os.path.lexists(dst):
                os.unlink(dst)
            os.symlink(path, dst)
            ex = dur
        tracks[name] = dict(package=pkg, source=path, source_duration=round(dur, 2),
                            duration=round(ex, 2), excerpt_start_s=start, sha1=digest)
    write_json(os.path.join(args.out, "tracks.json"), tracks)
    per = {}
    for t in tracks.values():
        per[t["package"]] = per.get(t["package"], 0) + 1
    for pkg in sorted(per):
        print(f"{pkg:24s} {per[pkg]:4d}")
    print(f"{'total':24s} {len(tracks):4d}  -> {args.out}")


if __name__ == "__main__":
    main()
