"""``tempo mix``: one continuous, beat-matched mix that follows a profile's arc.

Three stages, usable without the CLI:

1. :func:`beat_grids` decodes each track once more and finds its beats and downbeats
   (:mod:`tempo.mix.beatgrid`: a dynamic-programming tracker seeded with tempo's own BPM);
2. :func:`tempo.mix.plan.plan_mix` (pure) chooses the bars each track plays, its tempo along
   the arc within the allowed stretch, and the transitions, as a :class:`MixPlan`;
3. :func:`tempo.mix.render.render_mix` time-stretches, normalises, crossfades and limits the
   tracks into one file, streamed, with a CUE sheet.

Needs the ``mix`` extra (pedalboard): ``pip install 'tempo-montage[mix]'``.
"""

from __future__ import annotations

from .defaults import (CEILING_DBTP, DEFAULT_BARS, DEFAULT_LUFS, DEFAULT_MAX_STRETCH,
                       DEFAULT_OVERLAP_BEATS, DEFAULT_SR)

__all__ = [
    "BEATS_PER_BAR", "BeatGrid", "CEILING_DBTP", "DEFAULT_BARS", "DEFAULT_LUFS",
    "DEFAULT_MAX_STRETCH", "DEFAULT_OVERLAP_BEATS", "DEFAULT_SR", "MixError", "MixItem",
    "MixPlan", "MixResult", "PlannedTrack", "beat_grids", "check_output", "choose_ratio",
    "items_from_sequence", "plan_mix", "refill_minutes", "render_mix", "check_extra",
]


_LAZY = {
    "BEATS_PER_BAR": "beatgrid", "BeatGrid": "beatgrid",
    "MixError": "plan", "MixItem": "plan", "MixPlan": "plan", "PlannedTrack": "plan",
    "choose_ratio": "plan", "items_from_sequence": "plan", "plan_mix": "plan",
    "refill_minutes": "plan",
    "MixResult": "render", "check_output": "render", "render_mix": "render",
}


def __getattr__(name):
    """numpy-based parts load on first use: ``import tempo.mix`` stays cheap for the CLI."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(name)


def check_extra() -> None:
    """Raise a TempoError naming the extra when pedalboard is missing (without importing it)."""
    import importlib.util

    from ..errors import TempoError
    from .defaults import MIX_EXTRA_HINT

    for name in ("pedalboard",):
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise TempoError(f"tempo mix needs {name}", hint=MIX_EXTRA_HINT)


def _grid_task(args):
    from ..errors import TempoError
    from ..models import FileFailure
    from .beatgrid import grid_file

    path, bpm = args
    try:
        return path, grid_file(path, bpm=bpm)
    except TempoError as err:
        return path, FileFailure(path=path, kind=err.kind, message=err.message)


def beat_grids(tracks, *, jobs: int = 1, progress=None, strict: bool = False):
    """Beat grids of analysed tracks (:class:`~tempo.models.TrackAnalysis`): (path -> BeatGrid,
    [FileFailure]); tracks that fail to decode are failures (``strict``: raise MixError)."""
    from .plan import MixError

    todo = [(t.path, t.bpm) for t in tracks if t.bpm]
    grids: dict = {}
    failures: list = []
    if jobs > 1 and len(todo) > 1:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        # "spawn": a worker imports only the decoding and onset code; a forkserver would
        # preload this command's main module (the CLI) and stay resident during the render
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(max_workers=min(jobs, len(todo)), mp_context=ctx) as pool:
            results = pool.map(_grid_task, todo)
            _collect(results, grids, failures, len(todo), progress)
    else:
        _collect(map(_grid_task, todo), grids, failures, len(todo), progress)
    if strict and failures:
        f = failures[0]
        raise MixError(f"{f.kind}: {f.message}", path=f.path, hint="without --strict it is skipped")
    return grids, failures


def _collect(results, grids, failures, total, progress):
    for done, (path, res) in enumerate(results, 1):
        if not hasattr(res, "beats_s"):
            failures.append(res)
        else:
            grids[path] = res
        if progress is not None:
            progress(done, total, path)
