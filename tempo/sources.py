"""Where audio lives: local paths, or object-storage URLs read through fsspec.

Conventions
-----------
- A *URL* is ``scheme://...`` with a scheme of two or more letters (``s3://bucket/prefix``,
  ``gs://...``, ``file:///music``); anything else is a local path (``C:\\music`` too).
- URLs are kept as given (never made absolute, never relative to a playlist): they are the
  cache key's path, the playlist entry and what a worker reads.
- An object's cache key is (URL, size, ``mtime_ns``) like a file's: ``mtime_ns`` is a stable
  hash of the object's ETag when the store gives one (S3, GCS: it changes when the content
  does), else its modification time in nanoseconds (``file://``, most others).
- Listing streams: one folder (prefix level) at a time, sorted within the folder.
- fsspec and the store's own package (s3fs, gcsfs) are imported only when a URL is used; they
  come with the ``cluster`` extra. Credentials and endpoints come from the store's usual
  configuration (``AWS_*`` variables, ``~/.aws``, fsspec's ``FSSPEC_S3_ENDPOINT_URL``...).
- This module reads bytes; decoding stays in :mod:`tempo.audio`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import DecodeError, TempoError

#: What to install for URLs and ``--scheduler``.
CLUSTER_EXTRA = "pip install 'tempo-montage[cluster]'"

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+://")


def is_url(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a URL (``s3://b/k``), not a local path (``/x``, ``C:\\x``)."""
    return isinstance(path, str) and bool(_URL.match(path))


@dataclass(frozen=True)
class ObjectStat:
    """The part of ``os.stat_result`` a scan uses, for an object in a store."""

    st_size: int
    st_mtime_ns: int


def _fsspec():
    try:
        import fsspec
    except ImportError:
        raise TempoError("reading URLs needs fsspec", hint=CLUSTER_EXTRA) from None
    return fsspec


def filesystem(url: str):
    """(fsspec filesystem, path inside it) for ``url``; TempoError when its package is missing."""
    fsspec = _fsspec()
    try:
        return fsspec.core.url_to_fs(url)
    except ImportError as err:
        raise TempoError(f"reading {url.split('://')[0]}:// URLs needs a package that is not "
                         f"installed ({err})", path=url, hint=CLUSTER_EXTRA) from None
    except ValueError as err:
        raise TempoError(f"not a URL fsspec can read ({err})", path=url) from None


def object_stat(info: dict) -> ObjectStat:
    """The cache key's (size, mtime_ns) of an object from its fsspec ``info`` dict."""
    size = int(info.get("size") or info.get("Size") or 0)
    etag = info.get("ETag") or info.get("etag") or info.get("md5Hash")
    if etag:
        digest = hashlib.sha1(str(etag).strip('"').encode()).digest()
        return ObjectStat(size, int.from_bytes(digest[:7], "big"))  # stable, positive, < 2**63
    mtime = (info.get("mtime") or info.get("LastModified") or info.get("last_modified")
             or info.get("updated") or info.get("created"))
    if hasattr(mtime, "timestamp"):  # datetime
        mtime = mtime.timestamp()
    elif isinstance(mtime, str):
        from datetime import datetime

        try:
            mtime = datetime.fromisoformat(mtime.replace("Z", "+00:00")).timestamp()
        except ValueError:
            mtime = 0
    return ObjectStat(size, int(round(float(mtime or 0) * 1e9)))


def _join(fs, path: str) -> str:
    """The URL of ``path`` inside ``fs`` (``bucket/key`` -> ``s3://bucket/key``)."""
    return fs.unstrip_protocol(path)


def iter_objects(url: str, *, extensions: tuple[str, ...], hidden: bool = False
                 ) -> Iterator[tuple[str, ObjectStat]]:
    """(URL, key stat) of the audio objects under ``url``: a single object is taken as given,
    a prefix is listed one level at a time (streaming), each level sorted by name."""
    fs, root = filesystem(url)
    try:
        info = fs.info(root)
    except FileNotFoundError:
        info = None
    except OSError as err:
        raise TempoError(f"cannot list ({err})", path=url, hint="check the URL and the store's "
                         "credentials") from None
    if info is None:
        # S3 has no folders: a prefix with objects below it is still worth listing
        info = {"type": "directory"}
    if info.get("type") != "directory":
        yield url, object_stat(info)
        return
    try:
        for folder, dirs, files in fs.walk(root, detail=True):
            for name in sorted(d for d in dirs if not hidden and d.startswith(".")):
                del dirs[name]  # walk does not descend into hidden prefixes
            for name in sorted(files):
                if not hidden and name.startswith("."):
                    continue
                if name.lower().endswith(extensions):
                    yield _join(fs, f"{folder.rstrip('/')}/{name}"), object_stat(files[name])
    except FileNotFoundError:
        raise TempoError("no such object or prefix", path=url, hint="check the URL") from None
    except OSError as err:
        raise TempoError(f"cannot list ({err})", path=url, hint="check the URL and the store's "
                         "credentials") from None


def exists(path: str) -> bool:
    """Whether a local path or an object exists."""
    if not is_url(path):
        return os.path.exists(path)
    try:
        fs, inner = filesystem(path)
        return bool(fs.exists(inner))
    except (TempoError, OSError):
        return False


@contextlib.contextmanager
def local_copy(url: str) -> Iterator[tuple[str, ObjectStat]]:
    """A local file holding the object at ``url`` (downloaded to a private temporary file,
    removed afterwards; the original name's extension is kept for the decoder), and the
    object's key stat, read before the download so a change during it is seen next time.

    Every failure is a :class:`~tempo.errors.DecodeError` naming the URL: one object a worker
    cannot read is one failed file.
    """
    try:
        fs, inner = filesystem(url)
        st = object_stat(fs.info(inner))
    except FileNotFoundError:
        raise DecodeError("no such object", path=url) from None
    except TempoError as err:
        raise DecodeError(err.message, path=url, hint=err.hint) from None
    except OSError as err:
        raise DecodeError(f"cannot read ({err})", path=url) from None
    suffix = os.path.splitext(inner)[1][:16]
    fd, tmp = tempfile.mkstemp(prefix="tempo-object-", suffix=suffix)
    os.close(fd)
    try:
        try:
            fs.get_file(inner, tmp)
        except FileNotFoundError:
            raise DecodeError("no such object", path=url) from None
        except OSError as err:
            raise DecodeError(f"cannot download ({err})", path=url) from None
        yield tmp, st
    finally:
        with contextlib.suppress(OSError):
            os.remove(tmp)


def split_urls(paths: Iterable[str | os.PathLike]) -> tuple[list[str], list[str]]:
    """(local paths, URLs) of ``paths``, each in the given order."""
    local, urls = [], []
    for p in paths:
        (urls if is_url(p) else local).append(p if is_url(p) else os.fspath(p))
    return local, urls
