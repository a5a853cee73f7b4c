"""The listener's say over the beat level: a preferred BPM range and per-track corrections. Pure.

No estimator gets the beat level right for every song. Two remedies, both read-time views of
the cached analysis (nothing is analysed again, and the cache keeps what the audio says):

- a **preferred range** (``--bpm-range 87-174``): a track read outside it takes, among its own
  candidates, the reading at x2, /2, x3/2 or x2/3 that lies inside it; a tempo no candidate holds
  is never invented. ``tempo.source`` becomes ``"range"``;
- a **correction** (``tempo fix``): the tempo the listener says a track has; it wins over every
  other reading. ``tempo.source`` becomes ``"user"``.

Either way ``tempo.raw_bpm`` keeps the reading the audio gave.

Conventions
-----------
- Tempo in BPM. A range is ``lo..hi`` inclusive and at least an octave wide (``hi >= 2 * lo``),
  so that every tempo has a reading inside it at some octave.
- Two tempi agree within :data:`AGREEMENT` (4 %, the tolerance of the accuracy benchmark).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace

from .errors import TempoError

#: Environment variable holding a preferred range, e.g. ``87-174`` (the option wins over it).
RANGE_ENV = "TEMPO_BPM_RANGE"
#: Environment variable naming the user config file (default: config.toml in the user config dir).
CONFIG_ENV = "TEMPO_CONFIG"
#: Key of the preferred range in the user config file.
RANGE_KEY = "bpm_range"
#: Metrical levels a range may move a reading to, nearest first.
LEVEL_RATIOS = (2.0, 0.5, 1.5, 2.0 / 3.0)
#: Two tempi within this fraction are the same reading.
AGREEMENT = 0.04
#: Plausible tempi for ranges and corrections.
MIN_USER_BPM = 20.0
MAX_USER_BPM = 400.0

_RANGE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:-|\.\.|:|–)\s*(\d+(?:\.\d+)?)\s*$")


class RangeError(TempoError):
    """A preferred BPM range that cannot be used."""

    kind = "range"


@dataclass(frozen=True)
class BpmRange:
    """A preferred tempo range, ``lo..hi`` BPM, at least an octave wide."""

    lo: float
    hi: float

    def __post_init__(self):
        if not MIN_USER_BPM <= self.lo < self.hi <= MAX_USER_BPM:
            raise RangeError(f"BPM range {self} must lie within {MIN_USER_BPM:g}-{MAX_USER_BPM:g} "
                             "with the lower bound first", hint="e.g. --bpm-range 87-174")
        if self.hi < 2 * self.lo - 1e-9:
            raise RangeError(
                f"BPM range {self} is narrower than an octave: a song at the edge would have no "
                "reading inside it (halving or doubling jumps over it)",
                hint=f"make the upper bound at least twice the lower, e.g. {self.lo:g}-{2 * self.lo:g}")

    @classmethod
    def parse(cls, text: str) -> "BpmRange":
        """``"87-174"`` (also ``87..174``, ``87:174``) -> BpmRange(87, 174)."""
        m = _RANGE_RE.match(str(text))
        if not m:
            raise RangeError(f"cannot read the BPM range {text!r}",
                             hint="write it as LOW-HIGH, e.g. 87-174 or 70-140")
        return cls(float(m.group(1)), float(m.group(2)))

    def __contains__(self, bpm) -> bool:
        return bpm is not None and self.lo <= bpm <= self.hi

    def __str__(self) -> str:
        return f"{self.lo:g}-{self.hi:g}"


def _near(a: float, b: float) -> bool:
    return abs(a - b) <= AGREEMENT * b


def _moved(analysis, bpm: float, source: str, confidence: float | None = None):
    """The analysis with its tempo read at ``bpm`` (curve scaled alike), recording ``source`` and
    the audio's own reading in ``raw_bpm``."""
    est = analysis.tempo
    raw = est.raw_bpm if est.raw_bpm is not None else est.bpm
    curve = tuple((t, round(b * bpm / est.bpm, 1)) for t, b in est.curve) if est.bpm else ()
    tempo = replace(est, bpm=bpm, curve=curve, source=source, raw_bpm=raw,
                    confidence=est.confidence if confidence is None else confidence)
    return replace(analysis, tempo=tempo)


def in_range(analysis, rng: BpmRange | None):
    """``analysis`` with its tempo moved into ``rng`` when one of its own candidates lies there
    at a metrical level of the reading (x2, /2, x3/2, x2/3); otherwise unchanged.

    A reading already inside the range, or one without a tempo, is kept. Among candidates inside
    the range the strongest wins (ties: the nearest level). Only readings that came from the
    audio are moved: a user's correction or a tag's choice stands.
    """
    est = analysis.tempo
    if rng is None or est.bpm is None or est.bpm in rng or est.source not in ("audio", "range"):
        return analysis
    best = None
    for order, ratio in enumerate(LEVEL_RATIOS):
        target = est.bpm * ratio
        if target not in rng:
            continue
        for bpm, strength in est.candidates:
            if _near(bpm, target) and bpm in rng:
                key = (-strength, order)
                if best is None or key < best[0]:
                    best = (key, bpm)
    if best is None:
        return analysis
    return _moved(analysis, float(best[1]), "range")


def with_user_bpm(analysis, bpm: float | None):
    """``analysis`` read at the listener's tempo (source ``"user"``, confidence 1), or unchanged
    when ``bpm`` is None."""
    if bpm is None:
        return analysis
    if analysis.tempo.bpm is None:
        tempo = replace(analysis.tempo, bpm=float(bpm), curve=(), stable=True, source="user",
                        raw_bpm=None, confidence=1.0)
        return replace(analysis, tempo=tempo)
    return _moved(analysis, float(bpm), "user", confidence=1.0)


def check_user_bpm(bpm: float) -> float:
    if not MIN_USER_BPM <= bpm <= MAX_USER_BPM:
        raise TempoError(f"--bpm {bpm:g} is not a plausible tempo",
                         hint=f"give {MIN_USER_BPM:g}-{MAX_USER_BPM:g}")
    return round(float(bpm), 2)


# -- the user config file -------------------------------------------------------------------------

def config_path() -> str:
    """``$TEMPO_CONFIG``, else ``config.toml`` in the user config folder (platformdirs)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return os.path.abspath(os.path.expanduser(env))
    import platformdirs

    return os.path.join(platformdirs.user_config_dir("tempo", appauthor=False), "config.toml")


def load_config(path: str | None = None) -> dict:
    """The user config file as a dict ({} when there is none); a broken file is an error that
    names it."""
    path = path or config_path()
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return {}
    except OSError as err:
        raise TempoError(f"cannot read the config file: {err.strerror or err}", path=path) from None
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise TempoError(f"the config file is not valid TOML ({err})", path=path,
                         hint="fix it or remove it") from None


def default_range(text: str | None = None) -> BpmRange | None:
    """The preferred range: ``text`` (the option), else ``$TEMPO_BPM_RANGE``, else the
    ``bpm_range`` key of the user config file, else None. ``"off"`` or ``""`` means none."""
    if text is None:
        text = os.environ.get(RANGE_ENV)
    if text is None:
        value = load_config().get(RANGE_KEY)
        if value is None:
            return None
        text = str(value)
    if str(text).strip().lower() in ("", "off", "none"):
        return None
    return BpmRange.parse(text)
