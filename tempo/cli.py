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
from .models import FileFailure
from .textsafe import json_line, safe, safe_path


class TempoGroup(click.Group):
    """Turns every TempoError raised by a command into ``Error: <message>`` and exit status 1."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except TempoError as err:
            raise click.ClickException(safe(str(err))) from err


# --- the library options, declared once -------------------------------------------------------

from .library import (  # noqa: E402  (no numpy: cheap)
    AUDIO_EXTENSIONS, DEFAULT_MEMORY_LIMIT_MB, DEFAULT_TIMEOUT_S, DEFAULT_WAIT_S,
)

_DB_HELP = "Cache database file. [default: $TEMPO_DB, else tempo.sqlite in the user cache folder]"

#: Every command that reads the library takes exactly these options (see ``library_options``).
_LIBRARY_OPTIONS = (
    click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=str), help=_DB_HELP),
    click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
                 help="Worker processes for files not yet in the cache. [default: number of CPUs]"),
    click.option("--timeout", "timeout_s", type=click.FloatRange(min=0, min_open=True),
                 default=DEFAULT_TIMEOUT_S, show_default=True,
                 help="Seconds one file may take; then its worker is replaced and the file "
                      "skipped (tried again on the next run)."),
    click.option("--ext", "extensions", multiple=True, metavar="EXT[,EXT...]",
                 help="File extensions to look for in folders (repeatable). [default: "
                      f"{','.join(e[1:] for e in AUDIO_EXTENSIONS)}]"),
    click.option("--hidden", is_flag=True, help="Also search hidden files and folders."),
    click.option("--retry-failed", is_flag=True,
                 help="Analyse files that failed before even if unchanged."),
    click.option("--trust-tags", is_flag=True, help=(
        "Use each file's own BPM tag where it knows better: to choose half or double time, or "
        "as the tempo when ours is unrelated (JSON: tempo.source is 'tag-level' or 'tag').")),
    click.option("--bpm-range", "bpm_range", metavar="LO-HI",
                 help="Preferred tempo range, at least an octave wide (e.g. 87-174): a track read "
                      "outside it takes its own half/double (or 3/2, 2/3) reading inside it. "
                      "[default: $TEMPO_BPM_RANGE, else bpm_range in the config file, else none]"),
    click.option("--wait", "wait_s", type=click.FloatRange(min=0), default=DEFAULT_WAIT_S,
                 show_default=True, metavar="SECONDS",
                 help="How long to wait for another tempo scan writing to the same cache when "
                      "files need analysing; then `tempo scan` stops, the other commands use what "
                      "is cached and name the files left out."),
    click.option("--memory-limit", "memory_limit_mb", type=click.IntRange(min=0),
                 default=DEFAULT_MEMORY_LIMIT_MB, show_default=True, metavar="MB",
                 help="Address space each worker process may use; a file that needs more is "
                      "skipped as 'memory' (tried again on the next run). 0: no limit."),
    click.option("--scheduler", metavar="tcp://HOST:PORT|local", envvar="TEMPO_SCHEDULER",
                 default=None, help="Analyse on a Dask cluster (its scheduler's address), or "
                 "'local' for a local one of --jobs workers; needs pip install "
                 "'tempo-montage[cluster]' (see docs/cluster.md). [env: TEMPO_SCHEDULER]"),
    click.option("-q", "--quiet", is_flag=True, help="No progress on stderr."),
)
_LIBRARY_KEYS = ("db_path", "jobs", "timeout_s", "extensions", "hidden", "retry_failed",
                 "trust_tags", "bpm_range", "wait_s", "memory_limit_mb", "scheduler", "quiet")


def library_options(f):
    """Add the library options to a command, which receives ``library`` (a
    :class:`tempo.library.Library` built from them) and ``quiet`` instead."""
    import functools

    @functools.wraps(f)
    def command(*args, **kwargs):
        from .corrections import default_range
        from .library import Library, LibraryOptions, ProgressPrinter

        given = {k: kwargs.pop(k) for k in _LIBRARY_KEYS}
        quiet = given.pop("quiet")
        given["extensions"] = given["extensions"] or AUDIO_EXTENSIONS
        given["bpm_range"] = default_range(given["bpm_range"])
        progress = None if quiet else ProgressPrinter(sys.stderr)
        notice = None if quiet else (lambda text: click.echo(f"note: {safe(text)}", err=True))
        library = Library(LibraryOptions(**given), progress=progress, notice=notice)
        return f(*args, library=library, quiet=quiet, **kwargs)

    for opt in reversed(_LIBRARY_OPTIONS):
        command = opt(command)
    return command


def _report_skipped(result) -> None:
    """One line per file a command had to leave out, and how many (one line for all the files
    left out while another scan held the cache)."""
    for f in result.failures:
        if f.kind != "busy":
            click.echo(f"skipped: {safe_path(f.path)}: {f.kind}: {safe(f.message)}", err=True)
    if result.busy:
        click.echo(f"note: another tempo scan is writing to the cache: {result.busy} files not "
                   "analysed yet were left out, the rest is from the cache (run again when it has "
                   "finished, or wait longer with --wait SECONDS)", err=True)
    if result.failures:
        click.echo(f"{len(result.failures)} of {result.found} files could not be analysed and "
                   "were left out", err=True)


@click.group(cls=TempoGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="tempo")
def cli():
    """Turn your music folder into training playlists.

    tempo analyses every track once (tempo, confidence, energy, loudness, tempo stability),
    keeps the results in a cache, and builds playlists that follow a workout's arc.

    \b
    Start here:
      tempo playlist ~/Music -o montage.m3u8      a 45-minute training montage
      tempo playlist ~/Music --profile cadence --spm 170 -o run.m3u8
      tempo profiles                              the workout profiles
    \b
    More:
      tempo scan ~/Music          analyse a library into the cache (re-scans are fast)
      tempo analyze song.mp3      BPM, confidence, energy, loudness of files
      tempo rank ~/Music          the best tracks for each part of a profile
      tempo tag ~/Music --write   write the BPM into the files' tags
      tempo fix song.mp3 --bpm 92 settle a track's tempo yourself (or --bpm-range 87-174)
      tempo plot montage.m3u8 -o arc.png    see the arc

    Run `tempo COMMAND --help` for each command's options and examples.
    """


# --- analyze ---------------------------------------------------------------------------------

ROW_FIELDS = ("path", "bpm", "confidence", "stable", "drift", "energy", "loudness_lufs",
              "onset_rate", "duration_s", "artist", "title", "album", "tag_bpm", "candidates",
              "bpm_source", "raw_bpm", "format", "sample_rate", "channels", "warnings",
              "error_kind", "error")


def _fmt(value, spec: str = "") -> str:
    if value is None:
        return "-"
    return format(value, spec) if spec else str(value)


#: Marks after the BPM in tables: where a tempo other than the audio's estimate came from.
SOURCE_MARKS = {"audio": " ", "user": "*", "range": "~", "tag-level": "t", "tag": "t"}


def _table_line(ta) -> str:
    stable = "yes" if ta.tempo.stable else f"no ({ta.tempo.drift:.0%})"
    note = f"  [{safe('; '.join(ta.warnings))}]" if ta.warnings else ""
    mark = SOURCE_MARKS.get(ta.tempo.source, "?")
    return (f"{_fmt(ta.bpm, '6.1f'):>6}{mark} {ta.confidence:4.2f}  {stable:<9} {ta.energy:6.2f}"
            f"  {_fmt(ta.loudness_lufs, '6.1f'):>6}  {ta.duration_s:7.1f}  "
            f"{safe_path(ta.path)}{note}")


def _report_warnings(result, limit: int | None = None) -> int:
    """``warning: FILE: truncated: ...`` on stderr for a scan's analysed files with warnings (the
    first ``limit`` of them); returns how many files have warnings."""
    warned = result.warnings
    for path, warnings in warned[:limit]:
        for w in warnings:
            click.echo(f"warning: {safe_path(path)}: {safe(w)}", err=True)
    if limit is not None and len(warned) > limit:
        click.echo(f"... and {len(warned) - limit} more files with warnings "
                   "(tempo analyze --json shows them)", err=True)
    return len(warned)


TABLE_HEADER = "   BPM  CONF  STABLE    ENERGY    LUFS  LENGTH_S  FILE"


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@click.option("--no-cache", is_flag=True, help="Analyse afresh; neither read nor fill the cache.")
@click.option("--strict", is_flag=True,
              help="Exit with status 1 also when a file has warnings (truncated, too short).")
@library_options
def analyze(paths, as_json, as_csv, no_cache, strict, library, quiet):
    """Estimate BPM, confidence, stability, energy and loudness of audio files.

    PATHS are files or folders (searched recursively; audio extensions, any case). Results go
    through the same cache as `tempo scan`, so files analysed before are shown at once. A file
    that cannot be analysed gets one line on stderr naming it and the reason, and the rest
    goes on. A file that was analysed but is truncated (less audio than its header declares),
    damaged or too short for a tempo gets a warning: in brackets after it in the table, on
    stderr, and in the "warnings" field of --json and --csv.

    \b
    Columns: BPM (0.1 resolution; marked * when you fixed it with `tempo fix`, ~ when
    --bpm-range chose it, t when --trust-tags did), CONF (confidence 0-1), STABLE (no if the
    tempo moves more than 4%, with the drift), ENERGY (0-1), LUFS (integrated loudness),
    LENGTH_S, FILE.
    Exit status: 0 when every file was analysed, 1 when any failed (or a path does not exist),
    or with --strict when any has warnings.

    \b
    Examples:
      tempo analyze song.mp3
      tempo analyze ~/Music/Running --json > running.jsonl
      tempo analyze ~/Music --csv > library.csv
    """
    import csv
    import dataclasses

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    if no_cache:
        library.options = dataclasses.replace(library.options, use_cache=False)
    result = library.scan(paths)
    if not result.found:
        raise TempoError("no audio files found", path=", ".join(paths),
                         hint="check the path, or the file extensions")
    rows = sorted([(t.path, t) for t in result.tracks] + [(f.path, f) for f in result.failures],
                  key=lambda pair: pair[0])
    out = sys.stdout
    writer = None
    if as_csv:
        writer = csv.DictWriter(out, fieldnames=ROW_FIELDS, extrasaction="ignore",
                                lineterminator="\n")
        writer.writeheader()
    elif not as_json:
        click.echo(TABLE_HEADER)
    for path, item in rows:
        if isinstance(item, FileFailure):
            click.echo(f"error: {safe_path(path)}: {safe(item.message)}", err=True)
            if as_json:
                click.echo(json_line({"path": path, "error": item.to_dict()}))
            elif writer:
                writer.writerow({"path": path, "error_kind": item.kind, "error": item.message})
        elif as_json:
            click.echo(json_line(item.to_dict()))
        elif writer:
            writer.writerow(item.to_row())
        else:
            click.echo(_table_line(item))
    warned = _report_warnings(result)
    if result.failures:
        click.echo(f"{len(result.failures)} of {result.found} files failed", err=True)
        sys.exit(1)
    if strict and warned:
        click.echo(f"{warned} of {result.found} files have warnings (--strict)", err=True)
        sys.exit(1)


# --- scan, cache (owner: scan) -----------------------------------------------------------------


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--failed", "list_failed", is_flag=True,
              help="List files that failed in earlier scans (below PATHS if given) and exit.")
@click.option("--strict", is_flag=True,
              help="Exit with status 1 if any file failed or has warnings (truncated, too short).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary (or --failed list) as JSON.")
@library_options
def scan(paths, list_failed, strict, as_json, library, quiet):
    """Analyse a music library into the cache; re-scans only touch what changed.

    PATHS are folders (searched recursively, symbolic links followed) or files. Results are
    stored as each file finishes: an interrupted scan resumes when run again. A file that moved
    is recognised by its content and not decoded again.

    Files that were analysed but are truncated, damaged or too short for a tempo are listed as
    warnings (`tempo analyze --json` shows them all).

    \b
    Exit status: 0 (also when some files failed, unless --strict), 1 on --strict with failures
    or warnings, or an unusable cache, 130 when interrupted.

    \b
    Examples:
      tempo scan ~/Music
      tempo scan ~/Music --jobs 4 --timeout 60
      tempo scan --failed
    """
    import json

    if list_failed:
        for f in library.failures(under=paths):
            click.echo(json_line(f.to_dict()) if as_json else
                       f"{safe_path(f.path)}: {f.kind}: {safe(f.message)}")
        return
    if not paths:
        raise click.UsageError("give at least one folder or file to scan (or --failed)")
    try:
        result = library.scan(paths, must_write=True, keep_tracks=False)  # counts only: flat memory
    except KeyboardInterrupt:
        click.echo("\ninterrupted: finished files are saved; run the same command to resume", err=True)
        sys.exit(130)
    if not quiet:
        shown = result.failures[:SCAN_FAILURES_SHOWN]
        for f in shown:
            click.echo(f"failed: {safe_path(f.path)}: {f.kind}: {safe(f.message)}", err=True)
        if len(result.failures) > len(shown):
            click.echo(f"... and {len(result.failures) - len(shown)} more (tempo scan --failed)", err=True)
        _report_warnings(result, limit=SCAN_FAILURES_SHOWN)
        if not result.found:
            click.echo("warning: no audio files found (check the paths, or --ext / --hidden)", err=True)
    click.echo(json.dumps(result.to_dict()) if as_json else result.summary())
    if strict and (result.failures or result.warned):
        sys.exit(1)


#: Failure lines printed after a scan; the rest are counted (``tempo scan --failed`` lists all).
SCAN_FAILURES_SHOWN = 20


@cli.group()
def cache():
    """Inspect or clean the analysis cache (see `tempo scan`)."""


@cache.command("info")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=str), help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def cache_info(db_path, as_json):
    """Where the cache is, its size, its rows and the analyzer versions in it."""
    import json

    from .cache import Cache

    with Cache.open(db_path) as db:
        info = db.info()
    if as_json:
        click.echo(json.dumps(info.to_dict()))
        return
    click.echo(f"path: {safe_path(info.path)}")
    click.echo(f"size: {info.size_bytes / 1e6:.1f} MB")
    click.echo(f"tracks: {info.tracks}")
    click.echo(f"failures: {info.failures}")
    click.echo(f"analyzer version: {info.current_version}")
    for version, settings_hash, rows in info.versions:
        mark = "" if version == info.current_version else "  (old: tempo cache prune drops it)"
        click.echo(f"  version {version}, settings {settings_hash}: {rows} tracks{mark}")


@cache.command("prune")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=str), help=_DB_HELP)
def cache_prune(db_path):
    """Drop rows of files that no longer exist and of older analyzer versions."""
    from .cache import Cache

    with Cache.open(db_path) as db:
        result = db.prune()
    click.echo(f"removed {result.missing} rows of missing files, "
               f"{result.old_version} rows of older analyzer versions")


@cache.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=str), help=_DB_HELP)
@click.option("-f", "--format", "fmt", type=click.Choice(["parquet", "csv", "jsonl"]), default=None,
              help="Output format. [default: from FILE's extension: .parquet, .csv, .jsonl]")
def cache_export(file, db_path, fmt):
    """Write every cached analysis to FILE as Parquet, CSV or JSON Lines.

    One row per analysed file (current analyzer version), by path. Parquet and CSV have flat
    columns (path, bpm, confidence, stable, drift, energy, loudness_lufs, ..., size, mtime_ns);
    JSON Lines has each analysis whole, as `tempo analyze --json` prints it. Streams in
    batches and replaces FILE only when complete. Parquet needs
    pip install 'tempo-montage[cluster]'.

    \b
    Examples:
      tempo cache export catalogue.parquet
      tempo cache export analyses.csv
      tempo cache export run.data --format jsonl
    """
    from .export import export_cache

    result = export_cache(file, db_path=db_path, fmt=fmt)
    click.echo(f"wrote {click.format_filename(result.path)}: {result.rows} analyses ({result.format})")


@cache.command("clear")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=str), help=_DB_HELP)
@click.option("--all", "forget_all", is_flag=True,
              help="Delete the whole database file, your corrections (tempo fix) included.")
@click.option("-y", "--yes", is_flag=True, help="Do not ask for confirmation.")
def cache_clear(db_path, forget_all, yes):
    """Delete every stored analysis; keep your tempo corrections (tempo fix).

    The next scan analyses the files again, and the corrections apply to them as before.
    --all deletes the database file whole, corrections included (tempo fix --export saves
    them first). Refused while a scan is writing to the cache.

    Also fixes a corrupt cache file: a file that cannot be used as a cache is not deleted but
    renamed to <db>.unusable-<time> (delete it when you no longer need it), and the
    corrections that can still be read from it are kept in a fresh cache; the output says
    when none could be read.
    """
    from .cache import clear, default_db_path, stored_counts

    path = db_path or default_db_path()
    if not yes:
        counts = stored_counts(path)
        if forget_all:
            if counts is None:
                question = f"delete {safe_path(path)}, corrections included?"
            elif counts.corrections:
                question = (f"delete {safe_path(path)} and the {_count(counts.corrections, 'correction')} "
                            "in it (tempo fix --export saves them first)?")
            else:
                question = f"delete {safe_path(path)} ({_count(counts.analyses, 'analysis')})?"
        elif counts is None:
            question = f"delete every stored analysis in {safe_path(path)}?"
        else:
            keeping = f" (keeping {_count(counts.corrections, 'correction')})" if counts.corrections else ""
            question = f"delete the {_count(counts.analyses, 'analysis')} stored in {safe_path(path)}{keeping}?"
        click.confirm(question, abort=True, err=True)
    result = clear(path, keep_corrections=not forget_all)
    if not result.existed:
        click.echo(f"nothing to delete: {safe_path(path)} does not exist")
        return
    if result.unusable:
        click.echo(f"warning: {safe_path(path)} {safe(result.unusable)}; kept it as "
                   f"{safe_path(result.set_aside)} (delete that when you no longer need it)", err=True)
        if result.corrections_lost is None:
            click.echo("warning: no corrections could be read from it: any it held are lost "
                       "(tempo fix --import restores an export)", err=True)
        elif result.corrections_lost:
            click.echo(f"warning: {_count(result.corrections_lost, 'correction')} in it could not be "
                       "read and are lost", err=True)
        if result.corrections_kept:
            click.echo(f"cleared {safe_path(path)}: a fresh cache holds the "
                       f"{_count(result.corrections_kept, 'correction')} read from it")
        else:
            click.echo(f"cleared {safe_path(path)}: the next command starts a fresh cache")
        return
    done = "" if result.analyses is None else f"{_count(result.analyses, 'analysis')}"
    if result.failures:
        done += f", {_count(result.failures, 'failure record')}"
    if forget_all:
        lost = "" if result.corrections_lost is None else f", {_count(result.corrections_lost, 'correction')}"
        click.echo(f"deleted {safe_path(path)}" + (f" ({done}{lost})" if done else ""))
    elif result.corrections_kept:
        click.echo(f"deleted {done} from {safe_path(path)}; kept "
                   f"{_count(result.corrections_kept, 'correction')} (--all forgets them too)")
    else:
        click.echo(f"deleted {done} from {safe_path(path)}")


def _count(n: int, noun: str) -> str:
    """``1 analysis``, ``1,234 analyses``, ``3 corrections``."""
    if n == 1:
        return f"1 {noun}"
    plural = noun[:-2] + "es" if noun.endswith("is") else noun + "s"
    return f"{n:,} {plural}"


# --- profiles, rank, playlist (owner: playlist) --------------------------------------------------

from . import profiles as _profiles  # noqa: E402  (pure, cheap)
from .ranking import DEFAULT_MINUTES  # noqa: E402

_PROFILE_OPTION_NAMES = ("spm", "rpm", "rounds", "work", "rest", "bpm", "tolerance", "cooldown")


def _profile_options(f):
    """--profile and the built-in profiles' own options (None = the profile's default)."""
    p = _profiles
    opts = [
        click.option("-p", "--profile", "profile_name", metavar="NAME|FILE.toml",
                     default=p.DEFAULT_PROFILE, show_default=True,
                     help=f"Workout profile: {', '.join(p.BUILTIN)}, or a TOML file "
                          "(see `tempo profiles`)."),
        click.option("--spm", type=float, help=f"cadence: steps per minute. [default: {p.DEFAULT_SPM:g}]"),
        click.option("--rpm", type=float, help=f"cycling: pedal strokes per minute. [default: {p.DEFAULT_RPM:g}]"),
        click.option("--rounds", type=click.IntRange(1, 50), help=f"hiit: work/rest rounds. [default: {p.DEFAULT_ROUNDS}]"),
        click.option("--work", type=float, help=f"hiit: minutes of work per round. [default: {p.DEFAULT_WORK_MIN:g}]"),
        click.option("--rest", type=float, help=f"hiit: minutes of recovery per round. [default: {p.DEFAULT_REST_MIN:g}]"),
        click.option("--bpm", type=float, help=f"steady: target tempo. [default: {p.DEFAULT_STEADY_BPM:g}]"),
        click.option("--tolerance", type=float, metavar="PCT",
                     help=f"steady: accepted deviation in percent. [default: {p.DEFAULT_TOLERANCE_PCT:g}]"),
        click.option("--cooldown", is_flag=True, help="montage: add a falling cool-down after the climax."),
    ]
    for opt in reversed(opts):
        f = opt(f)
    return f


def _profile_kwargs(kwargs) -> dict:
    return {k: kwargs.get(k) for k in _PROFILE_OPTION_NAMES}


def _get_profile(profile_name, kwargs):
    return _profiles.get_profile(profile_name, **_profile_kwargs(kwargs))


@cli.group(invoke_without_command=True)
@click.pass_context
def profiles(ctx):
    """List the built-in workout profiles (see `tempo profiles show NAME`)."""
    if ctx.invoked_subcommand is None:
        width = max(len(n) for n in _profiles.BUILTIN)
        for name, description in _profiles.list_profiles():
            default = "  (default)" if name == _profiles.DEFAULT_PROFILE else ""
            click.echo(f"{name:<{width}}  {description}{default}")


@profiles.command("show")
@click.argument("name", metavar="NAME|FILE.toml")
@_profile_options
def profiles_show(name, **kwargs):
    """Print a profile as TOML, to save, edit and use with --profile FILE.toml.

    \b
    Examples:
      tempo profiles show montage > my-montage.toml
      tempo profiles show cadence --spm 180
    """
    kwargs.pop("profile_name", None)
    click.echo(_profiles.profile_to_toml(_get_profile(name, kwargs)), nl=False)


RANK_FIELDS = ("segment", "rank", "score", "bpm", "ratio", "effective_bpm", "energy",
               "confidence", "duration_s", "artist", "title", "path")


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@_profile_options
@click.option("-n", "--limit", type=click.IntRange(min=0), default=10, show_default=True,
              help="Best N tracks per segment (0: all that fit).")
@click.option("--explain", is_flag=True, help="Show the named parts each score adds up from.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (JSON Lines).")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@library_options
def rank(paths, profile_name, limit, explain, as_json, as_csv, library, quiet, **kwargs):
    """Rank the tracks under PATHS for each segment of a workout profile.

    A track is listed under a segment when its tempo (or its half/double where the segment
    allows) is in the segment's range; the score is a sum of named parts: tempo_fit, ratio,
    energy_fit, confidence, stability, length (--explain lists them).

    \b
    Examples:
      tempo rank ~/Music --profile cadence --spm 175
      tempo rank ~/Music --explain -n 3
      tempo rank ~/Music --json > ranking.jsonl
    """
    import csv

    from .ranking import rank as rank_tracks, unmatched

    if as_json and as_csv:
        raise click.UsageError("choose one of --json and --csv")
    profile = _get_profile(profile_name, kwargs)
    result = library.tracks(paths)
    _report_skipped(result)
    tracks = result.tracks
    matches = rank_tracks(tracks, profile, limit=limit or None)
    writer = None
    if as_csv:
        parts = [f"score_{name}" for name, _ in matches[0].parts] if matches else []
        writer = csv.DictWriter(sys.stdout, lineterminator="\n",
                                fieldnames=RANK_FIELDS + tuple(parts))
        writer.writeheader()
    segment, n = None, 0
    for m in matches:
        n = n + 1 if m.segment == segment else 1
        if m.segment != segment and not (as_json or as_csv):
            seg = next(s for s in profile.segments if s.name == m.segment)
            click.echo(f"{'' if segment is None else chr(10)}{m.segment}: {seg.describe_range()}")
            click.echo("   #  SCORE    BPM  RATIO  EFF_BPM  ENERGY  TRACK")
        segment = m.segment
        row = m.to_dict()
        if as_json:
            click.echo(json_line(dict(row, rank=n)))
        elif writer:
            writer.writerow({**{k: row.get(k) for k in RANK_FIELDS}, "rank": n,
                             **{f"score_{k}": v for k, v in row["parts"].items()}})
        else:
            ratio = {0.5: "1/2x", 1.0: "1x", 2.0: "2x"}.get(m.ratio, f"{m.ratio:g}x")
            click.echo(f"{n:4d}  {m.score:5.2f}  {m.track.bpm:5.1f}  {ratio:>5}  "
                       f"{m.effective_bpm:7.1f}  {m.track.energy:6.2f}  {safe(m.track.display_name)}")
            if explain:
                click.echo("        " + "  ".join(f"{k}={v:+.2f}" for k, v in m.parts))
    if not matches:
        raise TempoError(f"no track fits any segment of profile {profile.name!r}",
                         hint="try `tempo playlist` for what is missing, or another profile")
    left_out = len(unmatched(tracks, profile))
    if left_out:
        click.echo(f"note: {left_out} of {len(tracks)} tracks fit no segment of {profile.name} "
                   "(no tempo, or outside every segment's range)", err=True)


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--output", "output", required=True, metavar="FILE|-",
              help="Playlist file (.m3u8, .m3u, .pls, .xspf); '-' writes to stdout.")
@_profile_options
@click.option("-m", "--minutes", type=click.FloatRange(min=0, max=24 * 60, min_open=True),
              default=None, help=f"Length of the workout. [default: {DEFAULT_MINUTES:g}; hiit: "
                                 "the length of its rounds]")
@click.option("--seed", type=int, default=None, help="Vary the choice among similar tracks.")
@click.option("--paths", "paths_mode", type=click.Choice(["relative", "absolute", "uri"]),
              default=None, help="How entries name files: relative (to the playlist's folder, "
              "or to --base), absolute, or uri (file:// URIs, which VLC needs for names with "
              "#, ? or %). See docs/players.md.  [default: relative]")
@click.option("--absolute", is_flag=True, help="Same as --paths absolute.")
@click.option("--base", type=click.Path(file_okay=False, path_type=str), default=None,
              metavar="DIR", help="Entries relative to the music root DIR (for MPD's "
              "stored playlists, Navidrome, Jellyfin) instead of to the playlist's folder.")
@click.option("-f", "--format", "fmt", type=click.Choice(["m3u8", "m3u", "pls", "xspf"]),
              default=None, help="Playlist format. [default: from the extension, else m3u8]")
@library_options
def playlist(paths, output, profile_name, minutes, seed, paths_mode, absolute, base, fmt, library,
             quiet, **kwargs):
    """Make a workout playlist from the music under PATHS.

    Files are analysed through the cache (see `tempo scan`), scored against the profile's
    segments, and ordered to follow its arc over --minutes: the montage rises in tempo and energy
    to its fastest, most intense track at the end. Paths in the playlist are relative to its
    folder unless --paths or --base say otherwise (which player needs which: docs/players.md).
    A segment the music cannot fill is reported on stderr with what
    would help; the playlist is still written when anything fits.

    \b
    Examples:
      tempo playlist ~/Music -o montage.m3u8
      tempo playlist ~/Music --profile cadence --spm 175 --minutes 30 -o run.m3u8
      tempo playlist ~/Music --profile hiit --rounds 8 -o - | mpv --playlist=-
      tempo playlist ~/Music --paths uri -o ~/vlc-run.m3u8
      tempo playlist ~/Music --base ~/Music -o ~/.mpd/playlists/run.m3u
    """
    import os

    if absolute:
        if paths_mode not in (None, "absolute"):
            raise click.UsageError(f"--absolute means --paths absolute, not --paths {paths_mode}")
        paths_mode = "absolute"
    if base is not None and paths_mode not in (None, "relative"):
        raise click.UsageError(f"--base makes entries relative to DIR; it cannot go with "
                               f"--paths {paths_mode}")
    where = {"paths": paths_mode, "base": base}

    from .playlist import format_for, render, vlc_misreads, write_playlist

    fmt = format_for(output, fmt)
    plan = library.plan(paths, profile_name, minutes=minutes, seed=seed, **_profile_kwargs(kwargs))
    _report_skipped(plan.scan)
    seq, profile = plan.sequence, plan.profile
    title = f"tempo {profile.name}, {plan.minutes:g} min"
    if output == "-":
        from .playlist import PlaylistEntry

        text = render([PlaylistEntry.from_track(t) for t in seq.tracks], fmt,
                      base_dir=os.getcwd(), title=title, **where)
        sys.stdout.flush()  # then bytes: a file name that is not UTF-8 keeps them
        sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
        sys.stdout.buffer.flush()
    else:
        text = write_playlist(seq.tracks, output, fmt=fmt, title=title, **where)
    misread = vlc_misreads(text, fmt)
    if misread:
        click.echo(f"note: {misread} file name(s) hold '#', '?', '%XX' or bytes that are not "
                   "UTF-8: VLC cannot open them from raw paths (MPD and mpv can); for VLC use "
                   "--paths uri or .xspf (see docs/players.md)", err=True)
    # the summary goes to stderr when the playlist itself goes to stdout
    err = output == "-"
    if not quiet or not err:
        start = 0.0
        click.echo("   #  START   BPM  EFF_BPM  ENERGY  SEGMENT    TRACK", err=err)
        for i, m in enumerate(seq.matches, 1):
            mark = "  <- climax" if seq.climax_index == i - 1 else ""
            click.echo(f"{i:4d}  {_clock(start):>5}  {m.track.bpm:5.1f}  {m.effective_bpm:7.1f}"
                       f"  {m.track.energy:6.2f}  {m.segment:<9}  {safe(m.track.display_name)}{mark}",
                       err=err)
            start += m.track.duration_s
    for s in seq.shortfalls:
        click.echo(f"warning: {safe(s.message)}", err=True)
        for tip in s.suggestions:
            click.echo(f"  try: {safe(tip)}", err=True)
    if seq.skipped_no_tempo:
        click.echo(f"note: {seq.skipped_no_tempo} track(s) without a detectable tempo were left out",
                   err=True)
    where = "stdout" if output == "-" else safe_path(output)
    click.echo(f"wrote {where}: {len(seq.matches)} tracks, {_clock(seq.duration_s)} "
               f"(asked {_clock(seq.requested_s)}), profile {profile.name}", err=err)


# --- tag (owner: lead) --------------------------------------------------------------------------

from .tags import MIN_TAG_CONFIDENCE  # noqa: E402  (mutagen only inside functions: cheap)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("--write", is_flag=True,
              help="Write the tags. Without it, a dry run prints what would change.")
@click.option("--force", is_flag=True, help="Replace BPM tags the files already have.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=MIN_TAG_CONFIDENCE,
              show_default=True, help="Skip estimates less confident than this.")
@click.option("--decimals", type=click.IntRange(0, 1), default=0, show_default=True,
              help="Decimals in the tag where the format allows them (Vorbis comments: FLAC, "
                   "OGG, Opus); ID3 TBPM and MP4 tmpo are always integers.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file (JSON Lines).")
@library_options
def tag(paths, write, force, min_confidence, decimals, as_json, library, quiet):
    """Write the analysed BPM into the files' own tags (a dry run unless --write).

    MP3 gets an ID3v2.3 TBPM frame (v2.3 so that Windows shows it), FLAC/OGG/Opus a Vorbis
    comment BPM, M4A the MP4 tmpo atom, WAV/AIFF a TBPM frame in their ID3 chunk. Existing BPM
    tags are kept unless --force; estimates below --min-confidence are skipped. Each file is
    tagged as a copy that then replaces it, so an interruption never leaves a broken file, and
    the audio data is not touched.

    \b
    Lines read: OLD -> NEW  FILE, then the action (write, written, unchanged, skip: reason).
    Exit status: 0, or 1 when any file could not be analysed or tagged.

    \b
    Examples:
      tempo tag ~/Music                # dry run: what would change
      tempo tag ~/Music --write        # write missing BPM tags
      tempo tag song.flac --write --force --decimals 1
    """

    def show(plan):
        if as_json:
            click.echo(json_line(plan.to_dict()))
            return
        old, new = safe(plan.old or "-"), safe(plan.new or "-")
        why = f": {safe(plan.reason)}" if plan.reason else ""
        click.echo(f"{old:>6} -> {new:<6} {safe_path(plan.path)}  "
                   f"[{plan.action}{why}]")

    report = library.tag(paths, write=write, force=force, min_confidence=min_confidence,
                         decimals=decimals, on_plan=show)
    for f in report.failures:
        click.echo(f"failed: {safe_path(f.path)}: {f.kind}: {safe(f.message)}", err=True)
    todo = report.count("written") if write else report.count("write")
    verb = "written" if write else "to write"
    summary = (f"{todo} {verb}, {report.count('unchanged')} unchanged, "
               f"{report.count('skip')} skipped, {len(report.failures)} failed")
    if not write and todo:
        summary += " (dry run: nothing written; add --write)"
    click.echo(summary, err=True)
    if report.failures:
        sys.exit(1)


# --- fix: the listener's tempo ------------------------------------------------------------------

#: Tracks less confident than this are offered by `tempo fix --review`.
REVIEW_BELOW = 0.5


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--bpm", type=float, help="The track's tempo, as you tap it.")
@click.option("--double", is_flag=True, help="Twice the tempo tempo shows now.")
@click.option("--half", is_flag=True, help="Half the tempo tempo shows now.")
@click.option("--clear", is_flag=True, help="Forget the correction: the estimate stands again.")
@click.option("--list", "list_fixes", is_flag=True, help="List the stored corrections and exit.")
@click.option("--review", is_flag=True,
              help="Walk through the low-confidence tracks under PATHS one by one and fix them "
                   "from the keyboard.")
@click.option("--below", type=click.FloatRange(0, 1), default=REVIEW_BELOW, show_default=True,
              help="--review: offer tracks whose confidence is below this.")
@click.option("--export", "export_to", metavar="FILE.csv",
              help="Write every correction to a CSV file (to move them to another machine).")
@click.option("--import", "import_from", metavar="FILE.csv", type=click.Path(dir_okay=False),
              help="Read corrections from a CSV file written by --export.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file (JSON Lines).")
@library_options
def fix(paths, bpm, double, half, clear, list_fixes, review, below, export_to, import_from,
        as_json, library, quiet):
    """Settle the beat level of tracks yourself; every command then uses your tempo.

    A correction is stored in the cache under the file's content, so it survives re-scans, moves,
    renames and new versions of tempo; `tempo tag --write` writes it into the file. Tables mark
    a corrected tempo with *, and JSON says tempo.source "user" (tempo.raw_bpm keeps the
    estimate).

    \b
    Examples:
      tempo fix "Artist/Song.mp3" --bpm 92
      tempo fix ~/Music/HipHop --half          # every track there is read double
      tempo fix ~/Music --review               # go through the unsure ones
      tempo fix --list
      tempo fix --export corrections.csv       # then on another machine: --import
    """

    chosen = sum([bpm is not None, double, half, clear, list_fixes, review,
                  export_to is not None, import_from is not None])
    if chosen != 1:
        raise click.UsageError("say exactly one of --bpm, --double, --half, --clear, --list, "
                               "--review, --export, --import")
    if list_fixes:
        for c in library.corrections():
            click.echo(json_line({"path": c.path, "bpm": c.new_bpm})
                       if as_json else f"{c.new_bpm:6.1f}  {safe_path(c.path)}")
        return
    if export_to is not None:
        n = library.export_corrections(export_to)
        click.echo(f"wrote {n} corrections to {safe_path(export_to)}", err=True)
        return
    if import_from is not None:
        n, skipped = library.import_corrections(import_from)
        for line in skipped:
            click.echo(f"skipped: {safe(line)}", err=True)
        click.echo(f"imported {n} corrections", err=True)
        return
    if not paths:
        raise click.UsageError("give the files or folders to fix")
    if review:
        _review(library, paths, below)
        return
    for c in library.fix(paths, bpm=bpm, double=double, half=half, clear=clear):
        if as_json:
            click.echo(json_line(c.to_dict()))
        else:
            click.echo(f"{_fmt(c.old_bpm, '.1f'):>6} -> {_fmt(c.new_bpm, '.1f'):<6} "
                       f"{safe_path(c.path)}  [{c.action}]")


def _review(library, paths, below: float) -> None:
    """Ask, track by track, for the tempo of the low-confidence tracks under PATHS."""
    todo = library.to_review(paths, below=below)
    if not todo:
        click.echo(f"nothing to review: every track is at least {below:g} confident or fixed",
                   err=True)
        return
    click.echo(f"{len(todo)} tracks below confidence {below:g}. Answer: 2 (double), "
               "h (half), a number (the tempo), Enter (keep), q (quit).", err=True)
    fixed = 0
    for n, t in enumerate(todo, 1):
        cands = ", ".join(f"{b:g}" for b, _ in t.tempo.candidates[:4]) or "-"
        click.echo(f"\n[{n}/{len(todo)}] {safe(t.display_name)}\n  {safe_path(t.path)}\n"
                   f"  BPM {_fmt(t.bpm, '.1f')}  confidence {t.confidence:.2f}  candidates {cands}",
                   err=True)
        while True:
            answer = click.prompt("  tempo", default="", show_default=False, err=True).strip().lower()
            try:
                if answer in ("", "s", "skip", "k", "keep"):
                    break
                if answer in ("q", "quit"):
                    click.echo(f"stopped: {fixed} fixed", err=True)
                    return
                if answer in ("2", "x2", "*2", "d", "double"):
                    library.fix([t.path], double=True)
                elif answer in ("h", "/2", "half", "0.5"):
                    library.fix([t.path], half=True)
                else:
                    library.fix([t.path], bpm=float(answer))
            except ValueError:
                click.echo("  answer 2, h, a number, Enter or q", err=True)
                continue
            fixed += 1
            break
    click.echo(f"\n{fixed} of {len(todo)} fixed", err=True)


# --- plot (owner: lead) -------------------------------------------------------------------------

PLAYLIST_EXTENSIONS = (".m3u", ".m3u8", ".pls", ".xspf")


@cli.command()
@click.argument("target", type=click.Path(exists=True, dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="PNG file to write (parent folders are created).")
@_profile_options
@click.option("-m", "--minutes", type=click.FloatRange(min=0, max=24 * 60, min_open=True),
              default=None, help="The minutes the playlist was planned for. [default: its length]")
@click.option("--base", type=click.Path(file_okay=False, path_type=str), default=None,
              metavar="DIR", help="The music root of a playlist written with --base DIR.")
@library_options
def plot(target, output, minutes, base, library, quiet, profile_name, **profile_kwargs):
    """Draw a playlist's arc, or one track's tempo over time, as a PNG.

    \b
    TARGET is a playlist (.m3u8, .m3u, .pls, .xspf): each track's tempo (as played, after any
    half/double time) and energy along the playlist's timeline, against the target band of the
    profile (--profile and its options, as for `tempo playlist`), planned for the playlist's
    length: the picture shows what `tempo playlist` planned. Tracks are read through the cache
    with the same options as the other commands (--bpm-range, --trust-tags, corrections).
    Or TARGET is an audio file: its onset envelope, its tempo curve over time and the tempo
    candidates with their strengths.

    \b
    Needs matplotlib: pip install 'tempo-montage[plot]'.

    \b
    Examples:
      tempo plot montage.m3u8 -o arc.png
      tempo plot run.m3u8 --profile cadence --spm 175 -o run.png
      tempo plot song.flac -o song.png
    """
    from .plot import _matplotlib, plot_playlist, plot_track

    _matplotlib()  # fail early, before any analysis, when the extra is missing
    if target.lower().endswith(PLAYLIST_EXTENSIONS):
        options = _profile_kwargs(profile_kwargs)
        _profiles.resolve_profile(profile_name, **options)  # a bad profile fails before the scan
        path, data = plot_playlist(target, output, profile=profile_name, profile_options=options,
                                   minutes=minutes, library=library, base=base)
        click.echo(f"wrote {safe_path(path)}: {len(data.starts_s)} tracks against "
                   f"profile {safe(data.profile)}")
    else:
        path, data = plot_track(target, output)
        click.echo(f"wrote {safe_path(path)}: {safe(data.label)}")



# --- mix ---------------------------------------------------------------------------------------

from .mix import defaults as _mixd  # noqa: E402  (constants only: cheap)


def _mix_tracks_from_playlist(playlist_path, *, strict, library):
    """The analysed tracks of a playlist, in its order, through the library; missing or
    undecodable entries are named on stderr and skipped (``strict``: fatal)."""
    tracks, result = library.playlist_tracks(playlist_path)
    for f in result.failures:
        if strict:
            raise TempoError(f"{f.kind}: {f.message}", path=f.path,
                             hint="without --strict it is skipped")
        click.echo(f"skipped: {safe_path(f.path)}: {f.kind}: {safe(f.message)}", err=True)
    if not tracks:
        raise TempoError("none of the playlist's tracks could be analysed", path=playlist_path)
    return tracks


def _mix_items_for_playlist(tracks, grids, profile):
    """MixItems in playlist order; each track's ratio (1, 2, 1/2) is the one nearest the
    profile's tempo at its place, the arc stretched over the playlist."""
    from .mix import MixItem, choose_ratio
    from .mix.plan import arc_target

    total = sum(t.duration_s for t in tracks) or 1.0
    items, at = [], 0.0
    for t in tracks:
        grid = grids.get(t.path)
        if grid is not None:
            target, seg = arc_target(profile, total, at + t.duration_s / 2)
            ratios = next((s.ratios for s in profile.segments if s.name == seg), (1.0,))
            items.append(MixItem(path=t.path, name=t.display_name, bpm=t.bpm, grid=grid,
                                 ratio=choose_ratio(t.bpm, target, ratios), segment=seg))
        at += t.duration_s
    return items


def _mix_sequence(tracks, profile, *, minutes, seed, cut_bars, overlap_beats):
    """build_sequence over the tracks as the mix will use them: each track counted for the
    time it adds (its cut, or its length, less the overlap it shares)."""
    from dataclasses import replace

    from .ranking import build_sequence

    by_path = {t.path: t for t in tracks}
    shaped = []
    for t in tracks:
        if not t.bpm:
            shaped.append(t)
            continue
        beat_s = 60.0 / t.bpm
        length = t.duration_s if cut_bars is None else min(t.duration_s, cut_bars * 4 * beat_s)
        length = max(length - overlap_beats * beat_s, 4 * beat_s)
        shaped.append(replace(t, duration_s=round(length, 3)))
    seq = build_sequence(shaped, profile, minutes=minutes, seed=seed)
    return seq, by_path


def _mix_grids(tracks, *, jobs, strict, quiet):
    """Beat grids of ``tracks`` (tempo.mix.beat_grids) with progress on stderr; the tracks
    that fail are named there and skipped. (grids, failures)"""
    from .library import ProgressPrinter
    from .mix import beat_grids

    progress = None if quiet else ProgressPrinter(sys.stderr, label="beat grids")
    grids, failures = beat_grids(tracks, jobs=min(jobs, len(tracks)), progress=progress,
                                 strict=strict)
    for f in failures:
        click.echo(f"skipped: {click.format_filename(f.path)}: {f.kind}: {f.message}", err=True)
    return grids, failures


def _mix_refill(plan, tracks, profile, *, minutes, seed, grids, failed, jobs, strict, quiet,
                plan_options):
    """The plan again from a sequence asked for more minutes, when ``plan`` falls short of
    ``minutes`` (tempo.mix.refill_minutes); whichever plan comes nearer is kept. Beat grids
    are made only for tracks not seen before (``grids`` grows; ``failed`` are not retried)."""
    from .mix import items_from_sequence, plan_mix, refill_minutes

    more = refill_minutes(minutes, plan.duration_s)
    if more is None:
        return plan
    seq, by_path = _mix_sequence(tracks, profile, minutes=more, seed=seed,
                                 cut_bars=plan_options["cut_bars"],
                                 overlap_beats=plan_options["overlap_beats"])
    new = [by_path[m.track.path] for m in seq.matches
           if m.track.bpm and m.track.path not in grids and m.track.path not in failed]
    if new:
        grids.update(_mix_grids(new, jobs=jobs, strict=strict, quiet=quiet)[0])
    items = items_from_sequence(seq, grids)
    if not items:
        return plan
    second = plan_mix(items, profile, minutes=minutes, **plan_options)
    asked_s = minutes * 60.0
    return second if abs(second.duration_s - asked_s) < abs(plan.duration_s - asked_s) else plan


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=str),
              help="The mix: .flac, .wav, .mp3 or .ogg (format from the extension); a CUE sheet "
                   "is written beside it (same name, .cue).")
@_profile_options
@click.option("-m", "--minutes", type=click.FloatRange(min=0, max=24 * 60, min_open=True),
              default=None, help=f"Length of the mix (PATHS only; a playlist is mixed whole). "
                                 f"[default: {DEFAULT_MINUTES:g}; hiit: the length of its rounds]")
@click.option("--seed", type=int, default=None, help="Vary the choice among similar tracks.")
@click.option("--cut", is_flag=True,
              help="Montage edit: each track gives only its most intense --bars bars.")
@click.option("--bars", type=click.IntRange(min=1), default=_mixd.DEFAULT_BARS, show_default=True,
              help="Bars per track with --cut.")
@click.option("--max-stretch", "max_stretch_pct", type=click.FloatRange(0, 50),
              default=_mixd.DEFAULT_MAX_STRETCH * 100, show_default=True, metavar="PCT",
              help="Largest tempo change of a track, in percent.")
@click.option("--overlap", "overlap_beats", type=click.IntRange(min=0), default=_mixd.DEFAULT_OVERLAP_BEATS,
              show_default=True, help="Beats two tracks play together (whole bars: 0 = cuts).")
@click.option("--lufs", type=click.FloatRange(-40, 0), default=_mixd.DEFAULT_LUFS, show_default=True,
              help="Loudness of every track (LUFS, integrated); peaks stay under -1 dBTP.")
@click.option("--sample-rate", "sample_rate", type=click.IntRange(8000, 192000),
              default=_mixd.DEFAULT_SR, show_default=True, help="Sample rate of the mix (Hz).")
@click.option("--strict", is_flag=True,
              help="Stop at a missing or undecodable track instead of skipping it.")
@click.option("--no-cue", is_flag=True, help="Do not write the CUE sheet.")
@click.option("--json", "as_json", is_flag=True, help="Print the plan and result as JSON.")
@library_options
def mix(paths, output, profile_name, minutes, seed, cut, bars, max_stretch_pct, overlap_beats,
        lufs, sample_rate, strict, no_cue, as_json, library, quiet, **kwargs):
    """Render one continuous, beat-matched mix that follows a profile's arc.

    PATHS is a playlist (.m3u8, .m3u, .pls, .xspf: mixed in its order) or folders and files
    (tracks chosen and ordered as `tempo playlist` would, for --minutes). Every track is
    time-stretched, pitch kept, to the tempo the profile asks at its place (at most
    --max-stretch), so the tempo rises without a gap; consecutive tracks overlap for --overlap
    beats, beat on beat, the incoming one entering on a downbeat with its bass held back until
    mid-transition. Each track is brought to --lufs, a limiter keeps true peaks at -1 dBTP.

    \b
    The plan is printed first (START in the mix, the track's own BPM and the BPM it plays at),
    then the mix is rendered with progress on stderr. A playlist entry that is missing or does
    not decode is named and skipped (--strict: fatal); an unwritable output is refused before
    any work. Needs the mix extra: pip install 'tempo-montage[mix]'.

    \b
    Examples:
      tempo mix montage.m3u8 -o montage.flac
      tempo mix ~/Music --profile montage --minutes 45 -o mix.flac
      tempo mix ~/Music --minutes 4 --cut -o rocky.mp3
    """
    import json

    from .library import ProgressPrinter, default_jobs
    from .mix import check_output, items_from_sequence, plan_mix, render_mix
    from .mix import check_extra

    out_path = check_output(output)  # refuse an unwritable output before any work
    check_extra()
    jobs = library.options.jobs or default_jobs()
    profile, minutes = _profiles.resolve_profile(profile_name, minutes=minutes,
                                                 **_profile_kwargs(kwargs))
    cut_bars = bars if cut else None
    is_playlist = len(paths) == 1 and paths[0].lower().endswith(PLAYLIST_EXTENSIONS)
    if is_playlist:
        tracks = _mix_tracks_from_playlist(paths[0], strict=strict, library=library)
    else:
        # a file that fails to analyse stops the mix with --strict (the scan still stores results)
        result = library.scan(paths, strict=True) if strict else library.tracks(paths)
        _report_skipped(result)
        tracks = result.tracks
        library_tracks = tracks
        seq, by_path = _mix_sequence(tracks, profile, minutes=minutes, seed=seed,
                                     cut_bars=cut_bars, overlap_beats=overlap_beats)
        for s in seq.shortfalls:
            click.echo(f"warning: {s.message}", err=True)
        tracks = [by_path[m.track.path] for m in seq.matches]
    no_tempo = [t for t in tracks if not t.bpm]
    for t in no_tempo:
        click.echo(f"skipped: {click.format_filename(t.path)}: no tempo found", err=True)
    tracks = [t for t in tracks if t.bpm]
    if not tracks:
        raise TempoError("no track with a tempo to mix", path=", ".join(paths))
    grids, failures = _mix_grids(tracks, jobs=jobs, strict=strict, quiet=quiet)
    if is_playlist:
        items = _mix_items_for_playlist(tracks, grids, profile)
    else:
        items = items_from_sequence(seq, grids)
    plan_options = dict(max_stretch=max_stretch_pct / 100.0, overlap_beats=overlap_beats,
                        cut_bars=cut_bars)
    plan = plan_mix(items, profile, minutes=minutes, **plan_options)
    if not is_playlist:
        plan = _mix_refill(plan, library_tracks, profile, minutes=minutes, seed=seed,
                           grids=grids, failed={f.path for f in failures}, jobs=jobs,
                           strict=strict, quiet=quiet, plan_options=plan_options)
    for note in plan.notes:
        click.echo(f"note: {note}", err=True)
    if not as_json:
        click.echo("   #  START     BPM  PLAYED  STRETCH  METER  SEGMENT    TRACK")
        for i, t in enumerate(plan.tracks, 1):
            click.echo(f"{i:4d}  {_clock(t.start_s):>5}  {t.effective_bpm:6.1f}  "
                       f"{t.played_bpm:6.1f}  {t.stretch:+7.1%}  {t.meter:>5}  "
                       f"{(t.segment or '-'):<9}  {t.name}")
    progress = None if quiet else ProgressPrinter(sys.stderr, label="mixing")
    title = f"tempo {profile.name}, {plan.duration_s / 60:.0f} min"
    try:
        result = render_mix(plan, out_path, lufs=lufs, sr=sample_rate, jobs=jobs,
                            progress=progress, cue=not no_cue, title=title)
    except KeyboardInterrupt:
        click.echo(f"\ninterrupted: nothing written to {click.format_filename(out_path)} "
                   "(an earlier file there is untouched)", err=True)
        sys.exit(130)
    if as_json:
        click.echo(json.dumps({"plan": plan.to_dict(), "result": result.to_dict()},
                              ensure_ascii=False))
        return
    cue_text = f"; {click.format_filename(result.cue_path)}" if result.cue_path else ""
    lufs_text = "-" if result.lufs is None else f"{result.lufs:.1f}"
    click.echo(f"wrote {click.format_filename(result.path)}: {len(plan.tracks)} tracks, "
               f"{_clock(result.duration_s)}, {lufs_text} LUFS, {result.true_peak_db:.1f} dBTP "
               f"in {result.elapsed_s:.0f} s ({result.speed:.0f}x real time){cue_text}")


def _exit_on_sigterm(signum, frame):
    """SIGTERM (``kill``, a service manager, a CI timeout) unwinds like Ctrl-C: temporary
    files go and workers stop before the exit (128 + 15), instead of an abrupt death."""
    sys.exit(128 + signum)


def main():
    import signal

    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    cli(prog_name="tempo")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
