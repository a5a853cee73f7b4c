"""Shared test fixtures: audio is synthesized, never downloaded or committed for tests.

``fixtures_mod`` is fixtures/make_fixtures.py loaded as a module; ``tempo_set`` and
``bad_inputs`` are made once per test session in a temporary folder.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_fixtures_module():
    path = os.path.join(REPO, "fixtures", "make_fixtures.py")
    spec = importlib.util.spec_from_file_location("make_fixtures", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_fixtures"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture()
def runner():
    """click's CliRunner with stdout and stderr kept apart (on every click version)."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stderr apart by default
        return CliRunner()


@pytest.fixture(scope="session")
def fixtures_mod():
    return _load_fixtures_module()


@pytest.fixture(scope="session")
def tempo_set(tmp_path_factory, fixtures_mod):
    """The bundled tempo set (known BPMs, all formats, mono and stereo, 22.05-48 kHz) + a ramp."""
    folder = tmp_path_factory.mktemp("tempo_set")
    return fixtures_mod.make_tempo_set(str(folder), duration_s=15.0)


@pytest.fixture(scope="session")
def bad_inputs(tmp_path_factory, fixtures_mod):
    folder = tmp_path_factory.mktemp("bad")
    return fixtures_mod.make_bad_inputs(str(folder))


@pytest.fixture(scope="session")
def analyzed_set(tempo_set):
    """Each tempo-set file analysed once: {path: TrackAnalysis}."""
    import tempo

    return {row["path"]: tempo.analyze_file(row["path"]) for row in tempo_set}


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Every test that does not choose a --db uses a throw-away cache, never the user's."""
    path = str(tmp_path_factory.mktemp("cache") / "tempo.sqlite")
    old = os.environ.get("TEMPO_DB")
    os.environ["TEMPO_DB"] = path
    yield path
    if old is None:
        os.environ.pop("TEMPO_DB", None)
    else:
        os.environ["TEMPO_DB"] = old
