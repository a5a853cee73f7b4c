"""Writing a file so that a crash or Ctrl-C leaves the old version or the new one, never half.

The data goes to a temporary file in the destination's folder, is flushed to disk, gets the
permissions a plain ``open(dest, "w")`` would have given (mkstemp makes files private), and
replaces the destination with ``os.replace``. Parent folders are created. OSError propagates;
callers turn it into their own TempoError naming the file. On a full disk, a quota or a
read-only place the OSError's text also says what to do (its ``strerror`` gets the fix), and the
temporary file is removed: the destination keeps its previous content.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from typing import BinaryIO

#: What to do about the OSErrors a write meets most, appended to their text.
_FIXES = {
    errno.ENOSPC: "the disk is full: free some space there or write elsewhere",
    errno.EDQUOT: "the disk quota is used up: free some space there or write elsewhere",
    errno.EROFS: "the file system is read-only: write elsewhere",
    errno.EACCES: "no permission to write there: write elsewhere or change the permissions",
    errno.EPERM: "no permission to write there: write elsewhere or change the permissions",
    errno.EFBIG: "the file is larger than this file system or process allows",
}


def _with_fix(err: OSError) -> OSError:
    fix = _FIXES.get(err.errno)
    if fix is None or not err.strerror or fix in err.strerror:
        return err
    return type(err)(err.errno, f"{err.strerror} ({fix})", err.filename)


#: Longest file name most file systems take (bytes); a temporary name stays within it.
NAME_MAX = 255


def _temp_prefix(dest: str) -> str:
    """"." + the destination's name + ".", shortened so that the temporary file's whole name
    (prefix, 8 random characters, ".tmp") fits in NAME_MAX bytes even when the destination's
    own name is as long as the file system allows."""
    name = os.path.basename(dest)
    room = NAME_MAX - len(".") - len(".") - 8 - len(".tmp")
    raw = os.fsencode(name)
    if len(raw) > room:  # cut at a byte count, dropping a character cut in two
        name = raw[:room].decode("utf-8", "ignore") or "tempo"
    return "." + name + "."


@contextlib.contextmanager
def atomic_open(dest: str) -> Iterator[BinaryIO]:
    """A binary file to write ``dest`` through, for data too large to hold (a streamed export):
    it becomes ``dest`` only when the ``with`` block ends without an exception; otherwise the
    temporary file is removed and ``dest`` keeps its previous content. OSError gets the fix in
    its text, as for :func:`atomic_write_bytes`."""
    try:
        parent = os.path.dirname(os.path.abspath(dest))
        os.makedirs(parent, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=_temp_prefix(dest), suffix=".tmp")
    except OSError as err:
        raise _with_fix(err) from err
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
        tmp = None
    except OSError as err:
        raise _with_fix(err) from err
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def atomic_write_bytes(dest: str, data: bytes) -> None:
    """Write ``data`` to ``dest`` atomically (see the module docstring)."""
    with atomic_open(dest) as f:
        f.write(data)
