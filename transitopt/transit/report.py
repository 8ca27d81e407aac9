"""What an importer repaired, skipped or assumed: never silent."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: kinds of report entries
KINDS = ("repair", "skip", "assume", "info")


@dataclass(frozen=True)
class ReportEntry:
    """One thing an importer did to the input.

    Attributes
    ----------
    kind : str
        ``"repair"`` (input changed to make it usable), ``"skip"`` (input left out),
        ``"assume"`` (a default filled in for missing input) or ``"info"``.
    what : str
        Short description, e.g. ``"trip_id reused across routes"``.
    count : int
        How many items (rows, trips, routes, relations) it concerns.
    detail : str
        Examples (ids) and the action taken.
    """

    kind: str
    what: str
    count: int
    detail: str = ""


@dataclass
class ImportReport:
    """The list of repairs, skips and assumptions of one import, with counts."""

    source: str
    entries: list[ReportEntry] = field(default_factory=list)
    #: per-route detail where the importer has it (OSM: one row per relation and direction)
    routes: pd.DataFrame | None = None

    def add(self, kind: str, what: str, count: int, detail: str = "") -> None:
        """Record an entry (entries with ``count == 0`` are not recorded)."""
        if kind not in KINDS:
            raise ValueError(f"report kind must be one of {KINDS}, got {kind!r}")
        if count:
            self.entries.append(ReportEntry(kind, what, int(count), detail))

    def count(self, what: str) -> int:
        """Total count of the entries whose description contains ``what`` (0 if none)."""
        return sum(e.count for e in self.entries if what in e.what)

    def to_frame(self) -> pd.DataFrame:
        """The entries as a table (columns kind, what, count, detail)."""
        return pd.DataFrame(
            [vars(e) for e in self.entries], columns=["kind", "what", "count", "detail"]
        )

    def __str__(self) -> str:
        lines = [f"import report for {self.source}:"]
        if not self.entries:
            lines.append("  nothing repaired or skipped")
        for e in self.entries:
            lines.append(
                f"  [{e.kind}] {e.what}: {e.count}" + (f" ({e.detail})" if e.detail else "")
            )
        return "\n".join(lines)


def examples(values, limit: int = 5) -> str:
    """A short, comma-separated list of the first few ``values`` (for report details)."""
    values = [str(v) for v in values]
    text = ", ".join(values[:limit])
    return text + (f", ... ({len(values)} in all)" if len(values) > limit else "")
