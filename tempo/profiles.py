"""Workout profiles: the arc a playlist follows, as segments with tempo and energy targets.

Conventions
-----------
- A :class:`Profile` is a sequence of :class:`Segment` objects. Segment lengths (``minutes``) are
  relative: the sequencer scales them so the profile spans the minutes the user asks for.
- A segment's tempo target ramps linearly from ``bpm_start`` to ``bpm_end`` over the segment (equal
  values mean a constant target); a track is accepted when its *effective* tempo lies within
  ``tolerance_pct`` percent of the segment's tempo span (:attr:`Segment.min_bpm` ..
  :attr:`Segment.max_bpm`).
- The effective tempo of a track is its analysed BPM times one of the segment's ``ratios``: ratio 2
  lets an 87 BPM (half-time) track serve a 174 steps/min run; ratio 0.5 lets a 180 BPM track serve
  90 pedal strokes per minute. Allowed ratios are 0.5, 1 and 2.
- Energy targets are percentiles (0..1) of the library's energies, not values of
  :attr:`tempo.models.TrackAnalysis.energy`: 0 asks for the library's quietest track, 1 for its
  most intense (:func:`tempo.ranking.energy_ranks`). They ramp from ``energy_start`` to
  ``energy_end`` like the tempo.
- ``monotonic`` profiles never let the tempo fall inside a rising stretch (nor rise inside a
  falling one); ``climax`` profiles end their last rising stretch on the fastest, most intense
  track.

Built-in profiles are functions of a few options (``cadence`` takes ``spm``, ...);
:func:`get_profile` builds one by name or loads a TOML file, :func:`profile_to_toml` writes a
profile back as TOML that :func:`load_profile` reads.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

from .errors import ProfileError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

#: Tempo ratios a segment may accept (track BPM x ratio = workout tempo).
ALLOWED_RATIOS = (0.5, 1.0, 2.0)
#: The profile used when none is given.
DEFAULT_PROFILE = "montage"
#: Length of a playlist when none is asked for (minutes); hiit's default is its rounds' length.
DEFAULT_MINUTES = 45.0
#: Defaults of the built-in profiles' options (shared with the CLI options).
DEFAULT_SPM = 170.0
DEFAULT_RPM = 90.0
DEFAULT_ROUNDS = 6
DEFAULT_WORK_MIN = 4.0
DEFAULT_REST_MIN = 3.0
HIIT_WARMUP_MIN = 3.0
DEFAULT_STEADY_BPM = 128.0
DEFAULT_TOLERANCE_PCT = 4.0
#: Tolerance of the cadence and cycling profiles: a runner drifts off a beat >3% away.
CADENCE_TOLERANCE_PCT = 3.0
#: Plausible range of a workout tempo, used to validate options and profile files.
MIN_TARGET_BPM = 40.0
MAX_TARGET_BPM = 250.0

SEGMENT_KEYS = ("name", "minutes", "bpm", "tolerance_pct", "energy", "ratios")
PROFILE_KEYS = ("name", "description", "monotonic", "climax", "segments")


@dataclass(frozen=True)
class Segment:
    """One stretch of a workout: relative length, tempo ramp, energy ramp, accepted ratios."""

    name: str
    minutes: float
    bpm_start: float
    bpm_end: float
    tolerance_pct: float = DEFAULT_TOLERANCE_PCT
    energy_start: float = 0.5  # a percentile of the library's energies, not a track energy
    energy_end: float = 0.5
    ratios: tuple[float, ...] = (1.0,)

    def __post_init__(self):
        _check_segment(self)

    @property
    def min_bpm(self) -> float:
        """Slowest accepted effective tempo (the span's low end minus the tolerance)."""
        return min(self.bpm_start, self.bpm_end) * (1 - self.tolerance_pct / 100)

    @property
    def max_bpm(self) -> float:
        """Fastest accepted effective tempo (the span's high end plus the tolerance)."""
        return max(self.bpm_start, self.bpm_end) * (1 + self.tolerance_pct / 100)

    @property
    def direction(self) -> int:
        """+1 for a rising tempo target, -1 for a falling one, 0 for a constant one."""
        return (self.bpm_end > self.bpm_start) - (self.bpm_end < self.bpm_start)

    def target_bpm(self, fraction: float) -> float:
        """Tempo target at ``fraction`` (0..1) of the segment."""
        f = min(max(fraction, 0.0), 1.0)
        return self.bpm_start + (self.bpm_end - self.bpm_start) * f

    def target_energy(self, fraction: float) -> float:
        """Energy target at ``fraction`` (0..1) of the segment, as a percentile of the
        library's energies."""
        f = min(max(fraction, 0.0), 1.0)
        return self.energy_start + (self.energy_end - self.energy_start) * f

    def describe_range(self) -> str:
        """'141-165 BPM' (accepted effective tempo), plus the ratios when other than 1x."""
        text = f"{self.min_bpm:.0f}-{self.max_bpm:.0f} BPM"
        if self.ratios != (1.0,):
            text += " (" + ", ".join(_ratio_label(r) for r in self.ratios) + ")"
        return text

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "minutes": self.minutes,
            "bpm": [self.bpm_start, self.bpm_end],
            "tolerance_pct": self.tolerance_pct,
            "energy": [self.energy_start, self.energy_end],
            "ratios": list(self.ratios),
        }


@dataclass(frozen=True)
class Profile:
    """A named workout arc: segments in order, and how the sequencer must treat the tempo."""

    name: str
    description: str
    segments: tuple[Segment, ...]
    monotonic: bool = False
    climax: bool = False
    source: str = "built-in"

    def __post_init__(self):
        if not self.segments:
            raise ProfileError(f"profile {self.name!r} has no segments", hint="add [[segments]]")

    @property
    def minutes(self) -> float:
        """Nominal length: the sum of the segments' minutes."""
        return sum(s.minutes for s in self.segments)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "description": self.description,
            "monotonic": self.monotonic,
            "climax": self.climax,
            "source": self.source,
            "segments": [s.to_dict() for s in self.segments],
        }


def _ratio_label(r: float) -> str:
    return {0.5: "1/2x", 1.0: "1x", 2.0: "2x"}.get(r, f"{r:g}x")


def _check_segment(s: Segment) -> None:
    where = f"segment {s.name!r}"
    if not s.name:
        raise ProfileError("segment name must not be empty")
    if not (isinstance(s.minutes, (int, float)) and math.isfinite(s.minutes) and s.minutes > 0):
        raise ProfileError(f"{where}: minutes={s.minutes!r} must be a positive number")
    for key, v in (("bpm", s.bpm_start), ("bpm", s.bpm_end)):
        if not MIN_TARGET_BPM <= v <= MAX_TARGET_BPM:
            raise ProfileError(
                f"{where}: {key}={v:g} is outside {MIN_TARGET_BPM:g}..{MAX_TARGET_BPM:g}")
    if not 0 < s.tolerance_pct <= 50:
        raise ProfileError(f"{where}: tolerance_pct={s.tolerance_pct:g} must be in (0, 50]")
    for v in (s.energy_start, s.energy_end):
        if not 0 <= v <= 1:
            raise ProfileError(f"{where}: energy={v:g} must be in 0..1")
    if not s.ratios:
        raise ProfileError(f"{where}: ratios must not be empty",
                           hint="allowed: " + ", ".join(f"{r:g}" for r in ALLOWED_RATIOS))
    for r in s.ratios:
        if r not in ALLOWED_RATIOS:
            raise ProfileError(f"{where}: ratio {r:g} is not allowed",
                               hint="allowed: " + ", ".join(f"{r:g}" for r in ALLOWED_RATIOS))


# --------------------------------------------------------------------------- built-in profiles

def montage(*, cooldown: bool = False) -> Profile:
    segments = [
        Segment("warm-up", 7, 115, 125, 3, 0.30, 0.45),
        Segment("build", 25, 125, 145, 3, 0.45, 0.70),
        Segment("peak", 13, 145, 160, 3, 0.70, 0.95),
    ]
    if cooldown:
        segments.append(Segment("cool-down", 6, 130, 100, 5, 0.50, 0.25))
    return Profile(
        "montage",
        "Training montage: builds from a 115-125 BPM warm-up to a 145-160 BPM peak, "
        "climax last" + (", then a cool-down" if cooldown else ""),
        tuple(segments), monotonic=True, climax=True)


def cadence(*, spm: float = DEFAULT_SPM) -> Profile:
    _check_option("spm", spm)
    return Profile(
        "cadence",
        f"Running cadence: every track at {spm:g} steps/min, 1x or 2x (half-time), within "
        f"+-{CADENCE_TOLERANCE_PCT:g}%",
        (Segment("run", 45, spm, spm, CADENCE_TOLERANCE_PCT, 0.55, 0.75, (1.0, 2.0)),))


def cycling(*, rpm: float = DEFAULT_RPM) -> Profile:
    _check_option("rpm", rpm)
    return Profile(
        "cycling",
        f"Cycling: tracks at {rpm:g} pedal strokes/min or twice that, within "
        f"+-{CADENCE_TOLERANCE_PCT:g}%",
        (Segment("ride", 45, rpm, rpm, CADENCE_TOLERANCE_PCT, 0.55, 0.75, (1.0, 0.5)),))


def hiit(*, rounds: int = DEFAULT_ROUNDS, work: float = DEFAULT_WORK_MIN,
         rest: float = DEFAULT_REST_MIN) -> Profile:
    if not (isinstance(rounds, int) and 1 <= rounds <= 50):
        raise ProfileError(f"rounds={rounds!r} must be a whole number in 1..50")
    for key, v in (("work", work), ("rest", rest)):
        if not 0 < v <= 60:
            raise ProfileError(f"{key}={v!r} minutes must be in (0, 60]")
    segments = [Segment("warm-up", HIIT_WARMUP_MIN, 110, 125, 4, 0.30, 0.50)]
    for _ in range(rounds):
        segments.append(Segment("work", work, 160, 160, 8, 0.90, 0.90))
        segments.append(Segment("rest", rest, 110, 110, 8, 0.30, 0.30))
    return Profile(
        "hiit",
        f"Intervals: warm-up, then {rounds} rounds of {work:g} min work (~160 BPM, high "
        f"energy) and {rest:g} min recovery (~110 BPM)",
        tuple(segments))


def hiit_rounds_for(minutes: float, *, work: float = DEFAULT_WORK_MIN,
                    rest: float = DEFAULT_REST_MIN) -> int:
    """The number of HIIT rounds that best fills ``minutes`` after the warm-up (at least 1)."""
    return max(1, min(50, round((minutes - HIIT_WARMUP_MIN) / (work + rest))))


def steady(*, bpm: float = DEFAULT_STEADY_BPM, tolerance: float = DEFAULT_TOLERANCE_PCT
           ) -> Profile:
    _check_option("bpm", bpm)
    if not 0 < tolerance <= 50:
        raise ProfileError(f"tolerance={tolerance!r} percent must be in (0, 50]")
    return Profile(
        "steady",
        f"Steady state: every track at {bpm:g} BPM +-{tolerance:g}%",
        (Segment("steady", 45, bpm, bpm, tolerance, 0.55, 0.65),))


def pyramid() -> Profile:
    return Profile(
        "pyramid",
        "Pyramid: warm-up, build to a 150-160 BPM peak, and a mirror-image cool-down",
        (
            Segment("warm-up", 6, 105, 120, 4, 0.25, 0.40),
            Segment("build", 12, 120, 150, 3, 0.40, 0.75),
            Segment("peak", 9, 150, 160, 3, 0.75, 0.90),
            Segment("cool-down", 18, 150, 105, 4, 0.75, 0.25),
        ),
        monotonic=True)


#: name -> (builder, the options it takes)
BUILTIN: dict[str, tuple[Callable[..., Profile], tuple[str, ...]]] = {
    "montage": (montage, ("cooldown",)),
    "cadence": (cadence, ("spm",)),
    "cycling": (cycling, ("rpm",)),
    "hiit": (hiit, ("rounds", "work", "rest")),
    "steady": (steady, ("bpm", "tolerance")),
    "pyramid": (pyramid, ()),
}


def _check_option(key: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and MIN_TARGET_BPM <= value <= MAX_TARGET_BPM):
        raise ProfileError(f"{key}={value!r} is outside {MIN_TARGET_BPM:g}..{MAX_TARGET_BPM:g}")


def resolve_profile(name_or_path: str | None = None, *, minutes: float | None = None,
                    **options) -> tuple[Profile, float]:
    """The profile to plan and the minutes to plan it over, reconciled: what ``tempo playlist``
    plans and what ``tempo plot`` draws (called with the playlist's own length) for the same
    profile and options.

    ``name_or_path`` and ``options`` are as for :func:`get_profile` (None/False options are
    ignored). ``minutes`` is the length asked for, or None when the user gave none:

    - the built-in ``hiit`` keeps its blocks at the length asked for: with ``minutes``, its
      rounds are derived from it (:func:`hiit_rounds_for`, with the ``work``/``rest`` given)
      unless ``rounds`` is given; without, the minutes are the rounds' own length
      (warm-up + rounds x (work + rest));
    - every other profile (and a profile file) is stretched to ``minutes``, by default
      :data:`DEFAULT_MINUTES`.

    Raises ProfileError for an unknown profile, an option it does not take, or minutes that are
    not a positive number.
    """
    if minutes is not None and not (_number(minutes) and minutes > 0):
        raise ProfileError(f"minutes={minutes!r} must be a positive number")
    name = name_or_path or DEFAULT_PROFILE
    if name == "hiit" and minutes is not None and options.get("rounds") is None:
        options = {**options, "rounds": hiit_rounds_for(
            minutes, work=options.get("work") or DEFAULT_WORK_MIN,
            rest=options.get("rest") or DEFAULT_REST_MIN)}
    profile = get_profile(name, **options)
    if minutes is None:
        minutes = profile.minutes if name == "hiit" else DEFAULT_MINUTES
    return profile, float(minutes)


def builtin_names() -> list[str]:
    return list(BUILTIN)


def get_profile(name_or_path: str | None = None, **options) -> Profile:
    """A built-in profile by name (with its options), or a user profile from a ``.toml`` file.

    ``options`` whose value is None are ignored; an option the profile does not take is an
    error naming the profiles that do take it.
    """
    name = name_or_path or DEFAULT_PROFILE
    options = {k: v for k, v in options.items() if v is not None and v is not False}
    if name in BUILTIN:
        builder, accepted = BUILTIN[name]
        for key in options:
            if key not in accepted:
                takers = [n for n, (_, acc) in BUILTIN.items() if key in acc]
                raise ProfileError(
                    f"option --{key} does not apply to profile {name!r}",
                    hint=f"it applies to: {', '.join(takers) or 'no profile'}")
        return builder(**options)
    if name.lower().endswith(".toml") or os.sep in name or "/" in name:
        if options:
            raise ProfileError(f"options {', '.join('--' + k for k in options)} do not apply "
                               "to a profile file", path=name, hint="edit the file instead")
        return load_profile(name)
    raise ProfileError(f"unknown profile {name!r}",
                       hint=f"choose one of {', '.join(BUILTIN)}, or give a .toml file")


# --------------------------------------------------------------------------- TOML

def load_profile(path: str | os.PathLike) -> Profile:
    """Read a user profile from a TOML file; errors name the key and the allowed values."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise ProfileError("profile file not found", path=path,
                           hint=f"or use a built-in profile: {', '.join(BUILTIN)}") from None
    except OSError as err:
        raise ProfileError(f"cannot read profile file: {err.strerror}", path=path) from err
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"not valid TOML: {err}", path=path) from err
    default_name = os.path.splitext(os.path.basename(path))[0]
    return profile_from_dict(data, source=path, default_name=default_name)


def profile_from_dict(data: dict, *, source: str = "<dict>", default_name: str = "custom"
                      ) -> Profile:
    """Build a Profile from parsed TOML (or JSON) data, checking every key."""
    def fail(key: str, message: str, allowed: str | None = None):
        raise ProfileError(f"{key}: {message}", path=source,
                           hint=f"allowed: {allowed}" if allowed else None)

    for key in data:
        if key not in PROFILE_KEYS:
            fail(key, "unknown key", ", ".join(PROFILE_KEYS))
    name = data.get("name", default_name)
    if not isinstance(name, str) or not name:
        fail("name", f"{name!r} must be a non-empty string")
    description = data.get("description", f"User profile {name}")
    if not isinstance(description, str):
        fail("description", f"{description!r} must be a string")
    flags = {}
    for key in ("monotonic", "climax"):
        v = data.get(key, False)
        if not isinstance(v, bool):
            fail(key, f"{v!r} is not a boolean", "true, false")
        flags[key] = v
    raw = data.get("segments")
    if not raw:
        fail("segments", "missing or empty", "one or more [[segments]] tables")
    if not isinstance(raw, list):
        fail("segments", f"{raw!r} is not a list of tables", "one or more [[segments]] tables")
    segments = []
    for i, seg in enumerate(raw):
        segments.append(_segment_from_dict(seg, f"segments[{i}]", fail))
    return Profile(name, description, tuple(segments), source=source, **flags)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _pair(v, key: str, fail, lo: float, hi: float, what: str) -> tuple[float, float]:
    if _number(v):
        v = [v, v]
    if not (isinstance(v, list) and len(v) == 2 and all(_number(x) for x in v)):
        fail(key, f"{v!r} must be a number or [from, to]", f"{what} in {lo:g}..{hi:g}")
    for x in v:
        if not lo <= x <= hi:
            fail(key, f"{x!r} is out of range", f"{what} in {lo:g}..{hi:g}")
    return float(v[0]), float(v[1])


def _segment_from_dict(seg, where: str, fail) -> Segment:
    if not isinstance(seg, dict):
        fail(where, "must be a table", "[[segments]] with " + ", ".join(SEGMENT_KEYS))
    for key in seg:
        if key not in SEGMENT_KEYS:
            fail(f"{where}.{key}", "unknown key", ", ".join(SEGMENT_KEYS))
    for key in ("minutes", "bpm"):
        if key not in seg:
            fail(f"{where}.{key}", "missing", {"minutes": "a positive number of minutes",
                                                 "bpm": "a number or [from, to]"}[key])
    name = seg.get("name", f"segment {where[9:-1]}")
    if not isinstance(name, str) or not name:
        fail(f"{where}.name", f"{name!r} must be a non-empty string")
    minutes = seg["minutes"]
    if not (_number(minutes) and minutes > 0):
        fail(f"{where}.minutes", f"{minutes!r} must be a positive number",
             "a positive number of minutes")
    bpm = _pair(seg["bpm"], f"{where}.bpm", fail, MIN_TARGET_BPM, MAX_TARGET_BPM, "BPM")
    energy = _pair(seg.get("energy", 0.5), f"{where}.energy", fail, 0.0, 1.0, "energy")
    tol = seg.get("tolerance_pct", DEFAULT_TOLERANCE_PCT)
    if not (_number(tol) and 0 < tol <= 50):
        fail(f"{where}.tolerance_pct", f"{tol!r} is out of range", "a percentage in (0, 50]")
    ratios = seg.get("ratios", [1])
    allowed = ", ".join(f"{r:g}" for r in ALLOWED_RATIOS)
    if not (isinstance(ratios, list) and ratios):
        fail(f"{where}.ratios", f"{ratios!r} must be a non-empty list", allowed)
    for r in ratios:
        if not _number(r) or float(r) not in ALLOWED_RATIOS:
            fail(f"{where}.ratios", f"{r!r} is not allowed", allowed)
    return Segment(name, float(minutes), bpm[0], bpm[1], float(tol), energy[0], energy[1],
                   tuple(sorted(set(float(r) for r in ratios), key=lambda r: (r != 1.0, r))))


def _toml_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def _toml_num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _toml_pair(a: float, b: float) -> str:
    return _toml_num(a) if a == b else f"[{_toml_num(a)}, {_toml_num(b)}]"


def profile_to_toml(profile: Profile) -> str:
    """The profile as TOML that :func:`load_profile` reads back to an equal profile."""
    lines = [
        "# tempo workout profile. Save as a .toml file, edit, and use with --profile FILE.",
        "# bpm and energy: a number, or [from, to] for a ramp over the segment;",
        f"# minutes are relative (scaled to --minutes); ratios: allowed "
        f"{', '.join(f'{r:g}' for r in ALLOWED_RATIOS)} (track BPM x ratio = workout tempo).",
        f"name = {_toml_str(profile.name)}",
        f"description = {_toml_str(profile.description)}",
        f"monotonic = {'true' if profile.monotonic else 'false'}",
        f"climax = {'true' if profile.climax else 'false'}",
    ]
    for s in profile.segments:
        lines += [
            "",
            "[[segments]]",
            f"name = {_toml_str(s.name)}",
            f"minutes = {_toml_num(s.minutes)}",
            f"bpm = {_toml_pair(s.bpm_start, s.bpm_end)}",
            f"tolerance_pct = {_toml_num(s.tolerance_pct)}",
            f"energy = {_toml_pair(s.energy_start, s.energy_end)}",
            f"ratios = [{', '.join(_toml_num(r) for r in s.ratios)}]",
        ]
    return "\n".join(lines) + "\n"


def list_profiles() -> list[tuple[str, str]]:
    """(name, one-line description) of every built-in profile, with default options."""
    return [(name, builder().description) for name, (builder, _) in BUILTIN.items()]


__all__ = [
    "ALLOWED_RATIOS", "BUILTIN", "DEFAULT_MINUTES", "DEFAULT_PROFILE", "Profile", "Segment", "builtin_names",
    "get_profile", "list_profiles", "resolve_profile", "load_profile", "profile_from_dict", "profile_to_toml",
]

