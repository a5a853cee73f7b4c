"""Reading tags, and writing the analysed BPM into them, with mutagen.

Tags are a courtesy: a file whose tags cannot be read still gets analysed, with empty tags. A
file that cannot be decoded is reported by the decoder (tempo.audio), not here.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass

from .errors import TagError
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

    path = os.fspath(path)
    id3_chunk = tag_kind(path) in ("wav", "aiff")  # easy mode does not map their ID3 chunk
    try:
        f = mutagen.File(path, easy=not id3_chunk)
    except (mutagen.MutagenError, OSError, ValueError, KeyError, IndexError, EOFError):
        return Tags()
    except MemoryError:  # a tag block declaring gigabytes (mutagen reads what it declares)
        return Tags()
    if f is None or f.tags is None:
        return Tags()
    tags = f.tags
    if id3_chunk:
        def get(key):
            frame = tags.get(key)
            return _first(frame.text) if frame is not None else None

        return Tags(artist=get("TPE1"), title=get("TIT2"), album=get("TALB"),
                    bpm=parse_bpm(get("TBPM")))

    def get(key):
        try:
            return _first(tags.get(key))
        except (KeyError, ValueError, TypeError):
            return None

    return Tags(artist=get("artist"), title=get("title"), album=get("album"),
                bpm=parse_bpm(get("bpm")))


# --- writing BPM tags ---------------------------------------------------------------------------

#: Skip estimates below this confidence unless told otherwise (0..1).
MIN_TAG_CONFIDENCE = 0.5
#: Where each container keeps its BPM, and whether it may hold decimals.
#: ID3 TBPM and MP4 tmpo are integers by their specs; Vorbis comments are free text.
BPM_TAG_FORMATS = {
    "mp3": ("ID3v2.3 TBPM", False),
    "flac": ("Vorbis comment BPM", True),
    "ogg": ("Vorbis comment BPM", True),
    "opus": ("Vorbis comment BPM", True),
    "m4a": ("MP4 tmpo", False),
    "wav": ("ID3v2.3 TBPM in the id3 chunk", False),
    "aiff": ("ID3v2.3 TBPM in the ID3 chunk", False),
}
_EXT_KIND = {".mp3": "mp3", ".flac": "flac", ".ogg": "ogg", ".oga": "ogg", ".opus": "opus",
             ".m4a": "m4a", ".mp4": "m4a", ".aac": "m4a", ".alac": "m4a", ".wav": "wav",
             ".wave": "wav", ".aif": "aiff", ".aiff": "aiff", ".aifc": "aiff"}


@dataclass(frozen=True)
class TagPlan:
    """What ``tempo tag`` does to one file: ``action`` is 'write', 'unchanged' or 'skip'."""

    path: str
    old: str | None
    new: str | None
    action: str
    reason: str = ""

    def to_dict(self) -> dict:
        return {"path": self.path, "old": self.old, "new": self.new, "action": self.action,
                "reason": self.reason}


def tag_kind(path: str | os.PathLike) -> str | None:
    """The tag family of a file from its extension ('mp3', 'flac', ...), None if unsupported."""
    return _EXT_KIND.get(os.path.splitext(os.fspath(path))[1].lower())


def format_bpm(bpm: float, *, decimals: int = 0, kind: str = "mp3") -> str:
    """BPM as tag text: an integer, or one decimal where the format allows it."""
    allows = BPM_TAG_FORMATS.get(kind, ("", False))[1]
    if decimals and allows:
        return f"{bpm:.{decimals}f}"
    return str(int(round(bpm)))


def plan_bpm_tag(analysis, *, existing: str | None, force: bool = False,
                 min_confidence: float = MIN_TAG_CONFIDENCE, decimals: int = 0) -> TagPlan:
    """Decide what to write for one analysed file (pure: no I/O)."""
    path, kind = analysis.path, tag_kind(analysis.path)
    if kind is None:
        return TagPlan(path, existing, None, "skip", "format has no BPM tag that tempo writes")
    bpm = analysis.tempo.bpm
    if bpm is None:
        return TagPlan(path, existing, None, "skip", "no tempo found")
    if analysis.tempo.confidence < min_confidence:
        return TagPlan(path, existing, None, "skip",
                       f"confidence {analysis.tempo.confidence:.2f} < {min_confidence:g}")
    new = format_bpm(bpm, decimals=decimals, kind=kind)
    if existing is not None and parse_bpm(existing) == parse_bpm(new):
        return TagPlan(path, existing, new, "unchanged", "already tagged")
    if existing is not None and not force:
        return TagPlan(path, existing, new, "skip", "has a BPM tag (use --force to replace it)")
    return TagPlan(path, existing, new, "write")


def _id3_bpm(tags) -> str | None:
    frame = tags.get("TBPM") if tags is not None else None
    return _first(frame.text) if frame is not None else None


def read_bpm_tag(path: str | os.PathLike) -> str | None:
    """The raw BPM tag text of a file, None when it has none (or cannot be read)."""
    import mutagen

    path = os.fspath(path)
    try:
        f = mutagen.File(path)
    except (mutagen.MutagenError, OSError, ValueError, EOFError, MemoryError):
        return None
    if f is None or f.tags is None:
        return None
    kind = tag_kind(path)
    if kind in ("mp3", "wav", "aiff"):
        return _id3_bpm(f.tags)
    if kind == "m4a":
        value = f.tags.get("tmpo")
        return str(value[0]) if value else None
    return _first(f.tags.get("BPM") or f.tags.get("bpm"))


def write_bpm_tag(path: str | os.PathLike, value: str) -> None:
    """Write ``value`` as the file's BPM tag, atomically: a copy is tagged, then renamed over the
    original, so a crash leaves the old file or the new one. Only the tags change; the audio data
    is copied byte for byte. Raises TagError naming the file."""
    import stat

    real = os.path.realpath(os.fspath(path))  # tag the target of a symlink, keep the link
    kind = tag_kind(real)
    if kind is None:
        raise TagError("tempo does not write BPM tags to this format", path=real,
                       hint="supported: " + ", ".join(sorted(BPM_TAG_FORMATS)))
    try:
        st = os.stat(real)
    except OSError as err:
        raise TagError(f"cannot read: {err.strerror}", path=real) from err
    if not st.st_mode & stat.S_IWUSR:
        raise TagError("file is read-only", path=real, hint="make it writable to tag it")
    folder = os.path.dirname(real)
    with _folder_lock(folder):  # another `tempo tag` on this folder: one after the other
        _write_copy(real, kind, value, folder)


@contextlib.contextmanager
def _folder_lock(folder: str):
    """An exclusive ``flock`` on the folder itself while a file in it is replaced by its tagged
    copy, so that two ``tempo tag --write`` runs never tag two copies of one file at the same
    time (the later rename would drop the other's change). Best effort: where folders cannot be
    locked (no fcntl, some network file systems) the copy-and-rename alone still guarantees that
    a file is never half-written."""
    fd = None
    try:
        import fcntl

        fd = os.open(folder, os.O_RDONLY)
        fcntl.flock(fd, fcntl.LOCK_EX)
    except (ImportError, OSError):
        pass
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _write_copy(real: str, kind: str, value: str, folder: str) -> None:
    import shutil
    import tempfile

    import mutagen

    try:
        fd, tmp = tempfile.mkstemp(prefix=".tempo-tag-", suffix=os.path.splitext(real)[1],
                                   dir=folder)
        os.close(fd)
    except OSError as err:
        raise TagError(f"cannot write in its folder: {err.strerror}", path=real,
                       hint="tagging needs a writable folder") from err
    try:
        shutil.copy2(real, tmp)
        _write_bpm(tmp, kind, value)
        os.replace(tmp, real)
    except (mutagen.MutagenError, OSError, ValueError, EOFError, MemoryError) as err:
        raise TagError(f"cannot write the BPM tag: {_why(err)}", path=real,
                       hint="the file may be corrupt or in use") from err
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _why(err: BaseException) -> str:
    if isinstance(err, MemoryError):
        return "its tag block declares an absurd size (out of memory reading it)"
    return str(err)


def _write_bpm(path: str, kind: str, value: str) -> None:
    from mutagen.id3 import ID3, TBPM, ID3NoHeaderError

    if kind == "mp3":
        try:
            tags = ID3(path)
        except ID3NoHeaderError:
            tags = ID3()
        tags.setall("TBPM", [TBPM(encoding=0, text=[value])])
        tags.save(path, v2_version=3)
    elif kind in ("wav", "aiff"):
        import mutagen

        f = mutagen.File(path)
        if f is None:
            raise ValueError("not a WAV/AIFF file")
        if f.tags is None:
            f.add_tags()
        f.tags.setall("TBPM", [TBPM(encoding=0, text=[value])])
        f.save(v2_version=3)
    elif kind == "m4a":
        from mutagen.mp4 import MP4

        f = MP4(path)
        if f.tags is None:
            f.add_tags()
        f.tags["tmpo"] = [int(round(float(value)))]
        f.save()
    else:
        import mutagen

        f = mutagen.File(path)
        if f is None:
            raise ValueError("not an Ogg/FLAC file")
        if f.tags is None:
            f.add_tags()
        f.tags["BPM"] = [value]
        f.save()


# --- existing BPM tags as knowledge (--trust-tags) -----------------------------------------------

#: Relative difference under which a tag and an estimate (or a candidate) are the same tempo.
TAG_AGREEMENT = 0.04
#: Metrical levels at which a tag may "choose the level" of our estimate.
TAG_LEVEL_RATIOS = (2.0, 0.5, 1.5, 2.0 / 3.0, 3.0, 1.0 / 3.0)


def apply_tag_tempo(analysis):
    """Use the file's own BPM tag (``analysis.tags.bpm``) where it knows better; pure.

    - no tag: unchanged;
    - tag agrees with the estimate (within 4 %): unchanged (ours is finer), source 'audio';
    - tag is a metrical level of ours (x2, /2, 3/2, 2/3, x3, /3): ours moved to that level, taking
      the matching candidate's finer BPM if there is one; source 'tag-level';
    - otherwise (no estimate, or an unrelated one): the tag is the tempo; source 'tag'.
    The decision is recorded in ``tempo.source``; candidates and curve are kept.
    """
    from dataclasses import replace

    tag = analysis.tags.bpm
    est = analysis.tempo
    if tag is None:
        return analysis

    def near(a, b):
        return a is not None and b is not None and abs(a - b) <= TAG_AGREEMENT * b

    if near(est.bpm, tag):
        return analysis
    if est.bpm is not None:
        for ratio in TAG_LEVEL_RATIOS:
            if near(est.bpm * ratio, tag):
                fine = [b for b, _ in est.candidates if near(b, tag)]
                bpm = fine[0] if fine else round(est.bpm * ratio, 1)
                curve = tuple((t, round(b * bpm / est.bpm, 1)) for t, b in est.curve)
                tempo = replace(est, bpm=bpm, curve=curve, source="tag-level", raw_bpm=est.bpm,
                                confidence=max(est.confidence, 0.9))
                return replace(analysis, tempo=tempo)
    tempo = replace(est, bpm=round(float(tag), 1), curve=(), stable=True, source="tag",
                    raw_bpm=est.bpm, confidence=max(est.confidence, 0.8))
    return replace(analysis, tempo=tempo)
