"""Finding audio files and analysing many of them.

I/O layer: walks folders, asks the cache for known results, analyses the rest, collects per-file
failures. Pure computation lives in features/estimate/ranking.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator

from .errors import TempoError
from .models import AnalysisSettings, FileFailure, TrackAnalysis

#: Extensions recognised as audio, matched case-insensitively.
AUDIO_EXTENSIONS = (
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc",
    ".m4a", ".mp4", ".aac", ".alac", ".wma", ".webm", ".mka",
)


def find_audio_files(paths: Iterable[str | os.PathLike], *, extensions=AUDIO_EXTENSIONS,
                     hidden: bool = False) -> list[str]:
    """Absolute paths of audio files under ``paths`` (files are taken as given), sorted, unique."""
    exts = tuple(e.lower() for e in extensions)
    found: set[str] = set()
    for p in paths:
        p = os.path.abspath(os.fspath(p))
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p, followlinks=False):
                if not hidden:
                    dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in files:
                    if name.lower().endswith(exts) and (hidden or not name.startswith(".")):
                        found.add(os.path.join(root, name))
        elif os.path.exists(p):
            found.add(p)
        else:
            raise TempoError("no such file or folder", path=p)
    return sorted(found)


def analyze_iter(paths: Iterable[str], *, settings: AnalysisSettings | None = None
                 ) -> Iterator[TrackAnalysis | FileFailure]:
    """Analyse files one by one, yielding a TrackAnalysis or a FileFailure for each, in order."""
    from .analysis import analyze_file

    for path in paths:
        try:
            yield analyze_file(path, settings=settings)
        except TempoError as err:
            yield FileFailure(path=path, kind=err.kind, message=err.message)
