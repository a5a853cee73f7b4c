"""analyze_file(path) -> TrackAnalysis: decode once, stream every block through the features,
the loudness meter and the estimator. Glue only: the computation lives in features.py,
estimate.py and loudness.py; decoding in audio.py; tags in tags.py.
"""

from __future__ import annotations

import os

from .audio import AudioStream, Resampler, length_warnings, mixdown
from .errors import AnalysisError, DecodeError
from .models import ANALYZER_VERSION, AnalysisSettings, TrackAnalysis


def decode_features(path: str, settings: AnalysisSettings):
    """Decode ``path`` once; every block is resampled to the analysis rate with its channels,
    metered for loudness there, mixed to mono and fed to the onset features.
    Returns (features, integrated LUFS or None, source frames, AudioInfo, why decoding
    stopped early or None)."""
    from .features import FeatureExtractor
    from .loudness import LoudnessMeter

    with AudioStream(path) as stream:
        info = stream.info
        meter = LoudnessMeter(settings.sr, info.channels)
        resampler = Resampler(info.sample_rate, settings.sr, channels=info.channels)
        fx = FeatureExtractor(sr=settings.sr)
        frames = 0
        for block in stream.blocks():
            frames += len(block)
            _feed(resampler.process(block), meter, fx)
        _feed(resampler.flush(), meter, fx)
        stopped = stream.stopped
    return fx.finish(), meter.integrated(), frames, info, stopped


def _feed(block, meter, fx) -> None:
    if len(block):
        block = block.reshape(len(block), -1) if block.ndim == 1 else block
        meter.update(block)
        fx.update(mixdown(block))


def analyze_file(path: str | os.PathLike, *, settings: AnalysisSettings | None = None
                 ) -> TrackAnalysis:
    """Analyse one audio file: tempo (with candidates, curve, stability), energy, loudness, tags.

    Raises DecodeError / EmptyAudioError for files that are not readable audio, naming the file.
    The file's size and mtime are read before decoding, so a file changed during analysis gets
    a key that no longer matches and is analysed again on the next scan.
    """
    return analyze_with_features(path, settings=settings)[0]


def analyze_with_features(path: str | os.PathLike, *, settings: AnalysisSettings | None = None):
    """analyze_file, also returning the onset Features it was computed from (for pictures)."""
    from .estimate import MIN_DURATION_S, estimate_tempo
    from .features import energy_measure
    from .tags import read_tags

    settings = settings or AnalysisSettings()
    path = os.path.abspath(os.fspath(path))
    try:
        st = os.stat(path)
    except OSError as err:
        raise DecodeError(f"cannot read: {err.strerror or err}", path=path) from err

    features, loudness, frames, info, stopped = decode_features(path, settings)
    try:
        tempo = estimate_tempo(features, min_bpm=settings.min_bpm, max_bpm=settings.max_bpm,
                               curve_window_s=settings.curve_window_s)
    except ValueError as err:  # estimator refusing degenerate input
        raise AnalysisError(f"tempo estimation failed: {err}", path=path) from err

    duration_s = round(frames / info.sample_rate, 3)
    # energy again, now that the tempo is known (faster music is heard as more intense)
    energy, _ = energy_measure(features, tempo.bpm)
    analysis = TrackAnalysis(
        path=path,
        size=st.st_size,
        mtime_ns=st.st_mtime_ns,
        duration_s=duration_s,
        tempo=tempo,
        loudness_lufs=loudness,
        energy=round(float(energy), 4),
        onset_rate=round(float(features.onset_rate), 3),
        tags=read_tags(path),
        format=info.format,
        sample_rate=info.sample_rate,
        channels=info.channels,
        analyzer_version=ANALYZER_VERSION,
        settings=settings,
        warnings=length_warnings(duration_s, info.duration_s, min_s=MIN_DURATION_S,
                                 stopped=stopped),
    )
    return analysis, features


def estimate_file(path: str | os.PathLike) -> float:
    """BPM of one file as a float (NaN when no beat): the ``func(path) -> bpm`` that
    ../shared/bench/score.py calls with ``--estimator tempo.analysis:estimate_file``."""
    bpm = analyze_file(path).bpm
    return float("nan") if bpm is None else float(bpm)
