"""Defaults of ``tempo mix`` shared by the library and the CLI options (no imports: the CLI
reads them without loading numpy)."""

#: Largest tempo change a track is stretched by (fraction of its own tempo).
DEFAULT_MAX_STRETCH = 0.08
#: Beats two consecutive tracks play together.
DEFAULT_OVERLAP_BEATS = 16
#: Bars each track contributes with --cut.
DEFAULT_BARS = 16
#: Loudness target (LUFS, integrated) of every track, and the true-peak ceiling (dBTP).
DEFAULT_LUFS = -14.0
CEILING_DBTP = -1.0
#: Output sample rate (Hz).
DEFAULT_SR = 44100
MIX_EXTRA_HINT = "install the mix extra: pip install 'tempo-montage[mix]'"
