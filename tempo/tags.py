"""Reading (and later writing) the tags of audio files with mutagen.

Tags are a courtesy: a file whose tags cannot be read still gets analysed, with empty tags. A
file that cannot be decoded is reported by the decoder (tempo.audio), not here.
"""

from __future__ import annotations

import os
import re

from .models import Tags

_BPM_RE = re.compile(r"^\s*(\d+(?:[.,]\d+)?)")


def _first(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def parse_bpm(value) -> float | None:
    """A BPM tag value ('128', '127.5', '128 BPM', 128) as float, None if absent or absurd."""
    text = _first(value)
    if text is None:
        return None
    m = _BPM_RE.match(text)
    if not m:
        return None
    bpm = float(m.group(1).replace(",", "."))
    return bpm if 20.0 <= bpm <= 400.0 else None


def read_tags(path: str | os.PathLike) -> Tags:
    """Artist, title, album and an existing BPM tag; empty Tags when there are none."""
    import mutagen

    try:
        f = mutagen.File(os.fspath(path), easy=True)
    except (mutagen.MutagenError, OSError, ValueError, KeyError, IndexError, EOFError):
        return Tags()
    if f is None or f.tags is None:
        return Tags()
    tags = f.tags

    def get(key):
        try:
            return _first(tags.get(key))
        except (KeyError, ValueError, TypeError):
            return None

    return Tags(artist=get("artist"), title=get("title"), album=get("album"),
                bpm=parse_bpm(get("bpm")))
