"""`tempo analyze` and the CLI's shared behaviour, through click's CliRunner."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil

import pytest

import tempo
from tempo.cli import cli


@pytest.fixture(scope="module")
def small_folder(tmp_path_factory, tempo_set):
    """Three good files (one in a subfolder, upper-case extension) in a fresh folder."""
    folder = tmp_path_factory.mktemp("lib")
    picks = [r for r in tempo_set if r["bpm"] in (128.0, 174.0, 90.0) and r["stable"]]
    (folder / "sub").mkdir()
    dests = []
    for i, row in enumerate(picks):
        name = os.path.basename(row["path"])
        if i == 0:
            name = name.upper()
        dest = folder / ("sub" if i == 1 else "") / name
        shutil.copy(row["path"], dest)
        dests.append(str(dest))
    (folder / "cover.jpg").write_bytes(b"\xff\xd8not audio")
    return folder, sorted(dests)


def test_every_command_has_help(runner):
    result = runner.invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name, command in cli.commands.items():
        sub = runner.invoke(cli, [name, "--help"])
        assert sub.exit_code == 0, name
        assert command.help and len(command.help) > 40, f"{name} needs a real help text"


def test_version(runner):
    result = runner.invoke(cli, ["--version"])
    assert result.exit_code == 0 and tempo.__version__ in result.output


def test_table_folder_recursive_sorted(runner, small_folder):
    folder, files = small_folder
    result = runner.invoke(cli, ["analyze", str(folder)])
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[0].split()[:2] == ["BPM", "CONF"]
    shown = [line.split()[-1] for line in lines[1:]]
    assert shown == files  # cover.jpg skipped, .MP3-style upper case found, sorted
    assert any(line.split()[0] == "128.0" for line in lines[1:])  # the house fixture


def test_json_lines(runner, small_folder):
    folder, files = small_folder
    result = runner.invoke(cli, ["analyze", "--json", str(folder)])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in rows] == files
    for r in rows:
        assert tempo.TrackAnalysis.from_dict(r).bpm == r["tempo"]["bpm"]


def test_csv(runner, small_folder):
    folder, files = small_folder
    result = runner.invoke(cli, ["analyze", "--csv", str(folder)])
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["path"] for r in rows] == files
    assert all(float(r["bpm"]) > 0 and r["error"] == "" for r in rows)


def test_bad_files_one_line_each_and_exit_1(runner, bad_inputs, tempo_set):
    good = tempo_set[0]["path"]
    paths = [good, bad_inputs["empty"], bad_inputs["text"], bad_inputs["silence"]]
    result = runner.invoke(cli, ["analyze", "--json", *paths])
    assert result.exit_code == 1
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == 4  # every file reported, the good ones analysed
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 2
    assert any("empty.mp3" in e and "empty file" in e for e in errors)
    assert any("notes.mp3" in e and "not a readable audio file" in e for e in errors)
    assert "Traceback" not in result.stderr + result.stdout
    assert "2 of 4 files failed" in result.stderr


def test_missing_path_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(cli, ["analyze", str(tmp_path / "nowhere")])
    assert result.exit_code == 1
    assert "nowhere: no such file or folder" in result.stderr


def test_folder_without_audio(runner, tmp_path):
    (tmp_path / "readme.txt").write_text("hi")
    result = runner.invoke(cli, ["analyze", str(tmp_path)])
    assert result.exit_code == 1
    assert "no audio files found" in result.stderr


def test_json_and_csv_together_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(cli, ["analyze", "--json", "--csv", str(tmp_path)])
    assert result.exit_code == 2


def test_python_dash_m_and_help_do_not_import_librosa():
    import subprocess
    import sys

    code = ("import sys, runpy; sys.argv=['tempo','--help']\n"
            "try:\n    runpy.run_module('tempo', run_name='__main__')\n"
            "except SystemExit: pass\n"
            "assert 'librosa' not in sys.modules, 'librosa imported by --help'\n"
            "assert 'numpy' not in sys.modules, 'numpy imported by --help'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Usage: tempo" in proc.stdout
