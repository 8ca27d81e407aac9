"""Writing one benchmark's section of benchmarks/README.md (between its BEGIN/END markers),
plus the small helpers every benchmark shares (load average, medians, peak memory)."""

from __future__ import annotations

import os
import re
import resource
import statistics
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def write_section(name: str, section: str, path: str | os.PathLike | None = None) -> None:
    """Replace the text between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` (appended if absent).

    ``path`` defaults to ``benchmarks/README.md`` (or ``$BENCH_README`` when set, so that
    a trial run can write to a scratch copy). The file is re-read just before writing, so
    other scripts' sections are kept.
    """
    target = Path(path or os.environ.get("BENCH_README") or README)
    begin, end = f"<!-- BEGIN {name} -->", f"<!-- END {name} -->"
    text = target.read_text() if target.exists() else "# transitopt benchmarks\n"
    block = f"{begin}\n{section}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, target)


def loadavg() -> str:
    """The 1/5/15-minute load averages, ``"0.8 / 0.9 / 1.1"``."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def median_min(values: list[float]) -> tuple[float, float]:
    """(median, least) of ``values``."""
    return statistics.median(values), min(values)


def peak_rss_mb() -> float:
    """Largest resident set of this process so far (MB; Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    """Resident set of this process now (MB; from /proc, 0 where unavailable)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return float(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
