"""Write docs/case_liechtenstein_design.md from a designed network's comparison and the
rank-agreement table, so that every number on the page comes from those outputs.

    transitopt optimise design scenarios/liechtenstein_base.toml --routes 16 --fleet 123 \\
        --spacing 500 --max-stops 30 --evaluations 20000 --seed 0 --fit-fleet -o OUT/design.toml
    transitopt compare scenarios/liechtenstein_base.toml OUT/design.toml -o OUT/cmp
    python benchmarks/bench_city_design.py scenarios/liechtenstein_base.toml --fleet 123
    PYTHONPATH=$PWD python docs/case_design.py OUT/cmp OUT/design.toml \\
        benchmarks/city_design_results/liechtenstein_base_rank.csv
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

DOCS = Path(__file__).resolve().parent
ROWS = (
    ("composite_cost_min", "Generalised cost per trip (logsum), min", "{:.2f}"),
    ("share_transit", "Transit share", "{:.1%}"),
    ("transit_trips", "Transit trips/h", "{:,.0f}"),
    ("transit_avg_wait_min", "Average wait, min", "{:.2f}"),
    ("transit_avg_time_min", "Transit door-to-door time, min", "{:.2f}"),
    ("transit_transfers_per_trip", "Transfers per trip", "{:.3f}"),
    ("jobs_transit_30min", "Jobs within 30 min by transit (pop-weighted)", "{:,.0f}"),
    ("jobs_transit_45min", "Jobs within 45 min by transit (pop-weighted)", "{:,.0f}"),
    ("car_delay_veh_h", "Car delay, veh·h/h", "{:,.1f}"),
    ("lane_km_voc_over_1_0", "Lane-km with v/c > 1", "{:.2f}"),
    ("transit_fleet", "Fleet (full model)", "{:.0f}"),
    ("transit_veh_km", "Bus vehicle-km/h", "{:,.0f}"),
    ("transit_veh_h", "Bus vehicle-hours/h", "{:,.1f}"),
    ("gini_transit_30min", "Gini of transit access (30 min)", "{:.3f}"),
    ("palma_transit_30min", "Palma ratio of transit access (30 min)", "{:.2f}"),
    ("co2_total", "CO₂, kg/h", "{:,.0f}"),
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("comparison", type=Path)
    parser.add_argument("design", type=Path)
    parser.add_argument("rank", type=Path)
    parser.add_argument("--fleet", type=int, default=123, help="The fleet given to the design.")
    args = parser.parse_args()
    table = pd.read_csv(args.comparison / "comparison.csv").set_index("metric")
    base_col, alt_col = table.columns[2], table.columns[3]
    lines = [
        "| metric | baseline (OSM 2015, 16 routes) | designed (16 routes) | change |",
        "|---|---:|---:|---:|",
    ]
    for name, label, fmt in ROWS:
        if name not in table.index:
            continue
        b, a = float(table.loc[name, base_col]), float(table.loc[name, alt_col])
        change = (
            f"{a - b:+.1%}".replace("%", " pt")
            if name.startswith("share")
            else (f"{(a - b) / b:+.1%}" if b else "–")
        )
        lines.append(f"| {label} | {fmt.format(b)} | {fmt.format(a)} | {change} |")
    gains = {
        key: float(table.loc[f"transit_access_30min_population_{key}", alt_col])
        for key in ("gain", "lose")
    }
    header = [ln for ln in args.design.read_text().splitlines() if ln.startswith("# ")][:2]
    rank = pd.read_csv(args.rank)
    designed = rank[rank["network"] != "baseline"]
    rho = {
        (fast, full): spearmanr(designed[fast], designed[full])
        for fast in ("att_min", "fast_cost_min")
        for full in ("composite_cost_min", "transit_avg_time_min")
    }
    base_row = rank[rank["network"] == "baseline"].iloc[0]
    better = int((designed["composite_cost_min"] < base_row["composite_cost_min"]).sum())
    base_fleet = float(table.loc["transit_fleet", base_col])
    fleet_note = (
        ": the comparison is at equal fleet."
        if abs(base_fleet - args.fleet) < 0.5
        else f" (the budget of {args.fleet} was the baseline's fleet before the street network "
        "import changed; rerun with `--fleet "
        f"{base_fleet:.0f}` for equal fleet): the comparison below is **not** at equal fleet."
    )
    img = DOCS / "img"
    maps = sorted((args.comparison / "maps").glob("01-*line-loads.png")) + sorted(
        (args.comparison / "maps").glob("01-*access-change.png")
    )
    names = ["case_liechtenstein_design_line_loads.png", "case_liechtenstein_design_access.png"]
    for src, name in zip(maps, names, strict=False):
        shutil.copyfile(src, img / name)
    text = f"""# Designed bus network for Liechtenstein vs the 2015 network

*Written by `docs/case_design.py` from `transitopt compare` of the baseline
`scenarios/liechtenstein_base.toml` and a network designed by `transitopt optimise design`
(commands in the script's docstring); every number below comes from those outputs.*

## What was done

From the baseline alone (street network, 500 m zones with residents and jobs from the OSM
buildings, 12,000 person trips/h in the morning peak, the 16 OSM bus routes of 2015),
`optimise design` built a candidate network (stops on main roads at least 500 m apart,
plus a stop for every populated zone farther than 600 m from them; links along the
routed streets, docs/model.md section 5b), designed 16 routes of up to 30 stops by
simulated annealing on the fast objective (ATT with a 5 min transfer penalty, 20,000
route-set evaluations, seed 0), set their headways under a fleet of {args.fleet} buses
and, with `--fit-fleet`, refitted the headways at the full model's congested running
times until the evaluated fleet fit. **The baseline's own evaluated fleet is
{float(table.loc["transit_fleet", base_col]):.0f}**{fleet_note}
The written scenario removes the 2015 routes and adds D1..D16.

The design's own summary (from the scenario file):

```
{chr(10).join(header)}
```

## Designed network vs the 2015 network (full model)

{chr(10).join(lines)}

Residents whose jobs within 30 min by transit rise: {gains["gain"]:,.0f}; fall:
{gains["lose"]:,.0f}.

![Line loads of the designed network](img/case_liechtenstein_design_line_loads.png)

![Change in jobs reachable by transit](img/case_liechtenstein_design_access.png)

**Reading.** The designed routes are long (the fast objective rewards direct trips and
has no waiting time), so they run every 15-20 min instead of every 10; read the table
with the fleet line in mind: a network with more buses than the baseline has not
beaten it at equal fleet.

## Does the fast objective rank networks as the full model does?

`benchmarks/bench_city_design.py` designed {len(designed)} networks (16, 20 and 24
routes; 25 or 30 stops at most; 300 or 10,000 evaluations; seeds 0 and 1; fleet
{args.fleet}),
wrote each as a scenario and evaluated it with the full model. Spearman rank
correlations over the {len(designed)} networks:

| fast objective | vs generalised cost per trip (logsum) | vs transit door-to-door time |
|---|---:|---:|
| ATT (in-vehicle + 5 min per transfer) | {rho[("att_min", "composite_cost_min")][0]:+.2f} (p = {rho[("att_min", "composite_cost_min")][1]:.2g}) | {rho[("att_min", "transit_avg_time_min")][0]:+.2f} (p = {rho[("att_min", "transit_avg_time_min")][1]:.2g}) |
| ATT + mean wait × boardings (`fast_cost_min`) | {rho[("fast_cost_min", "composite_cost_min")][0]:+.2f} (p = {rho[("fast_cost_min", "composite_cost_min")][1]:.2g}) | {rho[("fast_cost_min", "transit_avg_time_min")][0]:+.2f} (p = {rho[("fast_cost_min", "transit_avg_time_min")][1]:.2g}) |

{better} of the {len(designed)} designed networks have a lower generalised cost than the
2015 network ({base_row["composite_cost_min"]:.2f} min/trip). Per-network figures:
`benchmarks/city_design_results/liechtenstein_base_rank.csv`.

## Limits

* The fast objective has no waiting, walking, mode choice or congestion; its ranking is
  only as good as the correlations above. Frequencies enter only after the routes are
  fixed (and through `fast_cost_min` when `--objective pareto` picks among the front).
* `--max-route-min` limits stops per route, not minutes; terminals are not restricted.
* The baseline's headways are the 10-min default for OSM relations without interval
  tags (docs/case_liechtenstein.md); the comparison is against that network as mapped,
  not LIEmobil's timetable.
"""
    (DOCS / "case_liechtenstein_design.md").write_text(text, encoding="utf-8")
    print("wrote", DOCS / "case_liechtenstein_design.md")


if __name__ == "__main__":
    main()
