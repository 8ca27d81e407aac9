"""How well modelled flows reproduce counts: the statistics planners report.

* GEH (Geoffrey E. Havers): ``sqrt(2 (M - C)^2 / (M + C))`` with hourly flows ``M``
  (modelled) and ``C`` (counted); the UK TAG unit M3.1 (table 3) and DMRB ask for
  GEH < 5 on more than 85 % of counted links.
* TAG's flow criterion (same table): within 100 veh/h below 700 veh/h counted, within
  15 % from 700 to 2,700 veh/h, within 400 veh/h above 2,700 veh/h.
* R² of modelled against counted flows (squared Pearson correlation, the value shown
  with a scatter plot's regression line) and the slope of the line through the origin.
* RMSE and %RMSE (RMSE over the mean count) by flow band.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: TAG M3.1 flow bands, veh/h: lower edges of ``<700``, ``700-2700``, ``>2700``
FLOW_BANDS_VPH = (0.0, 700.0, 2700.0, np.inf)


def geh(modelled: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """GEH statistic per link (hourly flows, veh/h); 0 where both are 0."""
    m = np.asarray(modelled, dtype=np.float64)
    c = np.asarray(counted, dtype=np.float64)
    total = m + c
    with np.errstate(divide="ignore", invalid="ignore"):
        value = np.sqrt(2.0 * (m - c) ** 2 / total)
    return np.where(total > 0, value, 0.0)


def meets_flow_criterion(modelled: np.ndarray, counted: np.ndarray) -> np.ndarray:
    """TAG M3.1's flow criterion per link (see the module docstring)."""
    m = np.asarray(modelled, dtype=np.float64)
    c = np.asarray(counted, dtype=np.float64)
    diff = np.abs(m - c)
    return np.where(
        c < 700.0, diff <= 100.0, np.where(c <= 2700.0, diff <= 0.15 * c, diff <= 400.0)
    )


def count_statistics(modelled: np.ndarray, counted: np.ndarray) -> dict[str, float]:
    """Summary of the fit: ``n, share_geh_below_5, mean_geh, max_geh, share_flow_criterion,
    r2, slope, rmse, percent_rmse`` (flows in veh/h; shares in 0..1)."""
    m = np.asarray(modelled, dtype=np.float64)
    c = np.asarray(counted, dtype=np.float64)
    if m.shape != c.shape or m.size == 0:
        raise ValueError(f"need as many modelled as counted flows (>0), got {m.size} and {c.size}")
    g = geh(m, c)
    rmse = float(np.sqrt(np.mean((m - c) ** 2)))
    mean_c = float(c.mean())
    if m.size > 1 and m.std() > 0 and c.std() > 0:
        r2 = float(np.corrcoef(m, c)[0, 1] ** 2)
    else:
        r2 = float("nan")
    cc = float(c @ c)
    return {
        "n": float(m.size),
        "share_geh_below_5": float(np.mean(g < 5.0)),
        "mean_geh": float(g.mean()),
        "max_geh": float(g.max()),
        "share_flow_criterion": float(np.mean(meets_flow_criterion(m, c))),
        "r2": r2,
        "slope": float(m @ c / cc) if cc > 0 else float("nan"),
        "rmse": rmse,
        "percent_rmse": 100.0 * rmse / mean_c if mean_c > 0 else float("nan"),
    }


def rmse_by_band(
    modelled: np.ndarray, counted: np.ndarray, bands: tuple[float, ...] = FLOW_BANDS_VPH
) -> pd.DataFrame:
    """RMSE per counted-flow band: ``band, n, mean_count, rmse, percent_rmse,
    share_geh_below_5`` (bands by the count, veh/h; empty bands have n = 0 and NaN)."""
    m = np.asarray(modelled, dtype=np.float64)
    c = np.asarray(counted, dtype=np.float64)
    g = geh(m, c)
    rows = []
    for lo, hi in zip(bands[:-1], bands[1:], strict=False):
        inside = (c >= lo) & (c < hi)
        name = f"{lo:,.0f}+" if not np.isfinite(hi) else f"{lo:,.0f}-{hi:,.0f}"
        if inside.any():
            rmse = float(np.sqrt(np.mean((m[inside] - c[inside]) ** 2)))
            mean_c = float(c[inside].mean())
            rows.append(
                (name, int(inside.sum()), mean_c, rmse,
                 100.0 * rmse / mean_c if mean_c > 0 else np.nan, float(np.mean(g[inside] < 5.0)))
            )  # fmt: skip
        else:
            rows.append((name, 0, np.nan, np.nan, np.nan, np.nan))
    return pd.DataFrame(
        rows, columns=["band", "n", "mean_count", "rmse", "percent_rmse", "share_geh_below_5"]
    )
