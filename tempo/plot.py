"""Pictures: a playlist's arc against its profile, and one track's tempo over time.

The data of each picture is computed by a pure function (:func:`arc_data`,
:func:`track_data`) that tests compare with the analysis; the drawing uses matplotlib's
object API with the Agg canvas (no pyplot, no global backend switch, no display needed).
matplotlib is an optional extra: ``pip install 'tempo-montage[plot]'``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import TempoError
from .models import TrackAnalysis

#: Figure size (inches) and resolution of the PNG files.
FIG_SIZE_IN = (11.0, 5.5)
DPI = 110
PLOT_EXTRA_HINT = "install the plot extra: pip install 'tempo-montage[plot]'"


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:
        raise TempoError("tempo plot needs matplotlib, which is not installed",
                         hint=PLOT_EXTRA_HINT) from err
    return Figure, FigureCanvasAgg


# --- a playlist's arc -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ArcData:
    """Per track: start (s), length (s), analysed and effective BPM (after the ratio the
    profile's segment at that time accepts), energy, label. Band: the profile's target tempo
    (plus/minus its tolerance) over the same timeline, as (time s, low BPM, high BPM) points.
    (The profile's energy targets are percentiles of the whole library, not of the playlist, so
    they are not drawn against the tracks' energy.)"""

    starts_s: tuple[float, ...]
    durations_s: tuple[float, ...]
    bpms: tuple[float | None, ...]
    effective_bpms: tuple[float | None, ...]
    energies: tuple[float, ...]
    labels: tuple[str, ...]
    band: tuple[tuple[float, float, float], ...]
    segments: tuple[tuple[str, float, float], ...]  # (name, start s, end s)
    profile: str


def arc_data(tracks: list[TrackAnalysis], profile, *, minutes: float | None = None,
             **options) -> ArcData:
    """What the arc picture shows, computed from the analyses and the profile (pure).

    ``profile`` is a profile name or TOML file with its ``options`` (as for ``tempo
    playlist``), resolved by :func:`tempo.profiles.resolve_profile` as the playlist was
    planned, for ``minutes`` (by default the playlist's own length): a 24-minute ``hiit``
    playlist is drawn with the 3 rounds it was planned with. A
    :class:`~tempo.profiles.Profile` is drawn as given. The profile's timeline spans
    ``minutes``, by default the playlist.
    """
    from .errors import ProfileError
    from .profiles import Profile, resolve_profile

    options = {k: v for k, v in options.items() if v is not None and v is not False}
    total_s = sum(t.duration_s for t in tracks) or 1.0
    if isinstance(profile, Profile):
        if options:
            raise ProfileError(f"options {', '.join('--' + k for k in options)} do not apply "
                               "to a profile given as a Profile",
                               hint="pass the profile's name or file with the options")
        span_s = minutes * 60.0 if minutes is not None else total_s
    else:
        profile, planned = resolve_profile(
            profile, minutes=minutes if minutes is not None else total_s / 60.0, **options)
        span_s = planned * 60.0
    seg_bounds = profile_timeline(profile, span_s)

    starts, effective, t = [], [], 0.0
    for track in tracks:
        starts.append(t)
        effective.append(_as_played(track, seg_bounds, t + track.duration_s / 2))
        t += track.duration_s
    band = []
    for seg, a, b in seg_bounds:
        tol = seg.tolerance_pct / 100.0
        for frac, when in ((0.0, a), (1.0, b)):
            target = seg.target_bpm(frac)
            band.append((when, target * (1 - tol), target * (1 + tol)))
    return ArcData(
        starts_s=tuple(starts), durations_s=tuple(tr.duration_s for tr in tracks),
        bpms=tuple(tr.bpm for tr in tracks), effective_bpms=tuple(effective),
        energies=tuple(tr.energy for tr in tracks),
        labels=tuple(tr.display_name for tr in tracks), band=tuple(band),
        segments=tuple((seg.name, a, b) for seg, a, b in seg_bounds), profile=profile.name)


def profile_timeline(profile, span_s: float) -> list[tuple]:
    """``(segment, start s, end s)`` of each of the profile's segments stretched over
    ``span_s`` seconds, as the sequencer lays them out (pure)."""
    scale = span_s / (profile.minutes * 60.0)
    bounds, t0 = [], 0.0
    for seg in profile.segments:
        t1 = t0 + seg.minutes * 60.0 * scale
        bounds.append((seg, t0, t1))
        t0 = t1
    return bounds


def _as_played(track: TrackAnalysis, seg_bounds, when_s: float) -> float | None:
    """The track's effective tempo at ``when_s`` (its middle): the ratio that fits the segment
    playing then, closest to the target there; when it does not fit that segment (a track
    placed across a boundary), the nearest segment it fits; else the analysed tempo."""
    from .ranking import best_ratio

    def distance(bound):
        _, a, b = bound
        return 0.0 if a <= when_s < b else min(abs(when_s - a), abs(when_s - b))

    for seg, a, b in sorted(seg_bounds, key=distance):
        frac = min(max((when_s - a) / max(b - a, 1e-9), 0.0), 1.0)
        fit = best_ratio(track, seg, seg.target_bpm(frac))
        if fit:
            return round(fit[1], 2)
    return track.bpm


def render_arc(data: ArcData, out_png: str, *, title: str | None = None) -> str:
    """Draw the arc: tempo steps against the profile's band, the tracks' energy on a second
    axis."""
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=FIG_SIZE_IN, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    minutes = [p[0] / 60 for p in data.band]
    ax.fill_between(minutes, [p[1] for p in data.band], [p[2] for p in data.band],
                    color="tab:orange", alpha=0.18, linewidth=0,
                    label=f"profile '{data.profile}' target tempo")
    for name, a, b in data.segments:
        ax.axvline(a / 60, color="0.85", linewidth=0.8, zorder=0)
        ax.text((a + b) / 120, 1.0, name, transform=ax.get_xaxis_transform(), ha="center",
                va="bottom", fontsize=8, color="0.4", clip_on=False)
    for i, (s, d, eff, bpm) in enumerate(zip(data.starts_s, data.durations_s,
                                              data.effective_bpms, data.bpms)):
        if eff is None:
            continue
        ax.hlines(eff, s / 60, (s + d) / 60, color="tab:red", linewidth=3,
                  label="track tempo (as played)" if i == 0 else None)
        if bpm and abs(eff - bpm) > 0.5:
            ax.hlines(bpm, s / 60, (s + d) / 60, color="tab:red", linewidth=1, alpha=0.4,
                      linestyle=":", label="analysed tempo (half/double time)"
                      if not any(ln.get_label().startswith("analysed")
                                 for ln in ax.collections) else None)
    ax.set_xlabel("time in the playlist (min)")
    ax.set_ylabel("tempo (BPM)")
    ax.grid(axis="y", alpha=0.3)
    ax2 = ax.twinx()
    xs, ys = [], []
    for s, d, e in zip(data.starts_s, data.durations_s, data.energies):
        xs += [s / 60, (s + d) / 60]
        ys += [e, e]
    ax2.plot(xs, ys, color="tab:blue", linewidth=1.5, label="track energy")
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("energy (0-1)")
    handles = ax.get_legend_handles_labels()
    handles2 = ax2.get_legend_handles_labels()
    # below the axes, outside the data, so no line or step hides behind it
    fig.legend(handles[0] + handles2[0], handles[1] + handles2[1], loc="outside lower center",
               ncols=4, fontsize=8, frameon=False)
    total = (data.starts_s[-1] + data.durations_s[-1]) / 60 if data.starts_s else 0
    fig.suptitle(title or f"{len(data.starts_s)} tracks, {total:.0f} min, "
                 f"profile '{data.profile}'")
    return _save(fig, out_png)


# --- one track -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrackData:
    """What the track picture shows: the onset envelope (downsampled), the tempo curve, the
    overall tempo and the candidates with their strengths."""

    envelope_times_s: tuple[float, ...]
    envelope: tuple[float, ...]
    curve: tuple[tuple[float, float], ...]
    bpm: float | None
    confidence: float
    candidates: tuple[tuple[float, float], ...]
    label: str


#: Points of the onset envelope drawn (more would only blur into a band).
ENVELOPE_POINTS = 4000


def _following_curve(analysis: TrackAnalysis, features) -> tuple[tuple[float, float], ...]:
    """The tempo curve drawn: windows searched around the previous window's tempo, so a mix
    that climbs 35 % is followed to its top (the analysis's own curve searches +-15 % around
    the file's tempo, to judge a track's stability). The analysis's curve when there is no
    tempo."""
    from .estimate import prepare_envelopes, tempo_curve

    if not analysis.bpm:
        return analysis.tempo.curve
    return tempo_curve(prepare_envelopes(features)[-1], float(features.fps), analysis.bpm,
                       follow=True) or analysis.tempo.curve


def track_data(analysis: TrackAnalysis, features) -> TrackData:
    """Pure: the analysis's tempo data and the features' summed onset envelope."""
    import numpy as np

    env = np.asarray(features.envelopes, dtype=float)
    env = env.sum(axis=0) if env.ndim == 2 else env
    step = max(1, len(env) // ENVELOPE_POINTS)
    n = (len(env) // step) * step
    env = env[:n].reshape(-1, step).max(axis=1) if n else env
    times = (np.arange(len(env)) * step + step / 2) / features.fps
    peak = float(env.max()) if len(env) and env.max() > 0 else 1.0
    return TrackData(envelope_times_s=tuple(np.round(times, 3).tolist()),
                     envelope=tuple((env / peak).round(4).tolist()),
                     curve=_following_curve(analysis, features), bpm=analysis.bpm,
                     confidence=analysis.confidence, candidates=analysis.tempo.candidates,
                     label=analysis.display_name)


def render_track(data: TrackData, out_png: str) -> str:
    """Three panels: onset envelope over time, tempo curve over time, candidate strengths."""
    Figure, FigureCanvasAgg = _matplotlib()
    fig = Figure(figsize=(FIG_SIZE_IN[0], 7.0), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(2, 3)
    ax_env = fig.add_subplot(grid[0, :])
    ax_env.plot(data.envelope_times_s, data.envelope, color="0.3", linewidth=0.6)
    ax_env.set_ylabel("onset strength (norm.)")
    ax_env.set_xlabel("time (s)")
    ax_env.set_title("onset envelope", fontsize=10)
    ax_curve = fig.add_subplot(grid[1, :2])
    if data.curve:
        ax_curve.plot([t for t, _ in data.curve], [b for _, b in data.curve], marker="o",
                      color="tab:red", label="tempo per window")
    if data.bpm:
        ax_curve.axhline(data.bpm, color="tab:red", linestyle="--", alpha=0.6,
                         label=f"track tempo {data.bpm:.1f} BPM")
        # +-15 % around the tempo, widened to the whole curve (a mix climbs further)
        values = [b for _, b in data.curve] or [data.bpm]
        ax_curve.set_ylim(min(data.bpm * 0.85, min(values) - 2),
                          max(data.bpm * 1.15, max(values) + 2))
    ax_curve.set_xlabel("time (s)")
    ax_curve.set_ylabel("tempo (BPM)")
    ax_curve.set_title("tempo over time", fontsize=10)
    ax_curve.grid(alpha=0.3)
    if data.curve or data.bpm:
        ax_curve.legend(loc="best", fontsize=8)
    ax_cand = fig.add_subplot(grid[1, 2])
    if data.candidates:
        labels = [f"{b:.1f}" for b, _ in data.candidates]
        ax_cand.barh(labels[::-1], [s for _, s in data.candidates][::-1], color="tab:purple")
    ax_cand.set_xlim(0, 1.05)
    ax_cand.set_xlabel("strength (0-1)")
    ax_cand.set_ylabel("candidate (BPM)")
    ax_cand.set_title("tempo candidates", fontsize=10)
    bpm = f"{data.bpm:.1f} BPM" if data.bpm else "no tempo found"
    fig.suptitle(f"{data.label}: {bpm}, confidence {data.confidence:.2f}")
    return _save(fig, out_png)


def _save(fig, out_png: str) -> str:
    """Render to PNG in memory, then write it atomically (parent folders created)."""
    import io

    from .atomic import atomic_write_bytes

    out_png = os.path.abspath(out_png)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    try:
        atomic_write_bytes(out_png, buf.getvalue())
    except OSError as err:
        raise TempoError(f"cannot write the picture: {err.strerror or err}", path=out_png,
                         hint="choose another -o path") from err
    return out_png


# --- reading playlists ------------------------------------------------------------------------------

from .playlist import read_playlist  # noqa: E402, F401  (moved; re-exported for callers)


def plot_playlist(playlist_path: str, out_png: str, *, profile=None,
                  profile_options: dict | None = None, minutes: float | None = None,
                  library=None, base: str | None = None) -> tuple[str, ArcData]:
    """Draw a playlist's arc; tracks are analysed through ``library`` (a
    :class:`tempo.library.Library`, default: the default cache), so the read-time views that
    shaped the playlist (corrections, --bpm-range, --trust-tags) shape the picture too.

    ``profile`` (a name or TOML file, default the default profile; or a Profile drawn as
    given), ``profile_options`` and ``minutes`` are resolved as ``tempo playlist`` resolves
    them, with the playlist's own length when ``minutes`` is None (see :func:`arc_data`).
    ``base``: the music root of a playlist written with ``--base``.
    """
    from .library import Library

    library = library or Library()
    tracks, result = library.playlist_tracks(playlist_path, base=base)
    missing = [f.path for f in result.failures if f.kind == "missing"]
    if missing:
        raise TempoError(f"{len(missing)} playlist entries do not exist, e.g. {missing[0]}",
                         path=playlist_path, hint="was the playlist moved away from its music? "
                         "(a playlist written with --base needs the same --base here)")
    if not tracks:
        raise TempoError("none of the playlist's tracks could be analysed", path=playlist_path)
    if profile is None:
        from .profiles import DEFAULT_PROFILE

        profile = DEFAULT_PROFILE
    data = arc_data(tracks, profile, minutes=minutes, **(profile_options or {}))
    return render_arc(data, out_png), data


def plot_track(track_path: str, out_png: str) -> tuple[str, TrackData]:
    """Draw one track's onset envelope, tempo curve and candidates (decodes the file)."""
    from .analysis import analyze_with_features

    analysis, features = analyze_with_features(track_path)
    data = track_data(analysis, features)
    return render_track(data, out_png), data
