"""The one error root of tempo and its few subclasses.

Library code raises these; ``tempo.cli`` is the single place that turns them into a message and an
exit code. Every message names the file (or option) it is about and, where there is one, the fix.
"""

from __future__ import annotations


class TempoError(Exception):
    """Root of every error tempo raises on purpose. The CLI prints ``str(err)`` and exits 1."""

    #: short machine-readable kind, recorded in the cache and in ``--json`` error rows
    kind = "error"

    def __init__(self, message: str, *, path: str | None = None, hint: str | None = None):
        self.message = message
        self.path = path
        self.hint = hint
        super().__init__(self.__str__())

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        if self.hint:
            text += f" ({self.hint})"
        return text


class DecodeError(TempoError):
    """A file could not be decoded as audio (corrupt, truncated, not audio, unsupported codec)."""

    kind = "decode"


class EmptyAudioError(DecodeError):
    """A file decoded to no samples (zero-byte file, header only)."""

    kind = "empty"


class AnalysisError(TempoError):
    """Audio decoded but could not be analysed (for example too short for any tempo)."""

    kind = "analysis"


class CacheError(TempoError):
    """The analysis database cannot be opened, read or written."""

    kind = "cache"


class ProfileError(TempoError):
    """A workout profile is unknown or a profile file is invalid."""

    kind = "profile"


class PlaylistError(TempoError):
    """A playlist cannot be built or written."""

    kind = "playlist"


class TagError(TempoError):
    """Tags cannot be read or written."""

    kind = "tag"
