"""``tempo tag``: analyse through the cache, plan each file's BPM tag, write it when asked.

After a file is tagged its size and mtime change but its audio does not, so the cached analysis
is stored again under the new file state, with the new tag: tagging a library never forces a
re-analysis, and ``--trust-tags`` afterwards sees the tag the file now holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from .errors import TagError
from .models import FileFailure
from .tags import (MIN_TAG_CONFIDENCE, TagPlan, parse_bpm, plan_bpm_tag, read_bpm_tag,
                   write_bpm_tag)


@dataclass
class TagReport:
    """Every file's plan (with action 'written' once written), and the failures."""

    plans: list[TagPlan] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for p in self.plans if p.action == action)


def tag_files(paths: Iterable[str], *, write: bool = False, force: bool = False,
              min_confidence: float = MIN_TAG_CONFIDENCE, decimals: int = 0, library=None,
              on_plan: Callable[[TagPlan], None] | None = None) -> TagReport:
    """Plan (and with ``write=True`` write) the BPM tag of every audio file under ``paths``.

    Files are analysed through ``library`` (a :class:`tempo.library.Library`; default: the
    default cache). The estimate written is the audio's own, whatever read-time views the library
    applies. Each written file's analysis is stored again at once under its new size and mtime
    with the tag it now carries, so the cache keeps telling the truth about the file and an
    interruption loses nothing already written.
    """
    from .cache import Cache, fingerprint
    from .library import Library

    library = library or Library()
    result = library.scan(paths, view=False)
    user = library.user_bpms(result.tracks) if library.options.use_cache else {}
    report = TagReport(failures=list(result.failures), written=write)
    cache = Cache.open(library.options.db_path) if write and library.options.use_cache else None
    try:
        for ta in result.tracks:
            # the tempo to write: the listener's correction, else the estimate in the preferred
            # range (never the tag's own reading: that is what the tag already says)
            shown = library.view(ta, user_bpm=user.get(ta.path), trust_tags=False)
            plan = plan_bpm_tag(shown, existing=read_bpm_tag(ta.path), force=force,
                                min_confidence=min_confidence, decimals=decimals)
            if write and plan.action == "write":
                try:
                    write_bpm_tag(ta.path, plan.new)
                except TagError as err:
                    report.failures.append(FileFailure(ta.path, err.kind, err.message))
                    plan = replace(plan, action="failed", reason=err.message)
                else:
                    plan = replace(plan, action="written")
                    if cache is not None:
                        st = os.stat(ta.path)
                        now = replace(ta, size=st.st_size, mtime_ns=st.st_mtime_ns,
                                      tags=replace(ta.tags, bpm=parse_bpm(plan.new)))
                        old_fp = cache.stored_fingerprint(ta.path, library.options.settings)
                        new_fp = fingerprint(ta.path, st.st_size)
                        cache.put(now, fingerprint=new_fp)
                        if old_fp and new_fp:
                            cache.rekey_correction(old_fp, new_fp, ta.path)
            report.plans.append(plan)
            if on_plan:
                on_plan(plan)
    finally:
        if cache is not None:
            cache.close()
    return report
