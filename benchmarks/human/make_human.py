#!/usr/bin/env python3
"""Human-made songs: MIDI music written by people (Debian's game packages), rendered to audio.

Every other corpus of ours is composed by a program, and its rules of composition are the ones
our estimator was tuned beside. These songs were written by human composers for two free games:

- ``freedoom`` (Debian package ``freedoom``): 67 MIDI tracks in the WAD files (rock, metal,
  ambient, funk and jazz-like pieces), extracted from the ``D_*`` lumps;
- ``openmsx`` (package ``openttd-openmsx``): 31 MIDI tracks of OpenTTD's music set (ragtime,
  blues, jazz, swing, boogie, latin).

Each song's first ``--seconds`` (default 90) is rendered through FluidSynth or TiMidity++ with
one of the Debian General-MIDI sound sets (chosen from the file name, so re-runs are identical),
and encoded as FLAC, OGG or MP3.

The tempo a MIDI file writes is the quarter-note's, exact; the beat a listener taps may be
another level (a 2/2 march, a 6/8 jig, a ballad written in eighths). ``truth.json`` therefore
gives the file's quarter-note tempo as ``midi_bpm`` with its time signature, and the level is
settled by listening machines: ``benchmarks/real/label_real.py`` (the reference estimators'
consensus, as for the real recordings), then ``--settle`` keeps a song only when that consensus
lies at a metrical level of the MIDI tempo (x1/3 .. x3), and sets ``bpm`` to the MIDI tempo at
that level. Songs whose tempo moves by more than 6 % within the excerpt are skipped.

Usage (from the project root; needs fluidsynth, timidity, ffmpeg, mido and the Debian packages
``freedoom openttd-openmsx fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont``)::

    python benchmarks/human/make_human.py --out ~/tempo-corpus/human            # render
    /work/refvenv/bin/python benchmarks/real/label_real.py ~/tempo-corpus/human  # references
    python benchmarks/human/make_human.py --out ~/tempo-corpus/human --settle   # exact levels
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import numpy as np
import soundfile as sf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "styles"))
sys.path.insert(0, os.path.join(HERE, "..", ".."))

from make_styles import mc, render  # noqa: E402  (the style corpus's renderer and encoder)

from tempo.atomic import atomic_write_bytes  # noqa: E402

WADS = ("/usr/share/games/doom/freedoom1.wad", "/usr/share/games/doom/freedoom2.wad")
OPENMSX = "/usr/share/games/openttd/baseset/openmsx"
SF2, SF3 = "/usr/share/sounds/sf2", "/usr/share/sounds/sf3"
#: (renderer, sound set): picked by a hash of the song's name.
RENDERERS = [
    ("fluidsynth", f"{SF2}/FluidR3_GM.sf2"),
    ("fluidsynth", f"{SF3}/MuseScore_General.sf3"),
    ("fluidsynth", f"{SF2}/TimGM6mb.sf2"),
    ("timidity", "/etc/timidity/fluidr3_gm.cfg"),
]
FORMATS = [dict(codec="flac", sfmt="s16", ext="flac"), dict(codec="ogg", q=4, ext="ogg"),
           dict(codec="mp3", kbps=192, ext="mp3")]
#: A song whose tempo moves by more than this within the excerpt has no single truth: skipped.
MAX_SPREAD = 0.06


def write_json(path, obj):
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode())


def wad_midis(path):
    """[(name, MIDI bytes)] of a WAD's music lumps (``D_*`` starting with ``MThd``)."""
    with open(path, "rb") as fh:
        b = fh.read()
    _, n, off = struct.unpack("<4sii", b[:12])
    out = []
    for i in range(n):
        o, s, nm = struct.unpack("<ii8s", b[off + 16 * i: off + 16 * i + 16])
        nm = nm.rstrip(b"\0").decode("ascii", "replace")
        if nm.startswith("D_") and b[o:o + 4] == b"MThd":
            out.append((nm.lower(), b[o:o + s]))
    return out


def sources():
    """[(group, name, MIDI bytes)], sorted, duplicates (same bytes) dropped."""
    seen, out = set(), []
    for w in WADS:
        if os.path.exists(w):
            tag = os.path.splitext(os.path.basename(w))[0]
            out += [("freedoom", f"{tag}_{nm}", data) for nm, data in wad_midis(w)]
    for f in sorted(glob.glob(os.path.join(OPENMSX, "*.mid"))):
        with open(f, "rb") as fh:
            out.append(("openmsx", os.path.splitext(os.path.basename(f))[0], fh.read()))
    uniq = []
    for g, nm, data in sorted(out):
        h = zlib.crc32(data)
        if h not in seen:
            seen.add(h)
            uniq.append((g, nm, data))
    return uniq


def tempo_map(data, seconds):
    """(median quarter-note BPM over the first ``seconds``, (min, max), time signatures, song
    length in s) from a MIDI file's bytes. The median is over beats, not over events."""
    import mido

    m = mido.MidiFile(file=io.BytesIO(data))
    tpb = m.ticks_per_beat
    events, sigs = [], []
    for tr in m.tracks:
        t = 0
        for msg in tr:
            t += msg.time
            if msg.type == "set_tempo":
                events.append((t, msg.tempo))
            elif msg.type == "time_signature":
                sigs.append((t, f"{msg.numerator}/{msg.denominator}"))
    events.sort()
    if not events or events[0][0] > 0:
        events.insert(0, (0, 500000))
    # walk beat by beat: the tempo in force at each beat, until `seconds` have passed
    bpms, now, beat, k = [], 0.0, 0, 0
    length = m.length
    while now < min(seconds, length):
        tick = beat * tpb
        while k + 1 < len(events) and events[k + 1][0] <= tick:
            k += 1
        us = events[k][1]
        bpms.append(60e6 / us)
        now += us / 1e6
        beat += 1
    bpms = np.array(bpms) if bpms else np.array([60e6 / events[0][1]])
    return float(np.median(bpms)), (float(bpms.min()), float(bpms.max())), \
        sorted({s for _, s in sorted(sigs)[:4]}), float(length)


def truncated(data, seconds):
    """The MIDI file cut after ``seconds`` (every track's events past that tick dropped, an
    end-of-track kept), so that the renderer does not play the whole song for an excerpt."""
    import mido

    m = mido.MidiFile(file=io.BytesIO(data))
    limit = None
    t = 0.0
    tick = 0
    tempo = 500000
    for msg in mido.merge_tracks(m.tracks):
        t += mido.tick2second(msg.time, m.ticks_per_beat, tempo)
        tick += msg.time
        if msg.type == "set_tempo":
            tempo = msg.tempo
        if t > seconds:
            limit = tick
            break
    if limit is None:
        return data
    for i, tr in enumerate(m.tracks):
        new, now, last, sounding = mido.MidiTrack(), 0, 0, set()
        for msg in tr:
            now += msg.time
            if now > limit:
                break
            if msg.type != "end_of_track":
                new.append(msg)
                last = now
            if msg.type == "note_on" and msg.velocity > 0:
                sounding.add((msg.channel, msg.note))
            elif msg.type in ("note_on", "note_off"):
                sounding.discard((msg.channel, msg.note))
        # notes still sounding end at the cut (a held note would keep the renderer going)
        for k, (ch, note) in enumerate(sorted(sounding)):
            new.append(mido.Message("note_off", channel=ch, note=note, time=limit - last if k == 0 else 0))
        new.append(mido.MetaMessage("end_of_track", time=0))
        m.tracks[i] = new
    buf = io.BytesIO()
    m.save(file=buf)
    return buf.getvalue()


def make(group, name, data, out_dir, seconds):
    bpm, (lo, hi), sigs, length = tempo_map(data, seconds)
    info = dict(genre=group, package=group, midi_bpm=round(bpm, 4), bpm_min=round(lo, 3), bpm_max=round(hi, 3),
                time_signatures=sigs, midi_length=round(length, 1), source=name)
    if hi / lo - 1 > MAX_SPREAD:
        return None, dict(info, skipped=f"tempo moves {lo:.1f}-{hi:.1f} within the excerpt")
    if length < 20:
        return None, dict(info, skipped=f"only {length:.0f} s long")
    h = zlib.crc32(name.encode())
    renderer, sound = RENDERERS[h % len(RENDERERS)]
    fmt = FORMATS[(h // 7) % len(FORMATS)]
    tmp = tempfile.mkdtemp(prefix="human_")
    try:
        mid = os.path.join(tmp, "song.mid")
        with open(mid, "wb") as fh:
            fh.write(truncated(data, seconds + 3.0))
        wav = os.path.join(tmp, "render.wav")
        sr = 44100
        render(renderer, sound, mid, wav, sr, gain=0.6)
        x, sr = sf.read(wav, dtype="float32", always_2d=True)
        x = x[: int(seconds * sr)]
        # trim the renderer's leading silence; normalise the peak to -1 dBFS
        nz = np.flatnonzero(np.abs(x).max(axis=1) > 1e-4)
        if not len(nz):
            return None, dict(info, skipped="silent render")
        x = x[nz[0]:]
        x = x * (10 ** (-1 / 20) / max(float(np.abs(x).max()), 1e-9))
        fade = min(len(x), int(2.0 * sr))
        x[len(x) - fade:] *= np.linspace(1, 0, fade)[:, None]
        out = f"{group}_{name}.{fmt['ext']}"
        mc.encode(x, sr, os.path.join(out_dir, out), fmt, sr, 2, tmp)
        dur = len(x) / sr
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out, dict(info, duration=round(dur, 3), renderer=f"{renderer}:{os.path.basename(sound)}",
                     format=mc.fmt_label(fmt, sr, 2))


#: The metrical levels of the MIDI file's quarter note that a tapped beat may lie at.
LEVELS = (1 / 3, 1 / 2, 2 / 3, 1.0, 3 / 2, 2.0, 3.0)
TOL = 0.04


def settle(corpus):
    """Rewrite ``truth.json`` (written by ``benchmarks/real/label_real.py``) so that each song's
    ``bpm`` is the MIDI tempo at the level the reference estimators agree on: exact, where their
    mean is only close. A consensus at no metrical level of the MIDI tempo is dropped (moved to
    ``no_consensus.json`` with the reason): the file's tempo and the music disagree, or they do."""
    path = os.path.join(corpus, "truth.json")
    with open(path) as fh:
        truth = json.load(fh)
    with open(os.path.join(corpus, "tracks.json")) as fh:
        tracks = json.load(fh)
    nc_path = os.path.join(corpus, "no_consensus.json")
    no_cons = json.load(open(nc_path)) if os.path.exists(nc_path) else {}
    kept = {}
    for f, t in sorted(truth.items()):
        if "midi_bpm" in t:  # already settled
            kept[f] = t
            continue
        midi = tracks[f]["midi_bpm"]
        ratio = t["bpm"] / midi
        level = min(LEVELS, key=lambda r: abs(ratio / r - 1))
        info = {k: tracks[f][k] for k in ("midi_bpm", "time_signatures", "source", "renderer")}
        if abs(ratio / level - 1) > TOL:
            no_cons[f] = dict(t, **info, reason=f"consensus {t['bpm']:.1f} is no level of the MIDI tempo")
            continue
        kept[f] = dict(t, **info, consensus_bpm=t["bpm"], level=round(level, 4),
                       bpm=round(midi * level, 4))
    write_json(path, kept)
    write_json(nc_path, no_cons)
    print(f"{len(kept)} songs with a settled level, {len(no_cons)} without -> {path}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="corpus folder (tracks.json and audio go here)")
    ap.add_argument("--seconds", type=float, default=90.0, help="excerpt length (default 90)")
    ap.add_argument("--settle", action="store_true",
                    help="after label_real.py: set each bpm to the MIDI tempo at the agreed level")
    args = ap.parse_args(argv)
    if args.settle:
        return settle(os.path.expanduser(args.out))
    out_dir = os.path.expanduser(args.out)
    os.makedirs(out_dir, exist_ok=True)
    songs = sources()
    if not songs:
        sys.exit("no MIDI songs found: apt-get install freedoom openttd-openmsx")
    tracks, skipped = {}, {}
    for i, (group, name, data) in enumerate(songs):
        try:
            out, info = make(group, name, data, out_dir, args.seconds)
        except Exception as err:  # noqa: BLE001 - a song that fails is reported, the rest go on
            out, info = None, dict(genre=group, source=name, skipped=repr(err))
        if out:
            tracks[out] = info
        else:
            skipped[f"{group}_{name}"] = info
        print(f"[{i + 1}/{len(songs)}] {group}_{name}: "
              + (f"{info['midi_bpm']:.1f} bpm {info['time_signatures']}" if out else info["skipped"]),
              flush=True)
    write_json(os.path.join(out_dir, "tracks.json"), tracks)
    write_json(os.path.join(out_dir, "skipped.json"), skipped)
    print(f"{len(tracks)} songs rendered, {len(skipped)} skipped -> {out_dir}")


if __name__ == "__main__":
    main()
