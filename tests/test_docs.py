"""Docs that cannot drift: the README's quick start is what CI runs, its paths exist, and every
command the README shows exists with the options it uses."""

from __future__ import annotations

import os
import re
import shlex

import pytest

from tempo.cli import cli

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _readme():
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as fh:
        return fh.read()


def _quick_start():
    text = _readme()
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def test_quick_start_is_exactly_two_commands():
    assert len(_quick_start()) == 2


def test_ci_runs_the_readme_test_command():
    install_and_test = _quick_start()[1]
    with open(os.path.join(REPO, ".ci", "run"), encoding="utf-8") as fh:
        ci = fh.read()
    steps = [s.strip() for s in install_and_test.split("&&")]
    pip_step = next(s for s in steps if s.startswith("pip install"))
    test_step = steps[-1]
    assert pip_step.replace("pip install", "pip install --quiet") in ci
    assert re.search(rf"^{re.escape(test_step)}\s*$", ci, re.M), test_step


def test_quick_start_paths_exist():
    first = _quick_start()[0]
    for word in shlex.split(first.replace("&&", " ")):
        if word.startswith("fixtures/"):
            assert os.path.exists(os.path.join(REPO, word)), word


def _code_blocks(text):
    """(language, body) of each fenced block, fences paired in order."""
    lang, body = None, []
    for line in text.splitlines():
        if line.startswith("```"):
            if lang is None:
                lang, body = line[3:].strip(), []
            else:
                yield lang, "\n".join(body)
                lang = None
        elif lang is not None:
            body.append(line)


def _tempo_commands(text):
    for lang, block in _code_blocks(text):
        if lang not in ("bash", "console"):
            continue
        for line in block.splitlines():
            line = line.strip()
            if lang == "console":
                if not line.startswith("$ "):
                    continue  # output, not a command
                line = line[2:]
            line = line.split(" #")[0]
            for part in line.split("&&"):
                part = part.split("|")[0].split(">")[0].strip()
                if part.startswith("tempo "):
                    yield shlex.split(part)[1:]


@pytest.mark.parametrize("args", list(_tempo_commands(_readme())),
                         ids=lambda a: " ".join(a)[:60])
def test_readme_commands_parse(args):
    """Every `tempo ...` line in the README names a real command with real options."""
    command = cli
    rest = list(args)
    while rest and hasattr(command, "commands") and rest[0] in command.commands:
        command = command.commands[rest.pop(0)]
    assert command is not cli, f"unknown command in README: {args}"
    known = set()
    for param in command.params:
        known.update(getattr(param, "opts", []))
        known.update(getattr(param, "secondary_opts", []))
    for word in rest:
        if word.startswith("-") and word != "-":
            assert word.split("=")[0] in known, f"README uses unknown option {word} in {args}"


def test_readme_library_example_runs(tmp_path, monkeypatch):
    """The 'As a library' example, run on the fixtures (paths swapped for real ones)."""
    code = re.search(r"## As a library\n\n```python\n(.*?)```", _readme(), re.S).group(1)
    code = (code.replace('"song.flac"', repr(os.path.join(REPO, "fixtures", "audio",
                                                          "ballad_72.flac")))
                .replace('"~/Music"', repr(os.path.join(REPO, "fixtures", "library")))
                .replace("jobs=2", "jobs=1")
                .replace('"run.m3u8"', repr(str(tmp_path / "run.m3u8"))))
    monkeypatch.setenv("TEMPO_DB", str(tmp_path / "c.sqlite"))
    exec(compile(code, "README.md", "exec"), {})
    text = (tmp_path / "run.m3u8").read_text(encoding="utf-8")
    assert text.startswith("#EXTM3U\n") and text.count("#EXTINF:") >= 3
