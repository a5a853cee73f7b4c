"""Writing a file so that a crash or Ctrl-C leaves the old version or the new one, never half.

The data goes to a temporary file in the destination's folder, is flushed to disk, gets the
permissions a plain ``open(dest, "w")`` would have given (mkstemp makes files private), and
replaces the destination with ``os.replace``. Parent folders are created. OSError propagates;
callers turn it into their own TempoError naming the file.
"""

from __future__ import annotations

import os
import tempfile


def atomic_write_bytes(dest: str, data: bytes) -> None:
    parent = os.path.dirname(os.path.abspath(dest))
    os.makedirs(parent, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix="." + os.path.basename(dest) + ".",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, dest)
        tmp = None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
