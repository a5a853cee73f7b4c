"""tempo: turn a music folder into training playlists.

Library first: ``tempo.analyze_file(path)`` returns a :class:`TrackAnalysis`; the ``tempo``
command is a thin layer over these functions. Importing ``tempo`` is cheap: numpy-heavy analysis
code loads only when a file is analysed.
"""

from __future__ import annotations

from .errors import (
    AnalysisError,
    CacheError,
    DecodeError,
    EmptyAudioError,
    PlaylistError,
    ProfileError,
    TagError,
    TempoError,
)
from .models import (
    ANALYZER_VERSION,
    AnalysisSettings,
    FileFailure,
    Tags,
    TempoEstimate,
    TrackAnalysis,
)

__version__ = "0.1.0"


def __getattr__(name):
    # the Library service without loading the scan machinery at ``import tempo``
    if name in ("Library", "LibraryOptions"):
        from . import library

        return getattr(library, name)
    raise AttributeError(f"module 'tempo' has no attribute {name!r}")


def analyze_file(path, *, settings: AnalysisSettings | None = None) -> TrackAnalysis:
    """Decode and analyse one audio file. Raises a :class:`TempoError` subclass on bad input."""
    from .analysis import analyze_file as _analyze_file

    return _analyze_file(path, settings=settings)


analyze = analyze_file

__all__ = [
    "ANALYZER_VERSION",
    "AnalysisError",
    "AnalysisSettings",
    "CacheError",
    "DecodeError",
    "EmptyAudioError",
    "FileFailure",
    "Library",
    "LibraryOptions",
    "PlaylistError",
    "ProfileError",
    "TagError",
    "Tags",
    "TempoError",
    "TempoEstimate",
    "TrackAnalysis",
    "analyze",
    "analyze_file",
    "__version__",
]
