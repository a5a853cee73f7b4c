"""Text from files (tags, file names, decoder messages) made safe to print on a terminal (pure).

A title tag or a file name can hold anything: a newline that splits a table row in two, an
escape sequence that recolours the terminal, moves the cursor or sets the window title, a
right-to-left override that shows ``gnp.exe`` as ``exe.png``. Everything the CLI prints about
a file goes through :func:`safe` (or :func:`safe_path`) so that such characters are *shown*,
escaped the way Python writes them (``\\n``, ``\\x1b``, ``\\u202e``), instead of acting.

Conventions
-----------
- Escaped: C0 controls and DEL (tab and newline too: one item, one line), C1 controls
  (U+0080-U+009F, which some terminals obey like ESC), the bidirectional overrides, embeddings
  and isolates (U+202A-U+202E, U+2066-U+2069, LRM/RLM/ALM), the line and paragraph separators,
  and lone surrogates (bytes of a file name that are not UTF-8, shown as ``\\xff``).
- Everything else is kept, including letters of every script, combining marks, emoji and the
  zero-width joiner inside emoji: only characters that can act on a terminal are touched.
- Machine output stays exact: :func:`json_line` writes the same JSON values, with those
  characters as ``\\uXXXX`` escapes, which every JSON reader turns back into the original.
"""

from __future__ import annotations

import json
import os
import re

#: Characters that act on a terminal instead of being shown (see the module docstring).
UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e"
                    "\u2066-\u2069\ud800-\udfff]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match) -> str:
    ch = match.group()
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, kept by surrogateescape
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def safe(text: object) -> str:
    """``text`` (anything; None becomes "") with every character that could act on a terminal
    shown as an escape: ``safe("a\\nb\\x1b[31m")`` is ``'a\\\\nb\\\\x1b[31m'``."""
    if text is None:
        return ""
    if not isinstance(text, str):
        text = os.fsdecode(text) if isinstance(text, bytes) else str(text)
    return UNSAFE.sub(_escape, text)


def safe_path(path: str | bytes | os.PathLike) -> str:
    """A file name for a message: :func:`safe` of the path as given (bytes that are not UTF-8
    shown as ``\\xff``, where ``click.format_filename`` would show an undecodable "?")."""
    return safe(os.fsdecode(os.fspath(path)))


def _json_escape(match: re.Match) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_line(obj) -> str:
    """``json.dumps(obj, ensure_ascii=False)`` with the characters :data:`UNSAFE` flags written
    as ``\\uXXXX`` escapes (json already escapes C0): the same JSON values, safe on a terminal.
    A lone surrogate (a file name that is not UTF-8) becomes ``\\udcff`` as Python's own
    ``ensure_ascii`` output writes it."""
    return UNSAFE.sub(_json_escape, json.dumps(obj, ensure_ascii=False))
