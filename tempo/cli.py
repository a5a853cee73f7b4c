"""The ``tempo`` command: a thin layer over the library.

This is the only module that imports click. Each command parses options, calls one library
function and formats the result. ``TempoError`` from the library becomes a one-line message and
exit status 1 in exactly one place (:class:`TempoGroup`); usage errors exit 2 (click's default).
"""

from __future__ import annotations

import sys

import click

from . import __version__
from .errors import TempoError


class TempoGroup(click.Group):
    """Turns every TempoError raised by a command into ``Error: <message>`` and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TempoError as err:
            raise click.ClickException(str(err)) from err


@click.group(cls=TempoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="tempo")
def cli():
    """Turn your music folder into training playlists.

    \b
    tempo analyze ~/Music/song.mp3      BPM, confidence, energy, loudness of files
    """


def main():
    cli(prog_name="tempo")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
