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


# --- analyze ---------------------------------------------------------------------------------

ROW_FIELDS = ("path", "bpm", "confidence", "stable", "drift", "energy", "loudness_lufs",
              "onset_rate", "duration_s", "artist", "title", "album", "tag_bpm", "candidates",
              "format", "sample_rate", "channels", "error_kind", "error")


def _fmt(value, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


def _table_line(ta) -> str:
    stable = "yes" if ta.tempo.stable else f"no ({ta.tempo.drift:.0%})"
    return (f"{_fmt(ta.bpm, '6.1f'):>6}  {ta.confidence:4.2f}  {stable:<9} {ta.energy:6.2f}"
            f"  {_fmt(ta.loudness_lufs, '6.1f'):>6}  {ta.duration_s:7.1f}  "
            f"{click.format_filename(ta.path)}")


TABLE_HEADER = "   BPM  CONF  STABLE    ENERGY    LUFS  LENGTH_S  FILE"


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--hidden", is_flag=True, help="Include hidden files and folders.")
@click.option("-q", "--quiet", is_flag=True, help="No progress on stderr.")
def analyze(paths, as_json, as_csv, hidden, quiet):
    """Estimate BPM, confidence, stability, energy and loudness of audio files.

    PATHS are files or folders (searched recursively; audio extensions, any case). A file that
    cannot be analysed gets one line on stderr naming it and the reason, and the rest goes on.

    \b
    Exit status: 0 when every file was analysed, 1 when any failed (or a path does not exist).

    \b
    Examples:
      tempo analyze song.mp3
      tempo analyze ~/Music/Running --json > running.jsonl
      tempo analyze ~/Music --csv > library.csv
    """
    import csv
    import json

    from .library import analyze_iter, find_audio_files
    from .models import FileFailure

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    files = find_audio_files(paths, hidden=hidden)
    if not files:
        raise TempoError("no audio files found", path=", ".join(paths),
                         hint="check the path, or the file extensions")
    out = click.get_text_stream("stdout")
    writer = None
    if as_csv:
        writer = csv.DictWriter(out, fieldnames=ROW_FIELDS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
    elif not as_json:
        click.echo(TABLE_HEADER)
    progress = _progress_printer(len(files), quiet=quiet or len(files) < 2)
    failed = 0
    for i, result in enumerate(analyze_iter(files), 1):
        progress(i, result.path)
        if isinstance(result, FileFailure):
            failed += 1
            click.echo(f"error: {click.format_filename(result.path)}: {result.message}", err=True)
            if as_json:
                click.echo(json.dumps({"path": result.path, "error": result.to_dict()}))
            elif writer:
                writer.writerow({"path": result.path, "error_kind": result.kind,
                                 "error": result.message})
            continue
        if as_json:
            click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        elif writer:
            writer.writerow(result.to_row())
        else:
            click.echo(_table_line(result))
    progress(None, None)
    if failed:
        click.echo(f"{failed} of {len(files)} files failed", err=True)
        sys.exit(1)


def _progress_printer(total: int, *, quiet: bool):
    """progress(done, path) on stderr: a rewritten line on a terminal, nothing otherwise.

    Called with (None, None) at the end to finish the line."""
    err = click.get_text_stream("stderr")
    if quiet or not err.isatty():
        return lambda done, path: None

    def progress(done, path):
        if done is None:
            click.echo("\r\033[K", nl=False, err=True)
            return
        name = click.format_filename(path, shorten=True)[:50]
        click.echo(f"\r\033[K[{done}/{total}] {name}", nl=False, err=True)

    return progress


def main():
    cli(prog_name="tempo")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
