#!/usr/bin/env python3
"""Peak memory of analysing one long file, beside plain librosa in the same run.

Writes a long drum-loop file (default: 3 hours, 44.1 kHz stereo MP3), then measures the peak RSS
of a fresh process that runs ``tempo.analyze_file`` on it, and of a fresh process that runs plain
librosa (``librosa.load(sr=22050)`` + ``librosa.feature.tempo``) on the first ``--librosa-min``
minutes of the same audio (plain librosa holds the whole signal; 3 hours would need gigabytes).

    python benchmarks/memory.py                       # 3-hour file, librosa on 10 minutes
    python benchmarks/memory.py --hours 1 --format flac

Run by hand (takes a few minutes); not part of CI.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def _fixtures():
    spec = importlib.util.spec_from_file_location(
        "make_fixtures", os.path.join(REPO, "fixtures", "make_fixtures.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_long_file(path: str, minutes: float, sr: int = 44100) -> None:
    """Loop a 60 s stereo drum pattern (128 BPM) for ``minutes``, streamed to disk."""
    import soundfile as sf

    fx = _fixtures()
    loop = fx.stereo(fx.drum_pattern(128.0, style="four", duration_s=60.0 * 128 / 128, sr=sr))
    loop = 0.5 * loop / max(1e-9, abs(loop).max())
    fmt = os.path.splitext(path)[1][1:].upper()
    kwargs = {"format": "MP3", "subtype": "MPEG_LAYER_III"} if fmt == "MP3" else {"format": fmt}
    with sf.SoundFile(path, "w", samplerate=sr, channels=2, **kwargs) as f:
        for _ in range(int(round(minutes))):
            f.write(loop)


CHILD_TEMPO = """
import json, resource, sys, time
t0 = time.perf_counter()
import tempo
ta = tempo.analyze_file(sys.argv[1])
print(json.dumps({"bpm": ta.bpm, "duration_s": ta.duration_s, "wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

CHILD_LIBROSA = """
import json, resource, sys, time
t0 = time.perf_counter()
import librosa
y, sr = librosa.load(sys.argv[1], sr=22050, mono=True, duration=float(sys.argv[2]))
bpm = float(librosa.feature.tempo(y=y, sr=sr)[0])
print(json.dumps({"bpm": bpm, "duration_s": len(y) / sr, "wall_s": time.perf_counter() - t0,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run_child(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=3.0)
    ap.add_argument("--format", default="mp3", choices=["mp3", "flac", "wav", "ogg"])
    ap.add_argument("--librosa-min", type=float, default=10.0,
                    help="minutes of the file plain librosa loads (default 10)")
    ap.add_argument("--keep", help="write the long file here and keep it")
    args = ap.parse_args()

    folder = tempfile.mkdtemp(prefix="tempo-mem-")
    path = args.keep or os.path.join(folder, f"long.{args.format}")
    if not os.path.exists(path):
        t0 = time.perf_counter()
        write_long_file(path, args.hours * 60)
        print(f"wrote {path} ({os.path.getsize(path) / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.0f} s", file=sys.stderr)
    ours = run_child(CHILD_TEMPO, path)
    base = run_child(CHILD_LIBROSA, path, str(args.librosa_min * 60))
    print(f"file: {args.hours:g} h {args.format}, 44.1 kHz stereo")
    print(f"tempo.analyze_file   {ours['duration_s'] / 3600:5.2f} h audio  peak RSS "
          f"{ours['peak_mb']:7.0f} MB  wall {ours['wall_s']:6.1f} s  bpm {ours['bpm']}")
    print(f"librosa load+tempo   {base['duration_s'] / 3600:5.2f} h audio  peak RSS "
          f"{base['peak_mb']:7.0f} MB  wall {base['wall_s']:6.1f} s  bpm {base['bpm']:.1f}")
    per_h_ours = ours["peak_mb"] / (ours["duration_s"] / 3600)
    per_h_base = base["peak_mb"] / (base["duration_s"] / 3600)
    print(f"peak MB per audio hour: ours {per_h_ours:.0f}, librosa {per_h_base:.0f} "
          f"(ratio {per_h_ours / per_h_base:.3f})")
    if not args.keep:
        os.remove(path)
        os.rmdir(folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
