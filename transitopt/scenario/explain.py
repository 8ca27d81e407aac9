"""Why an alternative's numbers differ from its baseline's: every change taken apart.

>>> why = explain(base, alt)  # doctest: +SKIP
>>> why.zones  # the per-zone "why" table  # doctest: +SKIP
>>> print(why.narrative)  # doctest: +SKIP

Everything here is read from the two results' tables, so it works the same for results
read back from disk:

* **Components.** A transit pair's generalised time (the cost route choice minimises,
  money left out; ``od.transit_generalised_s``) is the sum of in-vehicle time, weighted
  waiting, weighted walking and boarding/transfer penalties (:func:`transit_components`),
  so the change of every pair splits exactly into those four, in seconds.
* **Noise.** The feedback loop stops when the flow-weighted relative change of link times
  and the share of trips changing mode fall below its tolerance; two runs therefore agree
  only to that relative accuracy. A change of a pair's time within
  :class:`NoiseFloor` ``relative`` × the time, of a mode share within ``share`` (the runs'
  :func:`share_error`), or of a crowding count within its scatter over the last
  capacity-constrained assignments (:func:`capacity_scatter`), is labelled *within
  noise*, not a gain or a loss (:func:`noise_floor`).
* **Threshold crossings.** A pair whose time moves across an accessibility cutoff moves
  all its destination's jobs in or out of the cumulative measure; each crossing is listed
  with its seconds and components (:func:`pair_changes`), and the smooth (time-decay)
  measure is given beside the cumulative one.
* **Causes.** Lines added, removed or with changed running time or headway
  (:func:`line_changes`), road links whose time changed beyond noise and why (capacity,
  bus lane, closure, more or fewer buses or cars: :func:`link_changes`), mode shares
  moved (:func:`metric_changes`), and a short narrative from these numbers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._errors import TransitoptError
from ..assignment.mode_choice import MODES
from ..metrics.registry import metric
from .result import ScenarioResult

#: parts of a transit pair's generalised time, in the order they are shown
COMPONENTS = ("in_vehicle", "wait", "walk", "transfer")
#: the parts in words
COMPONENT_WORDS: Mapping[str, str] = {
    "in_vehicle": "in-vehicle time",
    "wait": "waiting (weighted)",
    "walk": "walking (weighted)",
    "transfer": "boarding and transfer penalties",
}
#: metrics that are no model outputs with noise (run facts, counts of zones)
_NO_NOISE = re.compile(r"iterations|converged|transit_access_.*")
#: the primary cumulative accessibility columns of a zones table
_ACCESS = re.compile(r"jobs_transit_([0-9.]+)min")


# ---------------------------------------------------------------------------- noise
@dataclass(frozen=True)
class NoiseFloor:
    """How closely two runs of the model can agree, from their convergence.

    Attributes
    ----------
    relative : float
        Relative change of a time (a pair's generalised time, a link time) within which it
        is noise: the largest of the feedback tolerance and the final flow-weighted relative
        change of link times of either run.
    share : float
        Change of a mode share (fraction) within which it is noise: the largest of the
        tolerance and each run's share error (:func:`share_error`: how far its averaged
        shares sit from where its last iterations' mode choices point), or, for a result
        without a convergence log, its final mode gap (share of trips changing mode).
    capacity : Mapping[str, float]
        With line capacities, the band (in the metric's unit) of the transit figures that
        hang on where the capacity-constrained assignment stops
        (:data:`CAPACITY_NOISE_METRICS`: crowding counts, trip-weighted waits and times):
        the largest over the runs of the range the figure took over the last
        :data:`CAPACITY_NOISE_ITERATIONS` feedback iterations' assignments and the final
        one. Empty without capacities.
    mode_shares : Mapping[str, float]
        Per mode, its smallest share (fraction) over the runs: a total that scales with
        that mode's trips (:data:`MODE_VOLUME_METRICS`) is uncertain by at least
        ``share`` / the mode's share, relatively. Empty: no such band.
    """

    relative: float
    share: float
    capacity: Mapping[str, float] = field(default_factory=dict)
    mode_shares: Mapping[str, float] = field(default_factory=dict)

    def band(self, name: str, base: float, alt: float) -> float:
        """The band of headline metric ``name`` between values ``base`` and ``alt``:
        ``share`` for a share; else the largest of ``relative`` × the larger value, for a
        total of one mode's trips ``share`` / that mode's share × the larger value
        (:meth:`mode_relative`), and the capacity band where there is one."""
        if metric(name).unit == "share":
            return self.share
        larger = max(abs(base), abs(alt))
        band = max(self.relative, self.mode_relative(name)) * larger
        return max(band, self.capacity.get(name, 0.0))

    def mode_relative(self, name: str) -> float:
        """Relative band of a total that scales with one mode's trips (0 for others): the
        share band over the mode's share, as trips of a mode = its share × all trips."""
        mode = MODE_VOLUME_METRICS.get(name)
        share = self.mode_shares.get(mode, 0.0) if mode is not None else 0.0
        return self.share / share if share > 0 else 0.0

    def seconds(self, time_s: Any) -> Any:
        """The noise band (s) of a time of ``time_s`` seconds."""
        return self.relative * np.abs(time_s)

    def describe(self) -> str:
        """The floor in words."""
        text = (
            f"changes within {100 * self.relative:.2g} % of a trip's time and "
            f"{100 * self.share:.2g} percentage points of a mode share are within the "
            "model's convergence noise (the feedback tolerance, and both runs' final "
            "link-time change and mode-share error)"
        )
        volumes = {
            mode: self.share / share
            for mode, share in self.mode_shares.items()
            if share > 0 and self.share / share > self.relative
        }
        if volumes:
            text += (
                "; so are changes of a mode's totals (trips, boardings, passenger- and "
                "vehicle-km) within "
                + ", ".join(f"{100 * value:.2g} % for {mode}" for mode, value in volumes.items())
                + " (the share band over the mode's share)"
            )
        if self.capacity:
            counts = ", ".join(
                f"{metric(name).label.lower()} within {_band_text(value)} {metric(name).unit}"
                for name, value in self.capacity.items()
            )
            text += (
                f"; so are changes of {counts} (their scatter over the last "
                f"{CAPACITY_NOISE_ITERATIONS} capacity-constrained transit assignments and "
                "the final one)"
            )
        return text


#: headline totals that scale with one mode's trips at fixed paths and times: metric →
#: mode (their band: :meth:`NoiseFloor.mode_relative`)
MODE_VOLUME_METRICS: Mapping[str, str] = {
    "transit_trips": "transit",
    "transit_boardings": "transit",
    "transit_passenger_km": "transit",
    "transit_passenger_h": "transit",
    "transit_fare_revenue": "transit",
    "car_veh_km": "car",
    "car_veh_h": "car",
    "car_delay_veh_h": "car",
    "car_pcu_km": "car",
    "co2_car": "car",
    "motorcycle_veh_km": "motorcycle",
    "motorcycle_pcu_km": "motorcycle",
    "ojek_veh_km": "ojek",
    "ojek_pcu_km": "ojek",
}
#: transit figures whose noise band, with line capacities, is their scatter between the
#: capacity-constrained assignments of the last feedback iterations (crowding counts, and
#: the trip-weighted averages of the skims those assignments give): headline metric →
#: convergence log column
CAPACITY_NOISE_METRICS: Mapping[str, str] = {
    "transit_denied_boardings": "transit_denied",
    "transit_standing_h": "transit_standing_h",
    "transit_max_load_ratio": "transit_max_load_ratio",
    "transit_lines_over_capacity": "transit_lines_over_capacity",
    "transit_avg_wait_min": "transit_avg_wait_min",
    "transit_avg_time_min": "transit_avg_time_min",
    "transit_transfers_per_trip": "transit_transfers_per_trip",
    "transit_crowding_min": "transit_crowding_min",
    "transit_crowded_time_min": "transit_crowded_time_min",
}
#: feedback iterations whose capacity-constrained assignments give that scatter (besides
#: the final state's)
CAPACITY_NOISE_ITERATIONS = 5


def noise_floor(*results: ScenarioResult) -> NoiseFloor:
    """The :class:`NoiseFloor` of comparing ``results`` (from their summaries)."""

    def largest(*keys: str) -> float:
        values = [
            float(r.summary.get(k) or 0.0)
            for r in results
            for k in keys
            if _finite(r.summary.get(k))
        ]
        return max(values, default=0.0)

    def error(result: ScenarioResult) -> float:
        found = share_error(result)
        gap = result.summary.get("mode_gap", 0.0)
        return found if found is not None else float(gap) if _finite(gap) else 0.0

    return NoiseFloor(
        relative=largest("tolerance", "link_time_change"),
        share=max([largest("tolerance")] + [error(r) for r in results]),
        capacity=capacity_scatter(*results),
        mode_shares=smallest_shares(*results),
    )


def smallest_shares(*results: ScenarioResult) -> dict[str, float]:
    """Per mode of :data:`MODE_VOLUME_METRICS`, its smallest share over ``results`` (the
    ``share_<mode>`` headline metric); modes a run lacks are left out."""
    values = [
        r.tables.get("metrics", pd.DataFrame(columns=["metric", "value"])).set_index("metric")[
            "value"
        ]
        for r in results
    ]
    out: dict[str, float] = {}
    for mode in dict.fromkeys(MODE_VOLUME_METRICS.values()):
        shares = [float(v.get(f"share_{mode}", np.nan)) for v in values]
        if shares and all(math.isfinite(x) for x in shares):
            out[mode] = min(shares)
    return out


def share_error(result: ScenarioResult) -> float | None:
    """How far a run's mode shares may sit from its equilibrium (fraction of trips).

    The feedback loop averages the demand by the method of successive averages, D_k =
    D_{k-1} + (R_k - D_{k-1}) / k, so each iteration's mode choice (response) R_k is read
    back from the convergence log's averaged shares: R_k = D_{k-1} + k (D_k - D_{k-1}).
    Over the later half of the responses (at least 3; the first half is the loop's run-in),
    per mode, the error is the distance of the final averaged share from their mean (the
    average still carries the run-in) plus the standard error of that mean (the responses
    scatter where near-full lines make each iteration's transit times jitter); the largest
    over the modes. Unlike the mode gap (trips whose mode differs pair by pair between the
    last response and the average), scatter that cancels over the pairs does not count.
    None when no share column of the log has 3 finite responses after the first.
    """
    log = result.tables.get("convergence", pd.DataFrame())
    columns = [c for c in log.columns if c.startswith("share_")]
    if not columns or "iteration" not in log.columns or len(log) < 4:
        return None
    k = log["iteration"].to_numpy(float)[1:]
    errors = []
    for column in columns:
        averaged = log[column].to_numpy(float)
        responses = averaged[:-1] + k * (averaged[1:] - averaged[:-1])
        last = responses[-max(3, responses.size // 2) :]
        last = last[np.isfinite(last)]
        if last.size < 3 or not math.isfinite(averaged[-1]):
            continue
        errors.append(abs(last.mean() - averaged[-1]) + last.std(ddof=1) / math.sqrt(last.size))
    return float(max(errors)) if errors else None


def capacity_scatter(*results: ScenarioResult) -> dict[str, float]:
    """Per figure of :data:`CAPACITY_NOISE_METRICS`, the largest over ``results`` of its
    range (max − min) over the capacity-constrained transit assignments of the last
    :data:`CAPACITY_NOISE_ITERATIONS` feedback iterations (the convergence log) and the
    final state's (the headline metric). Near full lines these figures hang on where the
    assignment stops, and the runs' scatter is how far apart two runs of one scenario can
    end (docs/model.md, "Explaining changes and the noise floor"). Figures a run lacks
    (no line capacities, a result from before the log had them) are left out."""
    out: dict[str, float] = {}
    for name, column in CAPACITY_NOISE_METRICS.items():
        ranges = []
        for result in results:
            log = result.tables.get("convergence", pd.DataFrame())
            metrics = result.tables.get("metrics", pd.DataFrame(columns=["metric", "value"]))
            final = metrics.set_index("metric")["value"].get(name, np.nan)
            if column not in log.columns or not _finite(final):
                continue
            values = log[column].to_numpy(float)[-CAPACITY_NOISE_ITERATIONS:]
            values = np.append(values[np.isfinite(values)], float(final))
            ranges.append(float(values.max() - values.min()))
        if ranges:
            out[name] = max(ranges)
    return out


#: per-line crowding columns of the ``lines`` table whose noise band is their scatter
#: between the capacity-constrained assignments of the last feedback iterations (the
#: ``line_crowding_log`` table)
LINE_CAPACITY_NOISE_COLUMNS = ("peak_load_factor", "peak_standing", "standing_h", "denied")


def line_capacity_scatter(*results: ScenarioResult) -> pd.DataFrame:
    """Per line (index ``line``) and :data:`LINE_CAPACITY_NOISE_COLUMNS`, the largest over
    ``results`` of the range the value took over the capacity-constrained assignments of
    the last :data:`CAPACITY_NOISE_ITERATIONS` feedback iterations (the
    ``line_crowding_log`` table) and the final state's (the ``lines`` table): the per-line
    counterpart of :func:`capacity_scatter`. Runs without the log (no line capacities, a
    result from before it was kept) are left out; empty when no run has one."""
    ranges = []
    for result in results:
        log = result.tables.get("line_crowding_log")
        lines = result.tables.get("lines")
        if log is None or lines is None or not len(log):
            continue
        columns = [c for c in LINE_CAPACITY_NOISE_COLUMNS if c in log and c in lines]
        last = np.sort(log["iteration"].unique())[-CAPACITY_NOISE_ITERATIONS:]
        values = pd.concat(
            [log.loc[log["iteration"].isin(last), ["line", *columns]], lines[["line", *columns]]]
        )
        grouped = values.groupby("line")[columns]
        ranges.append(grouped.max() - grouped.min())
    if not ranges:
        return pd.DataFrame(
            columns=list(LINE_CAPACITY_NOISE_COLUMNS), index=pd.Index([], name="line")
        )
    return pd.concat(ranges).groupby(level="line").max()


def line_crowding_bands(base: ScenarioResult, alt: ScenarioResult) -> pd.DataFrame:
    """Per line in both runs' ``lines`` tables (index ``line``) and
    :data:`LINE_CAPACITY_NOISE_COLUMNS`, the noise band of the change from ``base`` to
    ``alt``: the larger of the two runs' scatter (:func:`line_capacity_scatter`) and the
    relative floor (:attr:`NoiseFloor.relative` × the larger value), as the headline
    crowding counts' (:meth:`NoiseFloor.band`). NaN where no run has the log (no verdict
    then)."""
    scatter = line_capacity_scatter(base, alt)
    a = base.tables["lines"].set_index("line")
    b = alt.tables["lines"].set_index("line")
    lines = a.index.intersection(b.index)
    columns = [c for c in LINE_CAPACITY_NOISE_COLUMNS if c in a and c in b]
    relative = noise_floor(base, alt).relative
    larger = np.maximum(
        a.loc[lines, columns].astype(float).abs(), b.loc[lines, columns].astype(float).abs()
    )
    known = scatter.reindex(index=lines, columns=columns).astype(float)
    return np.maximum(known, relative * larger).where(known.notna())


# ---------------------------------------------------------------------------- pairs
def transit_components(od: pd.DataFrame, parameters: Mapping[str, Any]) -> pd.DataFrame:
    """A transit pair's generalised time (s) in its parts (``COMPONENTS`` columns).

    ``in_vehicle`` = in-vehicle time, ``wait`` = wait_weight × wait, ``walk`` =
    walk_weight × walk, ``transfer`` = boarding_penalty × B + transfer_penalty × (B − 1)
    for ``B ≥ 1`` expected boardings; their sum is ``od.transit_generalised_s``
    (:func:`transitopt.assignment.multimodal.generalised_time_s`).

    Parameters
    ----------
    od
        A result's ``od`` table.
    parameters
        The result's ``summary["parameters"]`` (``walk_weight``, ``wait_weight``,
        ``boarding_penalty_min``, ``transfer_penalty_min``).
    """
    boardings = od["transit_boardings"].to_numpy(float)
    penalty = 60.0 * (
        float(parameters["boarding_penalty_min"]) * boardings
        + float(parameters["transfer_penalty_min"]) * np.maximum(boardings - 1.0, 0.0)
    )
    return pd.DataFrame(
        {
            "in_vehicle": od["transit_ivt_s"].to_numpy(float),
            "wait": float(parameters["wait_weight"]) * od["transit_wait_s"].to_numpy(float),
            "walk": float(parameters["walk_weight"]) * od["transit_walk_s"].to_numpy(float),
            "transfer": penalty,
        },
        index=od.index,
    )


def cutoffs_of(zones: pd.DataFrame) -> list[float]:
    """The accessibility cutoffs (minutes) of a zones table, ascending."""
    found = [float(m[1]) for c in zones.columns if (m := _ACCESS.fullmatch(str(c)))]
    return sorted(found)


def pair_changes(
    base: ScenarioResult, alt: ScenarioResult, *, noise: NoiseFloor | None = None
) -> pd.DataFrame:
    """Every zone pair whose transit generalised time changed, taken apart.

    Returns
    -------
    DataFrame
        One row per pair (intrazonal pairs left out) whose time changed or that became
        reachable or unreachable: ``origin``, ``destination``, ``jobs`` (at the
        destination), ``base_s``, ``alt_s``, ``delta_s`` (generalised s), ``noise_s``,
        ``within_noise``, ``d_<component>_s`` for each of ``COMPONENTS`` (they sum to
        ``delta_s``), ``base_time_s``, ``alt_time_s`` (unweighted time of the chosen
        strategy), ``base_boardings``, ``alt_boardings``, ``crossings``: the cutoffs
        crossed, ``"-15"`` when the pair leaves the 15-minute set, ``"+15"`` when it
        enters; and for the fastest-time variant ``base_fastest_s``, ``alt_fastest_s`` and
        ``fastest_crossings`` (marked ``(noise)`` within noise). Pairs whose generalised time
        is unchanged appear only when their fastest time crosses a cutoff.
    """
    noise = noise or noise_floor(base, alt)
    a, b = base.tables["od"], alt.tables["od"]
    b = (
        b.set_index(["origin", "destination"])
        .reindex(pd.MultiIndex.from_frame(a[["origin", "destination"]]))
        .reset_index()
    )
    ca = transit_components(a, base.summary["parameters"])
    cb = transit_components(b, alt.summary["parameters"])
    t0 = a["transit_generalised_s"].to_numpy(float)
    t1 = b["transit_generalised_s"].to_numpy(float)
    finite0, finite1 = np.isfinite(t0), np.isfinite(t1)
    with np.errstate(invalid="ignore"):
        delta = np.where(finite0 & finite1, t1 - t0, np.where(finite0 | finite1, np.inf, 0.0))
        delta = np.where(finite0 & ~finite1, np.inf, np.where(~finite0 & finite1, -np.inf, delta))
    offdiag = (a["origin"] != a["destination"]).to_numpy()
    cutoffs = cutoffs_of(base.tables["zones"])
    crossings = _crossings(t0, t1, cutoffs)
    if "transit_fastest_s" in a.columns and "transit_fastest_s" in b.columns:
        f0 = a["transit_fastest_s"].to_numpy(float)
        f1 = b["transit_fastest_s"].to_numpy(float)
    else:
        f0 = f1 = np.full(len(a), np.nan)
    fastest = _crossings(f0, f1, cutoffs)
    band = noise.seconds(np.fmax(np.nan_to_num(t0, posinf=0.0), np.nan_to_num(t1, posinf=0.0)))
    with np.errstate(invalid="ignore"):
        fastest_noise = (
            np.isfinite(f0) & np.isfinite(f1) & (np.abs(f1 - f0) <= noise.seconds(np.fmax(f0, f1)))
        )
    changed = offdiag & (((delta != 0) & ~np.isnan(delta)) | (fastest != ""))
    jobs = base.tables["zones"].set_index("zone")["jobs"]
    out = pd.DataFrame(
        {
            "origin": a["origin"].to_numpy(),
            "destination": a["destination"].to_numpy(),
            "jobs": a["destination"].map(jobs).to_numpy(float),
            "base_s": t0,
            "alt_s": t1,
            "delta_s": delta,
            "noise_s": band,
            "within_noise": np.isfinite(delta) & (np.abs(delta) <= band),
            **{
                f"d_{c}_s": np.where(finite0 & finite1, cb[c].to_numpy() - ca[c].to_numpy(), np.nan)
                for c in COMPONENTS
            },
            "base_time_s": a["transit_time_s"].to_numpy(float),
            "alt_time_s": b["transit_time_s"].to_numpy(float),
            "base_boardings": a["transit_boardings"].to_numpy(float),
            "alt_boardings": b["transit_boardings"].to_numpy(float),
            "crossings": crossings,
            "base_fastest_s": f0,
            "alt_fastest_s": f1,
            "fastest_crossings": np.where(
                fastest_noise & (fastest != ""), fastest + " (noise)", fastest
            ),
        }
    )[changed]
    return out.reset_index(drop=True)


def _crossings(t0: np.ndarray, t1: np.ndarray, cutoffs: list[float]) -> np.ndarray:
    """Per pair, the cutoffs (min) its time (s) crosses: ``"-15"`` leaves the 15-minute set,
    ``"+15"`` enters it, space-separated; ``""`` for none (NaN or inf = unreachable)."""
    a = np.where(np.isfinite(t0), t0, np.inf)
    b = np.where(np.isfinite(t1), t1, np.inf)
    marks = np.full(a.shape, "", dtype=object)
    for cutoff in cutoffs:
        limit = 60.0 * cutoff
        inside0, inside1 = a <= limit, b <= limit
        cross = inside0 != inside1
        mark = np.where(inside1, f"+{cutoff:g}", f"-{cutoff:g}")
        marks[cross] = np.where(marks[cross] == "", mark[cross], marks[cross] + " " + mark[cross])
    return marks


def access_beyond_noise(
    base: ScenarioResult, alt: ScenarioResult, *, noise: NoiseFloor | None = None
) -> dict[float, np.ndarray]:
    """The alternative's cumulative transit accessibility (per cutoff, in the baseline's
    zone order) with every pair change within noise undone: the jobs a zone gains or
    loses beyond the model's convergence noise, against the baseline's columns."""
    noise = noise or noise_floor(base, alt)
    zones = base.tables["zones"]
    ids = zones["zone"].to_numpy()
    position = {z: k for k, z in enumerate(ids)}
    alt_zones = alt.tables["zones"].set_index("zone").reindex(ids)
    if not all(_has_skims(r) for r in (base, alt)):  # results without the pair skims
        return {c: alt_zones[f"jobs_transit_{c:g}min"].to_numpy(float) for c in cutoffs_of(zones)}
    pairs = pair_changes(base, alt, noise=noise)
    noisy = pairs[pairs["within_noise"] & (pairs["crossings"] != "")]
    out = {}
    for cutoff in cutoffs_of(zones):
        column = f"jobs_transit_{cutoff:g}min"
        values = alt_zones[column].to_numpy(float).copy()
        limit = 60.0 * cutoff
        for row in noisy.itertuples():
            inside0, inside1 = row.base_s <= limit, row.alt_s <= limit
            if inside0 != inside1:  # undo the crossing: back to the baseline's side
                values[position[row.origin]] += row.jobs if inside0 else -row.jobs
        out[cutoff] = values
    return out


# ---------------------------------------------------------------------------- zones
def zone_changes(
    base: ScenarioResult,
    alt: ScenarioResult,
    *,
    noise: NoiseFloor | None = None,
    pairs: pd.DataFrame | None = None,
    attribution: pd.DataFrame | None = None,
    names: Mapping[str, str] | None = None,
    reasons: int = 3,
) -> pd.DataFrame:
    """The per-zone "why" table: each zone whose transit accessibility changed, and why.

    Returns
    -------
    DataFrame
        One row per zone with a changed cumulative or smooth accessibility: ``zone``,
        ``population``, ``d_jobs_<T>min`` (cumulative, as reported),
        ``d_jobs_<T>min_noise`` (the part of it from crossings within noise),
        ``d_jobs_decay`` (smooth measure), ``verdict`` (``"gain"``, ``"loss"``,
        ``"mixed"``, ``"within noise"`` or ``"smooth only"``: no cutoff crossed),
        ``crossings`` (pairs crossing a cutoff beyond noise), ``noise_crossings``, the
        jobs-weighted mean change of each component over its crossing pairs
        (``<component>_s``; over all its changed pairs when none crosses), ``reasons``
        (the largest components in words with their seconds), ``lines`` (the lines whose
        in-vehicle time changed most over its crossings, jobs-weighted, from
        ``attribution``: :func:`line_attribution`) and ``example`` (the crossing moving
        the most jobs, with its times). Sorted by the jobs lost or
        gained beyond noise, largest first.
    """
    noise = noise or noise_floor(base, alt)
    pairs = pair_changes(base, alt, noise=noise) if pairs is None else pairs
    zones = base.tables["zones"].set_index("zone")
    alt_zones = alt.tables["zones"].set_index("zone").reindex(zones.index)
    cutoffs = cutoffs_of(base.tables["zones"])
    table = pd.DataFrame({"zone": zones.index, "population": zones["population"].to_numpy()})
    for cutoff in cutoffs:
        column = f"jobs_transit_{cutoff:g}min"
        table[f"d_jobs_{cutoff:g}min"] = (alt_zones[column] - zones[column]).to_numpy()
        table[f"d_jobs_{cutoff:g}min_noise"] = 0.0
    if "jobs_transit_decay" in zones.columns:
        table["d_jobs_decay"] = (
            alt_zones["jobs_transit_decay"] - zones["jobs_transit_decay"]
        ).to_numpy()
    else:
        table["d_jobs_decay"] = np.nan
    table = table.set_index("zone")
    crossing = pairs[pairs["crossings"] != ""]
    for row in crossing[crossing["within_noise"]].itertuples():
        for mark in row.crossings.split():
            sign = 1.0 if mark[0] == "+" else -1.0
            table.loc[row.origin, f"d_jobs_{float(mark[1:]):g}min_noise"] += sign * row.jobs
    rows = []
    for zone, group in pairs.groupby("origin", sort=False):
        real = group[(group["crossings"] != "") & ~group["within_noise"]]
        noisy = group[(group["crossings"] != "") & group["within_noise"]]
        basis = real if len(real) else group[~group["within_noise"]]
        if not len(basis):
            basis = group
        weights = basis["jobs"].to_numpy(float)
        weights = weights if weights.sum() > 0 else np.ones(len(basis))
        means = {c: _weighted_mean(basis[f"d_{c}_s"].to_numpy(float), weights) for c in COMPONENTS}
        beyond = group[~group["within_noise"] & np.isfinite(group["delta_s"])]
        shown = real if len(real) else noisy if len(noisy) else _largest(beyond)
        rows.append(
            {
                "zone": zone,
                "crossings": len(real),
                "noise_crossings": len(noisy),
                **{f"{c}_s": means[c] for c in COMPONENTS},
                "reasons": _reasons(means, reasons),
                "lines": _zone_lines(real if len(real) else beyond, attribution, names or {}),
                "example": _example(shown),
            }
        )
    detail = pd.DataFrame(rows).set_index("zone") if rows else pd.DataFrame()
    table = table.join(detail, how="left")
    d_cols = [f"d_jobs_{c:g}min" for c in cutoffs]
    changed = (table[d_cols].abs().sum(axis=1) > 0) | (
        table["d_jobs_decay"].abs() > 1e-9 * max(1.0, float(zones["jobs"].sum()))
    )
    table = table[changed].copy()
    table["crossings"] = table.get("crossings", pd.Series(dtype=float)).fillna(0).astype(int)
    table["noise_crossings"] = (
        table.get("noise_crossings", pd.Series(dtype=float)).fillna(0).astype(int)
    )
    table["verdict"] = [_verdict(row, cutoffs) for _, row in table.iterrows()]
    real_jobs = sum(
        (table[f"d_jobs_{c:g}min"] - table[f"d_jobs_{c:g}min_noise"]).abs() for c in cutoffs
    )
    table = table.assign(_order=real_jobs, _smooth=table["d_jobs_decay"].abs()).sort_values(
        ["_order", "_smooth"], ascending=False
    )
    columns = [
        "population",
        *[x for c in cutoffs for x in (f"d_jobs_{c:g}min", f"d_jobs_{c:g}min_noise")],
        "d_jobs_decay",
        "verdict",
        "crossings",
        "noise_crossings",
        *[f"{c}_s" for c in COMPONENTS],
        "reasons",
        "lines",
        "example",
    ]
    for column in columns:
        if column not in table.columns:
            table[column] = np.nan if column.endswith("_s") else ""
    return table[columns].reset_index()


def _zone_lines(
    real: pd.DataFrame, attribution: pd.DataFrame | None, names: Mapping[str, str], top: int = 2
) -> str:
    """The lines whose in-vehicle time changed most over a zone's pairs ``real`` that were
    split by line (jobs-weighted mean over them; a pair not riding a line counts 0 for it)."""
    if attribution is None or not len(attribution) or not len(real):
        return ""
    mine = attribution[attribution["origin"] == real["origin"].iloc[0]]
    keys = real.loc[real["destination"].isin(mine["destination"]), ["destination", "jobs"]]
    mine = mine.merge(keys, on="destination")
    if not len(mine):
        return ""
    total = float(keys["jobs"].sum()) or float(len(keys))
    weight = mine["jobs"] if keys["jobs"].sum() > 0 else 1.0
    per_line = (mine["d_ivt_s"] * weight).groupby(mine["line"]).sum() / total
    per_line = per_line[per_line.abs() >= 0.05]
    ranked = per_line.reindex(per_line.abs().sort_values(ascending=False).index).head(top)
    return "; ".join(f"{names.get(str(lid), str(lid))} {_seconds(v)}" for lid, v in ranked.items())


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> float:
    ok = np.isfinite(values)
    if not ok.any() or weights[ok].sum() <= 0:
        return float("nan")
    return float(np.sum(values[ok] * weights[ok]) / weights[ok].sum())


def _reasons(means: Mapping[str, float], top: int) -> str:
    ranked = sorted(
        ((c, v) for c, v in means.items() if _finite(v) and abs(v) >= 0.05),
        key=lambda cv: -abs(cv[1]),
    )
    return "; ".join(f"{COMPONENT_WORDS[c]} {_seconds(v)}" for c, v in ranked[:top])


def _largest(pairs: pd.DataFrame) -> pd.DataFrame:
    """The pair of ``pairs`` whose change weighs most (jobs × |seconds|), as a one-row frame."""
    if not len(pairs):
        return pairs
    weight = pairs["jobs"].to_numpy(float) * np.abs(pairs["delta_s"].to_numpy(float))
    return pairs.iloc[[int(np.argmax(weight))]]


def _example(pairs: pd.DataFrame) -> str:
    if not len(pairs):
        return ""
    row = pairs.sort_values("jobs", ascending=False).iloc[0]
    parts = [
        f"{COMPONENT_WORDS[c]} {_seconds(row[f'd_{c}_s'])}"
        for c in COMPONENTS
        if _finite(row[f"d_{c}_s"]) and abs(row[f"d_{c}_s"]) >= 0.05
    ]
    crossed = ", ".join(
        f"{'enters' if m[0] == '+' else 'leaves'} the {m[1:]}-min set"
        for m in row.crossings.split()
    )
    return (
        f"to zone {row.destination} ({row.jobs:,.0f} jobs): {_plain_s(row.base_s)} → "
        f"{_plain_s(row.alt_s)} generalised ({_seconds(row.delta_s)}"
        f"{'; within noise ±' + format(row.noise_s, '.1f') + ' s' if row.within_noise else ''})"
        + (f", {crossed}" if crossed else ", no cutoff crossed")
        + (f"; {', '.join(parts)}" if parts else "")
    )


def _components(row: Any) -> str:
    """A pair's changed components in words (generalised seconds)."""
    return ", ".join(
        f"{COMPONENT_WORDS[c]} {_seconds(row[f'd_{c}_s'])}"
        for c in COMPONENTS
        if _finite(row[f"d_{c}_s"]) and abs(row[f"d_{c}_s"]) >= 0.05
    )


def _verdict(row: pd.Series, cutoffs: list[float]) -> str:
    real = [row[f"d_jobs_{c:g}min"] - row[f"d_jobs_{c:g}min_noise"] for c in cutoffs]
    noise = [row[f"d_jobs_{c:g}min_noise"] for c in cutoffs]
    up, down = any(v > 0 for v in real), any(v < 0 for v in real)
    if up and down:
        return "mixed"
    if up:
        return "gain"
    if down:
        return "loss"
    if any(v != 0 for v in noise):
        return "within noise"
    return "smooth only"


# ---------------------------------------------------------------------------- lines per pair
def line_use(result: ScenarioResult, pairs: pd.DataFrame) -> pd.DataFrame:
    """Which lines each pair's strategy rides, from the result's final state.

    Rebuilds the model of ``result`` (:func:`~transitopt.scenario.evaluate.final_state`)
    and loads one trip per pair onto its transit graph: the link volumes are the
    strategy's expected use of each link, so a line's in-vehicle seconds (ride and dwell
    links) add up to the pair's ``transit_ivt_s``.

    Returns
    -------
    DataFrame
        ``origin``, ``destination``, ``line``, ``ivt_s`` (expected in-vehicle seconds on
        the line), ``boardings`` (expected boardings of the line), one row per line used.

    Raises
    ------
    ScenarioError
        The scenario's files changed since ``result`` was evaluated.
    """
    from ..transit.graph import BOARD, DWELL, RIDE

    state = _final_state(result)
    model = state.model
    zone_ids = model.zones["zone"].to_numpy()
    position = {z: k for k, z in enumerate(zone_ids)}
    rows = []
    z = len(zone_ids)
    for o, d in pairs[["origin", "destination"]].itertuples(index=False):
        demand = np.zeros((z, z))
        demand[position[o], position[d]] = 1.0
        assignment = model.transit_assignment(state.link_time_s, demand)
        if assignment is None:
            break
        g, volume = assignment.graph, assignment.link_volume
        riding = np.isin(g.kind, (RIDE, DWELL)) & (volume > 0) & (g.line >= 0)
        ivt = np.bincount(
            g.line[riding],
            weights=volume[riding] * g.in_vehicle_s[riding],
            minlength=len(g.line_ids),
        )
        board = (g.kind == BOARD) & (volume > 0)
        boardings = np.bincount(g.line[board], weights=volume[board], minlength=len(g.line_ids))
        for li in np.flatnonzero((ivt > 0) | (boardings > 0)):
            rows.append((o, d, g.line_ids[li], float(ivt[li]), float(boardings[li])))
    return pd.DataFrame(rows, columns=["origin", "destination", "line", "ivt_s", "boardings"])


#: rebuilt final states by result key, least recently used first (a baseline compared with
#: several alternatives is rebuilt once); each holds a model, so few are kept
_STATES: dict[str, Any] = {}
STATES_KEPT = 2


def _final_state(result: ScenarioResult) -> Any:
    from .evaluate import final_state

    if result.key in _STATES:
        _STATES[result.key] = _STATES.pop(result.key)
        return _STATES[result.key]
    state = final_state(result)
    _STATES[result.key] = state
    while len(_STATES) > STATES_KEPT:
        _STATES.pop(next(iter(_STATES)))
    return state


def line_attribution(
    base: ScenarioResult, alt: ScenarioResult, pairs: pd.DataFrame
) -> pd.DataFrame:
    """The in-vehicle change of each pair by line: :func:`line_use` of both results.

    Returns ``origin``, ``destination``, ``line``, ``base_ivt_s``, ``alt_ivt_s``,
    ``d_ivt_s`` (their per-pair sum is the pair's ``d_in_vehicle_s``), ``base_boardings``,
    ``alt_boardings``; lines a pair uses in either result.
    """
    keys = ["origin", "destination", "line"]
    a = line_use(base, pairs).set_index(keys).add_prefix("base_")
    b = line_use(alt, pairs).set_index(keys).add_prefix("alt_")
    out = a.join(b, how="outer").fillna(0.0)[
        ["base_ivt_s", "alt_ivt_s", "base_boardings", "alt_boardings"]
    ]
    out["d_ivt_s"] = out["alt_ivt_s"] - out["base_ivt_s"]
    return out.reset_index()


def _line_words(attribution: pd.DataFrame, names: Mapping[str, str], top: int = 2) -> pd.Series:
    """Per pair (``origin``, ``destination`` index): the lines whose in-vehicle time changed
    most, e.g. ``"23 +4.3 s; X1 (new) +120.0 s"``."""
    if not len(attribution):
        return pd.Series(dtype=object)
    moved = attribution[attribution["d_ivt_s"].abs() >= 0.05]

    def words(group: pd.DataFrame) -> str:
        group = group.reindex(group["d_ivt_s"].abs().sort_values(ascending=False).index)
        out = []
        for row in group.head(top).itertuples():
            label = names.get(row.line, row.line)
            if row.base_boardings == 0 and row.alt_boardings > 0:
                label += " (now used)"
            elif row.alt_boardings == 0 and row.base_boardings > 0:
                label += " (no longer used)"
            out.append(f"{label} {_seconds(row.d_ivt_s)}")
        return "; ".join(out)

    texts = {key: words(group) for key, group in moved.groupby(["origin", "destination"])}
    if not texts:
        return pd.Series(dtype=object)
    return pd.Series(texts, dtype=object)


# ---------------------------------------------------------------------------- causes
def line_changes(base: ScenarioResult, alt: ScenarioResult) -> pd.DataFrame:
    """Lines added, removed, or whose one-way time, headway or boardings changed.

    Returns ``line``, ``name``, ``label`` (unique, for people), ``status`` (``added``,
    ``removed``, ``changed``),
    ``base_one_way_s``, ``alt_one_way_s``, ``d_one_way_s``, ``base_headway_s``,
    ``alt_headway_s``, ``d_boardings`` (per hour), ``d_length_m`` (a rerouted line's
    longer or shorter route), largest time change first.
    """
    keep = ["line", "name", "one_way_time_s", "headway_s", "boardings", "length_km"]
    a = _columns(base.tables.get("lines"), keep).set_index("line")
    b = _columns(alt.tables.get("lines"), keep).set_index("line")
    ids = list(a.index) + [i for i in b.index if i not in a.index]
    a, b = a.reindex(ids), b.reindex(ids)
    table = pd.DataFrame(
        {
            "line": ids,
            "name": b["name"].fillna(a["name"]).to_numpy(),
            "status": np.where(
                a["headway_s"].isna(),
                "added",
                np.where(b["headway_s"].isna(), "removed", "changed"),
            ),
            "base_one_way_s": a["one_way_time_s"].to_numpy(float),
            "alt_one_way_s": b["one_way_time_s"].to_numpy(float),
            "base_headway_s": a["headway_s"].to_numpy(float),
            "alt_headway_s": b["headway_s"].to_numpy(float),
            "d_boardings": (b["boardings"].fillna(0) - a["boardings"].fillna(0)).to_numpy(float),
            "d_length_m": 1000.0 * (b["length_km"] - a["length_km"]).to_numpy(float),
        }
    )
    table["d_one_way_s"] = table["alt_one_way_s"] - table["base_one_way_s"]
    names = _line_names(base, alt)
    table.insert(2, "label", [names.get(str(lid), str(lid)) for lid in table["line"]])
    moved = (
        (table["status"] != "changed")
        | (table["d_one_way_s"].abs() > 1e-6)
        | ((table["alt_headway_s"] - table["base_headway_s"]).abs() > 1e-6)
    )
    table = table[moved]
    order = table["d_one_way_s"].abs().fillna(np.inf)
    return (
        table.assign(_o=order)
        .sort_values("_o", ascending=False)
        .drop(columns="_o")
        .reset_index(drop=True)
    )


def _route_links(state: Any, lines: pd.DataFrame, links: pd.DataFrame, top: int = 2) -> list[str]:
    """Per line of ``lines``: the links of its street route whose time changed most beyond
    noise (``links``: :func:`link_changes`) in mixed traffic, e.g. ``"Unioninkatu +9.7 s in
    mixed traffic"``, and how many changed links have a bus lane (buses at free flow)."""
    routes = getattr(state.model, "routes", None)
    if routes is None or not len(links):
        return [""] * len(lines)
    index = {lid: k for k, lid in enumerate(routes.lines)}
    out = []
    for lid in lines["line"]:
        if lid not in index:
            out.append("")
            continue
        mine = links[links["edge"].isin(routes.edges_of([index[lid]]))]
        mixed = mine[~mine["alt_bus_lane"].astype(bool)]
        order = mixed["d_time_s"].abs().fillna(np.inf).sort_values(ascending=False).index
        words = []
        for row in mixed.loc[order].head(top).itertuples():
            change = _seconds(row.d_time_s) if _finite(row.d_time_s) else "closed"
            words.append(f"{street_name(row.name, row.edge)} {change} in mixed traffic")
        lanes = int(mine["alt_bus_lane"].astype(bool).sum())
        if lanes:
            words.append(f"{lanes} link{'s' if lanes > 1 else ''} with a bus lane (free flow)")
        out.append("; ".join(words))
    return out


def link_changes(
    base: ScenarioResult, alt: ScenarioResult, *, noise: NoiseFloor | None = None
) -> pd.DataFrame:
    """Road links whose car time changed beyond noise, with what changed on them.

    Returns ``edge``, ``name``, ``base_time_s``, ``alt_time_s``, ``d_time_s``,
    ``base_flow``, ``alt_flow`` (veh/h), ``base_capacity_vph``, ``alt_capacity_vph``,
    ``base_bus_vph``, ``alt_bus_vph``, ``alt_bus_lane`` and ``cause`` (words: capacity, bus
    lane, closure, buses, car flow), ordered by the change of vehicle-hours (flow × time
    change).
    """
    noise = noise or noise_floor(base, alt)
    a, b = base.tables.get("links"), alt.tables.get("links")
    if a is None or b is None or not len(a) or not len(b) or len(a) != len(b):
        return pd.DataFrame(columns=["edge", "name", "d_time_s", "cause"])
    t0, t1 = a["time_s"].to_numpy(float), b["time_s"].to_numpy(float)
    with np.errstate(invalid="ignore"):
        delta = t1 - t0
        beyond = np.isfinite(delta) & (np.abs(delta) > noise.seconds(np.fmax(t0, t1)))
        beyond |= np.isfinite(t0) != np.isfinite(t1)
    name = a["name"] if "name" in a.columns else pd.Series([None] * len(a))
    table = pd.DataFrame(
        {
            "edge": a["edge"].to_numpy(),
            "name": name.to_numpy(object),
            "base_time_s": t0,
            "alt_time_s": t1,
            "d_time_s": delta,
            "base_flow": a["flow"].to_numpy(float),
            "alt_flow": b["flow"].to_numpy(float),
            "base_capacity_vph": a["capacity_vph"].to_numpy(float),
            "alt_capacity_vph": b["capacity_vph"].to_numpy(float),
            "base_bus_vph": _column(a, "bus_vph"),
            "alt_bus_vph": _column(b, "bus_vph"),
            "base_bus_lane": _column(a, "bus_lane", False).astype(bool),
            "alt_bus_lane": _column(b, "bus_lane", False).astype(bool),
            "base_closed": _column(a, "closed", False).astype(bool),
            "alt_closed": _column(b, "closed", False).astype(bool),
        }
    )[beyond]
    table["cause"] = [_link_cause(row) for row in table.itertuples()]
    d = table["d_time_s"].to_numpy(float)
    weight = np.where(np.isfinite(d), np.abs(d), 1e9) * np.fmax(
        table["base_flow"].fillna(0).to_numpy(float), table["alt_flow"].fillna(0).to_numpy(float)
    )
    return (
        table.assign(_w=weight)
        .sort_values("_w", ascending=False)
        .drop(columns=["_w", "base_bus_lane", "base_closed", "alt_closed"])
        .reset_index(drop=True)
    )


def _link_cause(row: Any) -> str:
    causes = []
    if row.base_closed != row.alt_closed:
        causes.append("closed" if row.alt_closed else "reopened")
    if row.base_bus_lane != row.alt_bus_lane:
        causes.append("bus lane added" if row.alt_bus_lane else "bus lane removed")
    if _finite(row.base_capacity_vph) and abs(row.alt_capacity_vph - row.base_capacity_vph) > 1e-6:
        causes.append(
            f"car capacity {row.base_capacity_vph:,.0f} → {row.alt_capacity_vph:,.0f} veh/h"
        )
    if abs(row.alt_bus_vph - row.base_bus_vph) > 1e-6:
        causes.append(f"buses {row.base_bus_vph:,.1f} → {row.alt_bus_vph:,.1f} /h")
    if abs(row.alt_flow - row.base_flow) > 0.5:
        causes.append(f"cars {row.base_flow:,.0f} → {row.alt_flow:,.0f} veh/h")
    return "; ".join(causes) or "traffic elsewhere"


def metric_changes(
    base: ScenarioResult, alt: ScenarioResult, *, noise: NoiseFloor | None = None
) -> pd.DataFrame:
    """Each headline metric's change, with its noise band and a verdict.

    Returns ``metric``, ``label``, ``unit``, ``base``, ``alt``, ``delta``, ``noise``
    (the band, :meth:`NoiseFloor.band`: ``share`` for shares, ``relative`` × the larger
    value otherwise, or the crowding counts' scatter where larger; NaN for run facts and
    zone counts), ``verdict``: ``"no change"``, ``"within noise"`` or
    ``"change"``, and ``why``: for the trip-weighted transit averages, the change on the
    same trips and the change from the mix of trips (:func:`average_split`).
    """
    noise = noise or noise_floor(base, alt)
    m0 = base.tables["metrics"].set_index("metric")["value"]
    m1 = alt.tables["metrics"].set_index("metric")["value"]
    rows = []
    for name in m0.index:
        if name not in m1.index:
            continue
        v0, v1 = float(m0[name]), float(m1[name])
        info = metric(str(name))
        delta = v1 - v0
        band = float("nan") if _NO_NOISE.fullmatch(str(name)) else noise.band(str(name), v0, v1)
        if not _finite(delta) or abs(delta) <= 1e-9 * max(1.0, abs(v0)):
            verdict = "no change"
        elif _finite(band) and abs(delta) <= band:
            verdict = "within noise"
        else:
            verdict = "change"
        why = ""
        if str(name) in _AVERAGES and verdict != "no change":
            column, scale = _AVERAGES[str(name)]
            same, mix = average_split(base, alt, column)
            why = (
                f"on the same trips {_signed_value(scale * same)}, from the changed mix of "
                f"trips {_signed_value(scale * mix)} ({info.unit})"
            )
        rows.append(
            {
                "metric": name,
                "label": info.label,
                "unit": info.unit,
                "base": v0,
                "alt": v1,
                "delta": delta,
                "noise": band,
                "verdict": verdict,
                "why": why,
            }
        )
    return pd.DataFrame(rows)


def within_noise(base: ScenarioResult, alt: ScenarioResult) -> set[str]:
    """The headline metrics whose change from ``base`` to ``alt`` is within the model's
    convergence noise (:func:`metric_changes`' verdict)."""
    changes = metric_changes(base, alt)
    if changes.empty:
        return set()
    return set(changes.loc[changes["verdict"] == "within noise", "metric"])


#: trip-weighted transit averages of the metrics table: metric → (od column, scale)
_AVERAGES: Mapping[str, tuple[str, float]] = {
    "transit_avg_wait_min": ("transit_wait_s", 1.0 / 60.0),
    "transit_avg_time_min": ("transit_time_s", 1.0 / 60.0),
    "transit_transfers_per_trip": ("transit_boardings", 1.0),
}


def average_split(base: ScenarioResult, alt: ScenarioResult, column: str) -> tuple[float, float]:
    """A trip-weighted transit average's change split in two (units of ``column``).

    ``avg = Σ w x / Σ w`` over zone pairs, ``w`` the transit trips/h (``od.transit``) and
    ``x`` the pair's ``column``. Returns ``(same, mix)``: ``same`` = ``Σ w0 (x1 − x0) / Σ w0``,
    the change on the baseline's trips (each pair's value changed), and ``mix`` = the rest,
    the change from trips moving between pairs (new riders on pairs with longer or shorter
    values). ``same + mix`` is the change of the average.
    """
    a, b = base.tables["od"], alt.tables["od"]
    b = b.set_index(["origin", "destination"]).reindex(
        pd.MultiIndex.from_frame(a[["origin", "destination"]])
    )
    w0, w1 = a["transit"].to_numpy(float), b["transit"].to_numpy(float)
    x0, x1 = a[column].to_numpy(float), b[column].to_numpy(float)
    use0 = (w0 > 0) & np.isfinite(x0)
    use1 = (w1 > 0) & np.isfinite(x1)
    if not use0.any() or not use1.any():
        return float("nan"), float("nan")
    avg0 = float(np.sum(w0[use0] * x0[use0]) / w0[use0].sum())
    avg1 = float(np.sum(w1[use1] * x1[use1]) / w1[use1].sum())
    both = use0 & np.isfinite(x1)
    same = float(np.sum(w0[both] * (x1[both] - x0[both])) / w0[use0].sum())
    return same, (avg1 - avg0) - same


# ---------------------------------------------------------------------------- together
@dataclass(frozen=True, eq=False)
class Explanation:
    """Why an alternative differs from its baseline (see the module docstring).

    Attributes
    ----------
    name : str
        The alternative.
    noise : NoiseFloor
    metrics, zones, pairs, lines, links : DataFrame
        :func:`metric_changes`, :func:`zone_changes`, the threshold crossings of
        :func:`pair_changes`, :func:`line_changes` and :func:`link_changes`.
    narrative : str
        A short paragraph from these numbers.
    attribution : DataFrame
        :func:`line_attribution` of the crossings beyond noise (empty when not computed).
    notes : tuple of str
        What could not be explained and why.
    """

    name: str
    noise: NoiseFloor
    metrics: pd.DataFrame
    zones: pd.DataFrame
    pairs: pd.DataFrame
    lines: pd.DataFrame
    links: pd.DataFrame
    narrative: str
    attribution: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: tuple[str, ...] = ()


def explain(
    base: ScenarioResult,
    alt: ScenarioResult,
    *,
    by_line: bool = True,
    max_pairs: int = 100,
) -> Explanation:
    """Take apart every change of ``alt`` against ``base`` (see the module docstring).

    Parameters
    ----------
    by_line
        Also split the in-vehicle change of the threshold crossings beyond noise by line
        (:func:`line_attribution`: rebuilds both models from their scenario files; when
        that fails, e.g. a file changed since, the explanation says so in ``notes``).
    max_pairs
        At most this many crossings (most jobs first) are split by line, and at most this
        many zones without a crossing have their weightiest change beyond noise split too.
    """
    noise = noise_floor(base, alt)
    pairs = pair_changes(base, alt, noise=noise)
    crossings = pairs[(pairs["crossings"] != "") | (pairs["fastest_crossings"] != "")]
    crossings = crossings.sort_values("jobs", ascending=False, kind="stable")
    notes: list[str] = []
    attribution = pd.DataFrame(
        columns=[
            "origin",
            "destination",
            "line",
            "base_ivt_s",
            "alt_ivt_s",
            "base_boardings",
            "alt_boardings",
            "d_ivt_s",
        ]
    )
    if by_line:
        chosen = crossings[(crossings["crossings"] != "") & ~crossings["within_noise"]]
        if len(chosen) > max_pairs:
            notes.append(
                f"lines split for the {max_pairs} crossings with most jobs of {len(chosen)}"
            )
        chosen = chosen.head(max_pairs)
        # zones with no crossing: their weightiest change beyond noise (the smooth measure's)
        beyond = pairs[~pairs["within_noise"] & np.isfinite(pairs["delta_s"])]
        beyond = beyond[~beyond["origin"].isin(chosen["origin"])]
        others = [_largest(group) for _, group in beyond.groupby("origin", sort=False)]
        if others:
            chosen = pd.concat([chosen, *others[:max_pairs]], ignore_index=True)
        if len(chosen):
            try:
                attribution = line_attribution(base, alt, chosen)
            except (TransitoptError, OSError, KeyError, ValueError) as exc:
                notes.append(f"in-vehicle time not split by line: {exc}")
    names = _line_names(base, alt)
    words = _line_words(attribution, names)
    index = pd.MultiIndex.from_frame(crossings[["origin", "destination"]])
    crossings = crossings.assign(lines=words.reindex(index).fillna("").to_numpy(object))
    zones = zone_changes(base, alt, noise=noise, pairs=pairs, attribution=attribution, names=names)
    metrics = metric_changes(base, alt, noise=noise)
    lines = line_changes(base, alt)
    links = link_changes(base, alt, noise=noise)
    if len(attribution) and alt.key in _STATES:  # the rebuilt model knows the bus routes
        lines = lines.assign(links=_route_links(_STATES[alt.key], lines, links))
    text = _narrative(alt.name, base, alt, noise, pairs, crossings, zones, metrics, lines, links)
    return Explanation(
        name=alt.name,
        noise=noise,
        metrics=metrics,
        zones=zones,
        pairs=crossings.reset_index(drop=True),
        lines=lines,
        links=links,
        narrative=text,
        attribution=attribution,
        notes=tuple(notes),
    )


def _line_names(*results: ScenarioResult) -> dict[str, str]:
    """Line id → the name people know it by, unique: the lines table's ``label`` (mode,
    short and long name), else ``name``, else the id; a label shared by several lines (two
    directions under one name) gets ``#2``, ``#3`` ... on the second and later."""
    names: dict[str, str] = {}
    for result in results:
        lines = result.tables.get("lines")
        if lines is None or not len(lines):
            continue
        column = next((c for c in ("label", "name") if c in lines.columns), None)
        if column is None:
            continue
        for lid, name in zip(lines["line"], lines[column], strict=True):
            if str(lid) not in names:
                names[str(lid)] = name if isinstance(name, str) and name else str(lid)
    seen: dict[str, int] = {}
    out = {}
    for lid, name in names.items():
        seen[name] = seen.get(name, 0) + 1
        out[lid] = name if seen[name] == 1 else f"{name} #{seen[name]}"
    return out


def _mode_trips(base: ScenarioResult, alt: ScenarioResult) -> dict[str, float]:
    """Change of trips/h by mode (od tables; empty when a table lacks them)."""
    a, b = base.tables.get("od"), alt.tables.get("od")
    out: dict[str, float] = {}
    for mode in MODES:
        if a is not None and b is not None and mode in a.columns and mode in b.columns:
            out[mode] = float(b[mode].sum() - a[mode].sum())
    return out


def _narrative(
    name: str,
    base: ScenarioResult,
    alt: ScenarioResult,
    noise: NoiseFloor,
    pairs: pd.DataFrame,
    crossings: pd.DataFrame,
    zones: pd.DataFrame,
    metrics: pd.DataFrame,
    lines: pd.DataFrame,
    links: pd.DataFrame,
) -> str:
    out: list[str] = []
    cutoffs = cutoffs_of(base.tables["zones"])
    finite = pairs[np.isfinite(pairs["delta_s"])]
    noisy = finite[finite["within_noise"]]
    up = finite[(finite["delta_s"] > 0) & ~finite["within_noise"]]
    down = finite[(finite["delta_s"] < 0) & ~finite["within_noise"]]
    od_pairs = int((base.tables["od"]["origin"] != base.tables["od"]["destination"]).sum())
    out.append(
        f"{name}: of {od_pairs:,} zone pairs, transit generalised time falls for {len(down):,} "
        f"and rises for {len(up):,}; {len(noisy):,} more change by less than the model's noise "
        f"({100 * noise.relative:.2g} % of the trip, at most "
        f"{_plain_s(noisy['noise_s'].max()) if len(noisy) else '0 s'}) and are labelled within "
        "noise, not as gains or losses."
    )
    if len(lines):
        parts = []
        # the largest changes, and the largest slowdowns (which need explaining most)
        slower = lines[(lines["status"] == "changed") & (lines["d_one_way_s"] > 0)]
        shown = pd.concat([lines.head(3), slower.head(2)]).drop_duplicates("line")
        for row in shown.itertuples():
            label = row.label
            if row.status == "added":
                parts.append(f"{label} added (every {row.alt_headway_s / 60:.3g} min)")
            elif row.status == "removed":
                parts.append(f"{label} removed")
            else:
                bits = []
                if _finite(row.d_one_way_s) and abs(row.d_one_way_s) > 1e-6:
                    bits.append(f"one-way time {_seconds(row.d_one_way_s)}")
                if abs(row.alt_headway_s - row.base_headway_s) > 1e-6:
                    bits.append(
                        f"headway {row.base_headway_s / 60:.3g} → {row.alt_headway_s / 60:.3g} min"
                    )
                if _finite(row.d_length_m) and abs(row.d_length_m) >= 1.0:
                    bits.append(f"rerouted, {row.d_length_m:+,.0f} m".replace("-", "−"))
                where = getattr(row, "links", "") if row.d_one_way_s > 0 else ""
                parts.append(
                    f"{label} {', '.join(bits)}" + (f" (on its route: {where})" if where else "")
                )
        more = f" and {len(lines) - len(shown)} more" if len(lines) > len(shown) else ""
        out.append(f"Lines: {'; '.join(parts)}{more}.")
    if len(links):
        top = links.head(3)
        parts = [
            f"{street_name(row.name, row.edge)}"
            f"{' ' + _seconds(row.d_time_s) if _finite(row.d_time_s) else ''} ({row.cause})"
            for row in top.itertuples()
        ]
        out.append(
            f"Road: {len(links):,} links change time beyond noise; the largest in vehicle-hours: "
            + "; ".join(parts)
            + "."
        )
    shares = metrics[metrics["unit"] == "share"]
    if len(shares):
        words = [
            f"{row.label.lower()} {_points(row.delta)} ({row.verdict})"
            for row in shares.itertuples()
        ]
        trips = _mode_trips(base, alt)
        moved = ", ".join(
            f"{m} {'+' if v > 0 else '−'}{abs(v):,.1f}" for m, v in trips.items() if abs(v) >= 0.05
        )
        out.append(
            "Mode choice: " + ", ".join(words) + (f"; trips/h: {moved}" if moved else "") + "."
        )
    crowding = metrics[
        metrics["metric"].isin(list(noise.capacity)) & (metrics["verdict"] != "no change")
    ]
    if len(crowding):
        words = [
            f"{row.label.lower()} {_signed_value(row.delta)} {row.unit} ({row.verdict}, band "
            f"±{_band_text(row.noise)})"
            for row in crowding.itertuples()
        ]
        out.append(
            "Crowding: " + "; ".join(words) + ". Near full lines these figures hang on where "
            "the capacity-constrained transit assignment stops; the band is how far they "
            f"scattered over each run's last {CAPACITY_NOISE_ITERATIONS} feedback iterations."
        )
    generalised = crossings[crossings["crossings"] != ""]
    real = generalised[~generalised["within_noise"]]
    if len(generalised):
        first = (real if len(real) else generalised).iloc[0]
        lines_used = f", in-vehicle by line: {first.lines}" if first.get("lines") else ""
        out.append(
            f"Threshold crossings: {len(real):,} pairs cross an accessibility cutoff "
            f"({', '.join(f'{c:g}' for c in cutoffs)} generalised min) beyond noise and "
            f"{len(generalised) - len(real):,} within noise; the largest moves "
            f"{first.jobs:,.0f} jobs from zone {first.origin} to zone {first.destination}: "
            f"{_plain_s(first.base_s)} → {_plain_s(first.alt_s)} ({_seconds(first.delta_s)}"
            f"{lines_used}). A cumulative count moves all of a destination's jobs for a few "
            "seconds across a cutoff; the time-decay measure beside it moves in proportion."
        )
    fastest = crossings[crossings["fastest_crossings"] != ""]
    if len(fastest):
        out.append(
            f"By fastest time, {len(fastest):,} pairs cross a cutoff "
            f"({int(fastest['fastest_crossings'].str.contains('noise').sum()):,} within noise)."
        )
    finite = pairs[np.isfinite(pairs["delta_s"])]
    with np.errstate(invalid="ignore"):
        slower = finite[
            (finite["within_noise"] | (finite["delta_s"] < 0))
            & (finite["alt_time_s"] - finite["base_time_s"] > noise.seconds(finite["base_time_s"]))
        ]
    if len(slower):
        top = slower.assign(_d=slower["alt_time_s"] - slower["base_time_s"]).sort_values(
            "_d", ascending=False
        )
        row = top.iloc[0]
        out.append(
            f"{len(slower):,} pairs now take a strategy that costs no more generalised time but "
            f"takes longer door to door (e.g. zone {row.origin} → {row.destination}: "
            f"{_plain_s(row.base_time_s)} → {_plain_s(row.alt_time_s)} travel time, "
            f"{_plain_s(row.base_s)} → {_plain_s(row.alt_s)} generalised, boardings "
            f"{row.base_boardings:.2g} → {row.alt_boardings:.2g}; {_components(row)}): route "
            "choice trades travel time for less weighted walking, waiting or transfers, so "
            "they are not counted as losses."
        )
    if len(zones):
        counts = zones["verdict"].value_counts()
        verdicts = ", ".join(f"{n} {v}" for v, n in counts.items())
        out.append(f"Zones whose transit accessibility changed: {verdicts}.")
    return " ".join(out)


# ---------------------------------------------------------------------------- helpers
_PAIR_COLUMNS = (
    "transit_generalised_s",
    "transit_time_s",
    "transit_ivt_s",
    "transit_wait_s",
    "transit_walk_s",
    "transit_boardings",
)


def _has_skims(result: ScenarioResult) -> bool:
    """Whether ``result`` holds the pair skims and parameters the explanation needs."""
    od = result.tables.get("od")
    return (
        od is not None
        and all(c in od.columns for c in _PAIR_COLUMNS)
        and "parameters" in result.summary
    )


def street_name(name: Any, edge: Any) -> str:
    """A link's street name for people (several names joined by " / "; else ``link <edge>``)."""
    if isinstance(name, list | tuple | np.ndarray):
        names = [str(n) for n in name if isinstance(n, str) and n]
        return " / ".join(names) if names else f"link {edge}"
    if isinstance(name, str) and name:
        if name.startswith("[") and name.endswith("]"):  # a list stored as text
            return " / ".join(n.strip(" '\"") for n in name[1:-1].split(",") if n.strip(" '\""))
        return name
    return f"link {edge}"


def _finite(value: Any) -> bool:
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _seconds(value: Any) -> str:
    """A signed change in seconds."""
    if not _finite(value):
        return "unreachable" if value == np.inf else "newly reachable"
    v = float(value)
    sign = "+" if v > 0 else "−" if v < 0 else "±"
    size = abs(v)
    return f"{sign}{size:,.1f} s" if size >= 0.1 or size == 0 else f"{sign}{size:.2f} s"


def _band_text(value: float) -> str:
    """A noise band in words: whole numbers from 10, one decimal from 1, else 2 digits."""
    if value >= 10:
        return f"{value:,.0f}"
    return f"{value:.1f}" if value >= 1 else f"{value:.2g}"


def _signed_value(value: float) -> str:
    if not _finite(value):
        return "–"
    return f"{'+' if value > 0 else '−' if value < 0 else '±'}{abs(value):.3g}"


def _plain_s(value: Any) -> str:
    if not _finite(value):
        return "unreachable"
    return f"{float(value):,.0f} s" if abs(float(value)) >= 10 else f"{float(value):.2g} s"


def _points(share: float) -> str:
    return f"{'+' if share >= 0 else '−'}{abs(100 * share):.2f} pp"


def _columns(table: pd.DataFrame | None, keep: list[str]) -> pd.DataFrame:
    if table is None or not len(table):
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c != "line" and c != "name" else object) for c in keep}
        )
    out = table.copy()
    for c in keep:
        if c not in out.columns:
            out[c] = np.nan
    return out[keep]


def _column(table: pd.DataFrame, name: str, default: Any = 0.0) -> np.ndarray:
    if name in table.columns:
        return table[name].fillna(default).to_numpy()
    return np.full(len(table), default)
