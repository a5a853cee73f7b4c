"""``tempo tag``: analyse through the cache, plan each file's BPM tag, write it when asked.

After a file is tagged its size and mtime change but its audio does not, so the cached analysis
is stored again under the new file state: tagging a library never forces a re-analysis.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from .errors import TagError
from .models import FileFailure
from .tags import MIN_TAG_CONFIDENCE, TagPlan, plan_bpm_tag, read_bpm_tag, write_bpm_tag


@dataclass
class TagReport:
    """Every file's plan (with action 'written' once written), and the failures."""

    plans: list[TagPlan] = field(default_factory=list)
    failures: list[FileFailure] = field(default_factory=list)
    written: bool = False

    def count(self, action: str) -> int:
        return sum(1 for p in self.plans if p.action == action)


def tag_files(paths: Iterable[str], *, write: bool = False, force: bool = False,
              min_confidence: float = MIN_TAG_CONFIDENCE, decimals: int = 0,
              db_path: str | None = None, jobs: int | None = None, progress=None,
              on_plan: Callable[[TagPlan], None] | None = None, scan_fn=None) -> TagReport:
    """Plan (and with ``write=True`` write) the BPM tag of every audio file under ``paths``."""
    from .cache import Cache, fingerprint
    from .library import scan

    result = (scan_fn or scan)(paths, db_path=db_path, jobs=jobs, progress=progress)
    report = TagReport(failures=list(result.failures), written=write)
    rekeyed = []
    for ta in result.tracks:
        plan = plan_bpm_tag(ta, existing=read_bpm_tag(ta.path), force=force,
                            min_confidence=min_confidence, decimals=decimals)
        if write and plan.action == "write":
            try:
                write_bpm_tag(ta.path, plan.new)
            except TagError as err:
                report.failures.append(FileFailure(ta.path, err.kind, err.message))
                plan = replace(plan, action="failed", reason=err.message)
            else:
                plan = replace(plan, action="written")
                st = os.stat(ta.path)
                moved = replace(ta, size=st.st_size, mtime_ns=st.st_mtime_ns)
                rekeyed.append((moved, fingerprint(ta.path, st.st_size)))
        report.plans.append(plan)
        if on_plan:
            on_plan(plan)
    if rekeyed:
        with Cache.open(db_path) as cache:
            cache.put_many(rekeyed)
    return report
