"""Write docs/case_<city>_design.md: design networks for a city, compare them with the
existing network, and put every number of those outputs on the page.

One command per city regenerates everything the page reads that is not committed:

    PYTHONPATH=$PWD python docs/case_design.py liechtenstein
    PYTHONPATH=$PWD python docs/case_design.py porto
    PYTHONPATH=$PWD python docs/case_design.py bogor

For each design of the city (``DESIGNS`` below: the exact `transitopt optimise design`
arguments) it runs, into ``OUT/<city>/<label>/`` (``--out``, default
``benchmarks/out/case_design``, git-ignored; ``--reuse`` keeps folders already complete):

    transitopt optimise design BASE <args> --fit-fleet -o OUT/<city>/<label>/design.toml
    transitopt compare BASE OUT/<city>/<label>/design.toml -o OUT/<city>/<label>/cmp

and records the CPU seconds of the design command (user + system of the child process)
in ``design.log``. The designs are reproducible: an evaluation budget and a seed give the
same route set on any machine (docs/model.md section 5b). The tables over seeds, the
rank agreement and the operating-cost runs are the committed CSVs of
``benchmarks/city_design_results`` (``TABLES`` below), written by
``benchmarks/bench_city_design.py`` and ``benchmarks/bench_city_objectives.py`` (commands
in their docstrings). Maps are copied, reduced, to ``docs/img``.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import spearmanr

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
RESULTS = REPO / "benchmarks" / "city_design_results"

#: per city, the designs shown: label -> `transitopt optimise design` arguments after the
#: scenario (``--fit-fleet -o ...`` added)
DESIGNS: dict[str, dict[str, list[str]]] = {
    "liechtenstein": {
        "passenger": "--routes 16 --fleet 91 --spacing 500 --max-stops 30 --evaluations 20000 "
        "--seed 0 --objective passenger".split(),
        "frequency": "--routes 16 --fleet 91 --spacing 500 --max-stops 30 --evaluations 20000 "
        "--seed 0 --objective frequency".split(),
    },
    "porto": {
        "frequency": "--routes 12 --fleet 54 --spacing 300 --max-stops 20 --evaluations 20000 "
        "--seed 0 --objective frequency".split(),
        "passenger": "--routes 12 --fleet 54 --spacing 300 --max-stops 20 --evaluations 20000 "
        "--seed 0 --objective passenger".split(),
    },
    "bogor": {
        "frequency": "--routes 12 --fleet 587 --spacing 300 --max-stops 40 --evaluations 20000 "
        "--seed 0 --objective frequency".split(),
        "passenger": "--routes 12 --fleet 587 --spacing 300 --max-stops 40 --evaluations 20000 "
        "--seed 0 --objective passenger".split(),
    },
}

#: per city, the committed tables of benchmarks/city_design_results the page reads
TABLES: dict[str, dict[str, str]] = {
    "liechtenstein": {
        "rank": "liechtenstein_base_rank.csv",
        "objectives": "liechtenstein_base_objectives.csv",
        "operator": "liechtenstein_base_operator.csv",
    },
    "porto": {"seeds": "porto_base_seeds.csv", "rank": "porto_base_rank.csv"},
    "bogor": {"seeds": "bogor_base_seeds.csv"},
}
ROWS = (
    ("composite_cost_min", "Generalised cost per trip (logsum), min", "{:.2f}"),
    ("share_transit", "Transit share", "{:.1%}"),
    ("transit_trips", "Transit trips/h", "{:,.0f}"),
    ("transit_avg_wait_min", "Average wait, min", "{:.2f}"),
    ("transit_avg_time_min", "Transit door-to-door time, min", "{:.2f}"),
    ("transit_transfers_per_trip", "Transfers per trip", "{:.3f}"),
    ("ACCESS", "", ""),
    ("car_delay_veh_h", "Car delay, veh·h/h", "{:,.1f}"),
    ("lane_km_voc_over_1_0", "Lane-km with v/c > 1", "{:.2f}"),
    ("transit_lines_over_capacity", "Lines (directions) over capacity", "{:.0f}"),
    ("transit_fleet", "Fleet (full model, all lines)", "{:.0f}"),
    ("transit_veh_km", "Transit vehicle-km/h", "{:,.0f}"),
    ("transit_veh_h", "Transit vehicle-hours/h", "{:,.1f}"),
    ("EQUITY", "", ""),
    ("co2_total", "CO₂, kg/h", "{:,.0f}"),
)


def _rows(index: pd.Index) -> tuple[list[tuple[str, str, str]], list, int]:
    """Table rows with the scenario's accessibility thresholds; the criteria of issue 14
    (label, metrics, +1 when higher is better); the threshold equity is read at."""
    minutes = sorted(
        int(m.group(1))
        for m in (re.fullmatch(r"jobs_transit_(\d+)min", str(i)) for i in index)
        if m
    )
    mid = minutes[len(minutes) // 2] if minutes else 30
    rows: list[tuple[str, str, str]] = []
    for name, label, fmt in ROWS:
        if name == "ACCESS":
            rows += [
                (
                    f"jobs_transit_{m}min",
                    f"Jobs within {m} min by transit (pop-weighted)",
                    "{:,.0f}",
                )
                for m in minutes
            ]
        elif name == "EQUITY":
            rows += [
                (f"gini_transit_{mid}min", f"Gini of transit access ({mid} min)", "{:.3f}"),
                (f"palma_transit_{mid}min", f"Palma ratio of transit access ({mid} min)", "{:.2f}"),
            ]
        else:
            rows.append((name, label, fmt))
    criteria = [
        ("generalised cost", ("composite_cost_min",), -1),
        ("accessibility", tuple(f"jobs_transit_{m}min" for m in minutes), +1),
        ("congestion", ("car_delay_veh_h", "lane_km_voc_over_1_0"), -1),
        ("operator cost", ("transit_veh_h", "transit_veh_km"), -1),
        ("equity", (f"gini_transit_{mid}min", f"palma_transit_{mid}min"), -1),
    ]
    return rows, criteria, mid


CITIES = {
    "liechtenstein": {
        "title": "Liechtenstein: designed bus network vs the 2015 network at equal fleet",
        "scenario": "scenarios/liechtenstein_base.toml",
        "currency": "CHF",
        "baseline": "OSM 2015 bus relations, 15 routes evaluated",
        "what": (
            "From the baseline alone (street network, 500 m zones with residents and jobs "
            "from the OSM buildings, 12,000 person trips/h in the morning peak, the OSM "
            "bus route relations of 2015: 15 routes and 91 buses as the model evaluates "
            "them), `optimise design` built a candidate network (stops on main "
            "roads at least 500 m apart, plus a stop for every populated zone farther than "
            "600 m from them; links along the routed streets, docs/model.md section 5b), "
            "designed 16 routes of up to 30 stops (20,000 route-set evaluations, seed 0), set "
            "their headways under the baseline's own evaluated fleet and, with `--fit-fleet`, "
            "refitted them at the full model's congested running times until the evaluated "
            "fleet fit. The written scenario removes the 2015 routes and adds D1..D16."
        ),
        "reading": (
            "**Reading.** The `passenger` objective has no waiting, so the search makes "
            "every route as long as allowed and the fleet can run each only every 15-30 "
            "min: it still beats the 2015 network (shorter in-vehicle times, fewer "
            "transfers), but residents at the ends of long, infrequent routes lose access "
            "and equity worsens. With the wait at the fleet's common headway in the search "
            "(`frequency`), long routes cost every rider waiting, so the design keeps "
            "fewer long trunk routes at 7.5-12 min and serves dead-end stops with short "
            "routes: generalised cost falls a little further and equity improves instead. "
            "Both use more of the same fleet's hours (operator cost in vehicle-hours and "
            "vehicle-km is higher); pricing a vehicle-hour in the objective trades that "
            'against passengers\' time (section "Operating cost in the design objective").'
        ),
        "limits": (
            "* The baseline's headways are the 10-min default for OSM relations without "
            "interval tags (docs/case_liechtenstein.md); the comparison is against that "
            "network as mapped, not LIEmobil's timetable.\n"
            "* At 500 m spacing 16 stops are dead ends and 28 more can only be served by "
            "routes that turn back on the street they came by, more than the 32 ends of 16 "
            "routes: the designs allow U-turns (`--no-u-turns` refuses this case)."
        ),
    },
    "porto": {
        "title": "Porto: designed bus network vs the mapped bus lines at equal bus fleet",
        "scenario": "scenarios/porto_base.toml",
        "baseline": "OSM 2020, 22 bus routes + tram, metro, train",
        "what": (
            "Central Porto (about 2.3 × 3.5 km, 300 m zones from the OSM buildings, 25,000 "
            "person trips/h; docs/case_porto.md). The baseline's 22 bus routes (cut at the "
            "extract's edge) run 54 buses as the full model evaluates them; trams, metro and "
            "trains (30 vehicles) are kept. `optimise design` built stops on main roads at "
            "least 300 m apart plus must-serve stops for populated zones, designed 12 routes "
            "of up to 20 stops (20,000 evaluations, seed 0), set headways under 54 buses and "
            "refitted them at the full model's running times (`--fit-fleet`). The written "
            "scenario removes the 22 bus routes and adds D1..D12."
        ),
        "limits": (
            "* The extract cuts every bus line at its edge; riders to and from outside the "
            "centre are not modelled, so the comparison is of the centre's bus service only.\n"
            "* Short designed routes (3-5 stops) serve dead-end stops (every stop must be on "
            "a route); a planner would merge them into neighbouring routes."
        ),
    },
    "bogor": {
        "title": "Bogor: designed angkot network vs the existing angkot lines at equal fleet",
        "scenario": "scenarios/bogor_base.toml",
        "baseline": "angkot GTFS, 24 lines",
        "what": (
            "Kota Bogor (1 km zones, 60,000 person trips/h; docs/case_bogor.md) has no street "
            "network in the scenario, so the candidate network comes from the angkot lines "
            "themselves (docs/model.md section 5b): their stops thinned to 300 m, linked "
            "where consecutive along a line, link times = straight line × the model's "
            "detour factor at the angkot lines' mean commercial speed as the model times "
            "them (minibus defaults, dwell at the feed's stops included). The designed lines "
            "are hail-and-ride minibuses at that speed, like the baseline's. 12 routes of up "
            "to 40 stops (20,000 evaluations, seed 0), headways under the baseline's own "
            "evaluated fleet, refitted with the full model."
        ),
        "limits": (
            "* Designed routes can only follow the corridors the existing angkot lines use "
            "(the candidate links are their segments): the design rearranges routes and "
            "frequencies, it cannot open a street no angkot uses.\n"
            "* Angkot headways in the GTFS are a flat 4 min; the real service is "
            "demand-responsive (docs/case_bogor.md).\n"
            "* Most lines of both networks carry more than their 12-seat minibuses hold (see "
            "the table and the line-load map); the scenario does not enable the crowding "
            "model (`[model.transit_capacity]`), so crowding does not turn riders away in "
            "either network."
        ),
    },
}


def _run(command: list[str], log: Path) -> float:
    """Run ``command`` in the repository (this checkout's package first on the path), its
    output to ``log``; CPU seconds (user + system) of the child, also appended to ``log``."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with log.open("w", encoding="utf-8") as out:
        done = subprocess.run(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\nCPU seconds (user + system): {cpu:.2f}\n")
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed (exit {done.returncode}); see {log}")
    return cpu


def regenerate(city: str, out: Path, *, reuse: bool = False) -> list[tuple[str, Path]]:
    """Design and compare every network of ``DESIGNS[city]`` into ``out/<city>/<label>``."""
    scenario = CITIES[city]["scenario"]
    folders = []
    for label, arguments in DESIGNS[city].items():
        folder = (out / city / label).resolve()
        folders.append((label, folder))
        if reuse and (folder / "DONE").is_file():
            print(f"{label}: kept {folder}", flush=True)
            continue
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "DONE").unlink(missing_ok=True)
        cli = [sys.executable, "-m", "transitopt.cli"]
        design = folder / "design.toml"
        cpu = _run(
            [*cli, "optimise", "design", scenario, *arguments, "--fit-fleet", "-o", str(design)],
            folder / "design.log",
        )
        print(f"{label}: designed in {cpu:.0f} CPU s", flush=True)
        cpu = _run(
            [*cli, "compare", scenario, str(design), "-o", str(folder / "cmp")], folder / "cmp.log"
        )
        print(f"{label}: compared in {cpu:.0f} CPU s", flush=True)
        (folder / "DONE").write_text("done\n")
    return folders


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("city", choices=sorted(CITIES))
    parser.add_argument(
        "--out",
        type=Path,
        default=REPO / "benchmarks" / "out" / "case_design",
        help="Folder of the design runs (git-ignored default).",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="Keep design folders already complete."
    )
    args = parser.parse_args()
    designs = regenerate(args.city, args.out, reuse=args.reuse)
    tables = {key: RESULTS / name for key, name in TABLES[args.city].items()}
    args.rank = tables.get("rank")
    args.objectives = tables.get("objectives")
    args.seeds = tables.get("seeds")
    args.operator = tables.get("operator")
    city = CITIES[args.city]
    tables = []
    for _, folder in designs:
        t = pd.read_csv(folder / "cmp" / "comparison.csv").set_index("metric")
        tables.append(t)
    base_col = tables[0].columns[2]
    base = tables[0][base_col]
    alts = [t[t.columns[3]] for t in tables]
    header = "| metric | baseline (" + city["baseline"] + ") | "
    header += " | ".join(f"designed, `{label}` | change" for label, _ in designs) + " |"
    lines = [header, "|---|---:|" + "---:|---:|" * len(designs)]
    rows, criteria, mid = _rows(base.index)
    for name, label, fmt in rows:
        if name not in base.index:
            continue
        b = float(base[name])
        cells = [label, fmt.format(b)]
        for alt in alts:
            a = float(alt[name])
            change = (
                f"{(a - b) * 100:+.1f} pt"
                if name.startswith("share")
                else (f"{(a - b) / b:+.1%}" if b else "–")
            )
            cells += [fmt.format(a), change]
        lines.append("| " + " | ".join(cells) + " |")
    verdicts = []
    for (label, folder), alt in zip(designs, alts, strict=True):
        parts = []
        for crit, metrics, sign in criteria:
            moves = [
                sign * (float(alt[m]) - float(base[m])) / max(abs(float(base[m])), 1e-12)
                for m in metrics
                if m in base
            ]
            up = [d > 1e-3 for d in moves]  # a change below 0.1 % counts as none
            down = [d < -1e-3 for d in moves]
            word = (
                "not modelled"
                if not moves
                else "unchanged"
                if not any(up) and not any(down)
                else "better"
                if not any(down)
                else "worse"
                if not any(up)
                else "mixed"
            )
            parts.append(f"{crit}: **{word}**")
        fleet_b, fleet_a = float(base["transit_fleet"]), float(alt["transit_fleet"])
        equal = (
            "equal fleet"
            if abs(fleet_a - fleet_b) < 0.5
            else f"fleet {fleet_a:.0f} {'≤' if fleet_a < fleet_b else '>'} {fleet_b:.0f}"
        )
        cpu = _cpu_s(folder / "design.log")
        idle_b = fleet_b - float(base["transit_veh_h"])
        idle_a = fleet_a - float(alt["transit_veh_h"])
        why = (
            f" Vehicle-hours differ at equal fleet because each route's fleet is its "
            f"vehicles in service rounded up: {idle_b:.1f} of the baseline's buses stand "
            f"idle each hour against {idle_a:.1f} of the design's."
            if abs(fleet_a - fleet_b) < 0.5 and abs(idle_a - idle_b) > 0.5
            else ""
        )
        verdicts.append(f"* `{label}` ({equal}; design {cpu}): " + "; ".join(parts) + "." + why)
    shapes = [_shape(label, folder / "design.toml") for label, folder in designs]
    summaries = []
    for label, folder in designs:
        head = [
            ln for ln in (folder / "design.toml").read_text().splitlines() if ln.startswith("# ")
        ]
        summaries.append(f"`{label}`:\n\n```\n" + "\n".join(head[:2]) + "\n```")
    img = DOCS / "img"
    maps = []
    for label, folder in designs:
        for kind, what in (
            ("line-loads", "Line loads"),
            ("access-change", "Change in jobs reachable by transit"),
        ):
            found = sorted((folder / "cmp" / "maps").glob(f"01-*{kind}.png"))
            if found:
                name = f"case_{args.city}_design_{label}_{kind.replace('-', '_')}.png"
                _save_small(found[0], img / name)
                maps.append(f"![{what}, `{label}` design](img/{name})")
    gains = []
    for (label, _), alt in zip(designs, alts, strict=True):
        key = f"transit_access_{mid}min_population_"
        if key + "gain" in alt.index:
            gains.append(
                f"`{label}`: {float(alt[key + 'gain']):,.0f} residents gain jobs within "
                f"{mid} min by transit, {float(alt[key + 'lose']):,.0f} lose."
            )
    rank_text = _rank_section(args.rank, float(base["composite_cost_min"])) if args.rank else ""
    if args.objectives:
        rank_text = _objectives_section(args.objectives) + rank_text
    if args.operator:
        rank_text = _operator_section(args.operator, city.get("currency", "EUR")) + rank_text
    if args.seeds:
        rank_text = _seeds_section(args.seeds) + rank_text
    commands = "\n".join(
        f"* `{label}`: `{' '.join(DESIGNS[args.city][label])}`" for label, _ in designs
    )
    text = f"""# {city["title"]}

*Written by `PYTHONPATH=$PWD python docs/case_design.py {args.city}` (in the repository
root): it designs the networks below with `transitopt optimise design` (arguments in the
script's `DESIGNS`, evaluation budgets and seeds, so reproducible), compares each with the
baseline `{city["scenario"]}` by `transitopt compare` into `benchmarks/out/case_design/`
(git-ignored) and reads the committed tables of `benchmarks/city_design_results/`; every
number below comes from those outputs. CPU seconds are of the design command (search,
candidate network and the `--fit-fleet` evaluations), user + system, on a shared machine,
numba compilation included where the checkout's cache was cold.*

Design commands (after `transitopt optimise design {city["scenario"]}`, each with
`--fit-fleet -o <folder>/design.toml`):

{commands}

## What was done

{city["what"]}

Two fast objectives where two designs are shown (docs/model.md section 5b): `passenger`
minimises ATT (in-vehicle minutes + 5 min per transfer, no waiting); `frequency` adds the
wait at the common headway the fleet can run the whole route set at, times boardings per
trip, so long routes cost frequency inside the search.

Shape of the designs (from the scenario files): {"; ".join(shapes)}.

The designs' own summaries (from the scenario files):

{chr(10).join(summaries)}

## Designed vs existing network (full model)

{chr(10).join(lines)}

{chr(10).join(gains)}

**Verdict at equal fleet** (better = no listed metric moves the wrong way by 0.1 % or
more and one moves the right way; mixed = some each way: generalised cost per trip; jobs within each threshold; car delay and overloaded
lane-km; vehicle-hours and vehicle-km; Gini and Palma of access at {mid} min):

{chr(10).join(verdicts)}

{city.get("reading", "")}

{chr(10).join(maps)}
{rank_text}
## Limits

{city["limits"]}
* The fast objective has no walking, mode choice or congestion; the full model decides.
"""
    out = DOCS / f"case_{args.city}_design.md"
    out.write_text(text, encoding="utf-8")
    print("wrote", out)


def _shape(label: str, design: Path) -> str:
    """Routes, stops per route and headways of a written design, as text."""
    text = design.read_text()
    stops = [int(v) for v in re.findall(r"^# (\d+) stops, ", text, flags=re.M)]
    headways = [float(v) for v in re.findall(r"^headway_min = ([0-9.]+)", text, flags=re.M)]
    if not stops or not headways:
        return f"`{label}`: no routes found"
    s, h = pd.Series(stops), pd.Series(headways)
    return (
        f"`{label}`: {len(stops)} routes of {s.min()}-{s.max()} stops (median "
        f"{s.median():g}; {int((s <= 6).sum())} of at most 6), headways {h.min():g}-"
        f"{h.max():g} min (median {h.median():g})"
    )


def _save_small(src: Path, dst: Path, width: int = 900) -> None:
    """Copy a map at most ``width`` pixels wide with a 128-colour palette (small for git)."""
    from PIL import Image

    with Image.open(src) as im:
        im = im.convert("RGB")
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        im.quantize(colors=128).save(dst, optimize=True)


def _cpu_s(log: Path) -> str:
    """User + system CPU seconds from a design log (:func:`_run`'s line, or
    `/usr/bin/time -v`'s), as text."""
    if not log.is_file():
        return "CPU time not recorded"
    text = log.read_text()
    found = [float(v) for v in re.findall(r"CPU seconds \(user \+ system\): ([0-9.]+)", text)]
    found = found or [
        float(v) for v in re.findall(r"(?:User|System) time \(seconds\): ([0-9.]+)", text)
    ]
    return f"{sum(found):.0f} CPU s" if found else "CPU time not recorded"


def _objectives_section(path: Path) -> str:
    """The ``passenger`` and ``frequency`` objectives over seeds (bench_city_objectives.py)."""
    table = pd.read_csv(path)
    ok = table[table["network"] != "baseline"].dropna(subset=["composite_cost_min"])
    base = table[table["network"] == "baseline"].iloc[0]
    cols = (
        ("composite_cost_min", "generalised cost, min", "{:.3f}"),
        ("transit_avg_wait_min", "wait, min", "{:.2f}"),
        ("jobs_transit_30min", "jobs in 30 min", "{:,.0f}"),
        ("gini_transit_30min", "Gini (30 min)", "{:.3f}"),
        ("transit_veh_h", "veh·h/h", "{:.1f}"),
        ("transit_fleet", "fleet", "{:.0f}"),
    )
    rows = ["| design | " + " | ".join(c[1] for c in cols) + " | CPU s |"]
    rows.append("|---|" + "---:|" * (len(cols) + 1))
    rows.append("| baseline | " + " | ".join(f.format(base[c]) for c, _, f in cols) + " | |")
    for r in ok.itertuples():
        cells = [f.format(getattr(r, c)) for c, _, f in cols]
        rows.append(f"| {r.network} | " + " | ".join(cells) + f" | {r.cpu_s:.0f} |")
    med = ok.groupby("objective")["composite_cost_min"].median()
    wins = 0
    if {"passenger", "frequency"} <= set(ok["objective"]):
        paired = ok.pivot_table(
            index="seed", columns="objective", values="composite_cost_min"
        ).dropna()
        wins = int((paired["frequency"] < paired["passenger"]).sum())
    n_seeds = ok["seed"].nunique()
    failed = int(table["error"].notna().sum()) if "error" in table else 0
    note = f" ({failed} runs found no start route set)" if failed else ""
    return f"""
## Passenger vs frequency objective over seeds

`benchmarks/bench_city_objectives.py` (command in its docstring; routes and fleet as
there, each design refitted to the full model's fleet) over {n_seeds} seeds{note}; rows of
`{path.as_posix().split("benchmarks/")[-1]}`:

{chr(10).join(rows)}

Median generalised cost: `passenger` {med.get("passenger", float("nan")):.3f}, `frequency`
{med.get("frequency", float("nan")):.3f} min/trip; `frequency` is lower on {wins} of
{n_seeds} seeds.
"""


def _mid_minutes(table: pd.DataFrame) -> int:
    """The middle accessibility threshold among a table's ``jobs_transit_<m>min`` columns."""
    minutes = sorted(
        int(m.group(1))
        for m in (re.fullmatch(r"jobs_transit_(\d+)min", str(c)) for c in table.columns)
        if m
    )
    return minutes[len(minutes) // 2] if minutes else 30


def _bench_rows(table: pd.DataFrame, cols, extra=None) -> list[str]:
    """Markdown rows (header, rule, baseline, designs) of a bench_city_objectives table."""
    base = table[table["network"] == "baseline"].iloc[0]
    ok = table[table["network"] != "baseline"].dropna(subset=["composite_cost_min"])
    head = [c[1] for c in cols] + ([extra[0]] if extra else []) + ["CPU s"]
    rows = ["| design | " + " | ".join(head) + " |", "|---|" + "---:|" * len(head)]
    cells = [f.format(base[c]) for c, _, f in cols] + ([""] if extra else []) + [""]
    rows.append("| existing network | " + " | ".join(cells) + " |")
    for r in ok.itertuples():
        cells = [f.format(getattr(r, c)) for c, _, f in cols]
        cells += [extra[1](r)] if extra else []
        rows.append(f"| {r.network} | " + " | ".join(cells) + f" | {r.cpu_s:.0f} |")
    return rows


def _seeds_section(path: Path) -> str:
    """Designed vs existing network over seeds: every seed, the median and the best."""
    table = pd.read_csv(path)
    mid = _mid_minutes(table)
    base = table[table["network"] == "baseline"].iloc[0]
    ok = table[table["network"] != "baseline"].dropna(subset=["composite_cost_min"])
    cols = (
        ("composite_cost_min", "generalised cost, min", "{:.3f}"),
        ("share_transit", "transit share", "{:.1%}"),
        ("transit_avg_wait_min", "wait, min", "{:.2f}"),
        (f"jobs_transit_{mid}min", f"jobs in {mid} min", "{:,.0f}"),
        (f"gini_transit_{mid}min", f"Gini ({mid} min)", "{:.3f}"),
        ("car_delay_veh_h", "car delay, veh·h/h", "{:,.1f}"),
        ("transit_veh_h", "veh·h/h", "{:.1f}"),
        ("transit_veh_km", "veh·km/h", "{:,.0f}"),
        ("transit_fleet", "fleet", "{:.0f}"),
    )
    rows = _bench_rows(table, [c for c in cols if c[0] in table.columns])
    b = float(base["composite_cost_min"])
    objectives = list(ok["objective"].unique())
    failed = int(table["error"].notna().sum()) if "error" in table else 0
    note = f"; {failed} run(s) found no start route set" if failed else ""

    def count(group: pd.DataFrame, metric: str, lower: bool) -> int:
        moved = group[metric] < base[metric] if lower else group[metric] > base[metric]
        return int(moved.sum())

    summaries = []
    for objective in objectives:
        group = ok[ok["objective"] == objective]
        cost = group["composite_cost_min"]
        best = group.loc[cost.idxmin()]
        n = len(group)
        summaries.append(
            f"* `{objective}` ({n} seeds, {group['cpu_s'].sum():.0f} CPU s in all): generalised "
            f"cost per trip median {cost.median():.3f} min ({(cost.median() - b) / b:+.1%} "
            f"against the existing network's {b:.3f}), best {cost.min():.3f} "
            f"({(cost.min() - b) / b:+.1%}, {best['network']}), worst {cost.max():.3f} "
            f"({(cost.max() - b) / b:+.1%}). Lower than the existing network on "
            f"{count(group, 'composite_cost_min', True)} of {n} seeds; more jobs within {mid} "
            f"min on {count(group, f'jobs_transit_{mid}min', False)}; lower Gini on "
            f"{count(group, f'gini_transit_{mid}min', True)}; fewer vehicle-hours on "
            f"{count(group, 'transit_veh_h', True)} and fewer vehicle-km on "
            f"{count(group, 'transit_veh_km', True)}."
        )
    if {"passenger", "frequency"} <= set(objectives):
        paired = ok.pivot_table(
            index="seed", columns="objective", values="composite_cost_min"
        ).dropna()
        wins = int((paired["frequency"] < paired["passenger"]).sum())
        summaries.append(
            f"* `frequency` gives the lower generalised cost on {wins} of {len(paired)} seeds."
        )
    names = ", ".join(f"`{o}`" for o in objectives)
    return f"""
## Designed vs existing network over seeds

`benchmarks/bench_city_objectives.py` (command in its docstring: objective {names},
each design refitted to the full model's fleet) over seeds{note}; rows of
`{path.as_posix().split("benchmarks/")[-1]}` (CPU s: design, refit and evaluation, on a
shared machine):

{chr(10).join(rows)}

{chr(10).join(summaries)}
"""


def _operator_section(path: Path, currency: str) -> str:
    """Designs at several operating-cost weights against the existing network."""
    table = pd.read_csv(path)
    mid = _mid_minutes(table)
    base = table[table["network"] == "baseline"].iloc[0]
    ok = table[table["network"] != "baseline"].dropna(subset=["composite_cost_min"])
    cols = (
        ("composite_cost_min", "generalised cost, min", "{:.3f}"),
        ("transit_avg_wait_min", "wait, min", "{:.2f}"),
        (f"jobs_transit_{mid}min", f"jobs in {mid} min", "{:,.0f}"),
        (f"gini_transit_{mid}min", f"Gini ({mid} min)", "{:.3f}"),
        (f"palma_transit_{mid}min", f"Palma ({mid} min)", "{:.2f}"),
        ("transit_veh_h", "veh·h/h", "{:.1f}"),
        ("transit_veh_km", "veh·km/h", "{:,.0f}"),
        ("transit_fleet", "fleet (full model)", "{:.0f}"),
    )
    rows = _bench_rows(
        table,
        [c for c in cols if c[0] in table.columns],
        (f"{currency} per veh·h", lambda r: f"{r.operator_weight_per_veh_h:g}"),
    )
    b = base
    lines = []
    for weight, group in ok.groupby("operator_weight_per_veh_h"):
        med = group.median(numeric_only=True)

        def change(metric: str, med: pd.Series = med) -> str:
            return f"{(med[metric] - b[metric]) / b[metric]:+.1%}"

        seeds = f"median of {len(group)} seeds" if len(group) > 1 else "one seed"
        lines.append(
            f"* {weight:g} {currency}/veh·h ({seeds}): generalised cost "
            f"{change('composite_cost_min')}, vehicle-hours {change('transit_veh_h')}, "
            f"vehicle-km {change('transit_veh_km')}, jobs within {mid} min "
            f"{change(f'jobs_transit_{mid}min')}, Gini "
            f"{med[f'gini_transit_{mid}min'] - b[f'gini_transit_{mid}min']:+.3f} against the "
            f"existing network; the designs run {group['fleet_design'].min():.0f}-"
            f"{group['fleet_design'].max():.0f} of the {b['transit_fleet']:.0f} vehicles at "
            "free flow."
        )
    return f"""
## Operating cost in the design objective

`optimise design --operator-weight W` prices a vehicle-hour at W {currency} (divided by
the value of time per minute it becomes passenger minutes; docs/model.md section 5b), so
the designer uses vehicles of the fleet only while the waiting they save is worth more.
With the default `demand="total"` every trip of the candidate network counts as a rider
(as in the ATT), so the cost of a vehicle-hour is shared by all trips and only a high
price leaves vehicles unused; `--demand transit` shares it among the baseline's transit
riders. `benchmarks/bench_city_objectives.py` (command in its docstring, `--tag operator`; each
design refitted to the full model's fleet, the fleet a cap); rows of
`{path.as_posix().split("benchmarks/")[-1]}`:

{chr(10).join(rows)}

{chr(10).join(lines)}
"""


def _rank_section(path: Path, base_cost: float) -> str:
    """The rank agreement of the fast objective with the full model."""
    rank = pd.read_csv(path)
    designed = rank[rank["network"] != "baseline"]
    fast_rows = [
        ("att_min", "ATT (in-vehicle + 5 min per transfer)"),
        ("fast_cost_min", "ATT + mean wait × boardings (`fast_cost_min`)"),
        ("fast_cost_ww_min", "ATT + `wait_weight` × mean wait × boardings"),
        ("att_transit_min", "ATT on the baseline's transit trips"),
        ("fast_cost_transit_min", "ATT + mean wait × boardings, on the baseline's transit trips"),
        (
            "fast_cost_transit_ww_min",
            "ATT + `wait_weight` × mean wait × boardings, on the baseline's transit trips",
        ),
        (
            "model_cost_min",
            "`model_cost_min` (dwell, model's penalty and wait weight, combined headways)",
        ),
        ("model_cost_transit_min", "`model_cost_min` on the baseline's transit trips"),
    ]
    fast_rows = [(c, label) for c, label in fast_rows if c in designed.columns]
    rho = {
        (fast, full): spearmanr(designed[fast], designed[full])
        for fast, _ in fast_rows
        for full in ("composite_cost_min", "transit_avg_time_min")
    }
    fleets = designed["fleet_design"].astype(int)

    def cell(fast: str, full: str) -> str:
        r, p = rho[(fast, full)]
        return f"{r:+.2f} (p = {p:.2g})"

    table = [
        f"| {label} | {cell(c, 'composite_cost_min')} | {cell(c, 'transit_avg_time_min')} |"
        for c, label in fast_rows
    ]

    return f"""
## Does the fast objective rank networks as the full model does?

`benchmarks/bench_city_design.py` designed {len(designed)} networks (routes, stops per
route, evaluations and seeds varied; {fleets.min()}-{fleets.max()} vehicles at free flow
within one fleet budget), wrote each as a
scenario and evaluated it with the full model. Spearman rank correlations over the
{len(designed)} networks (`{path.as_posix().split("benchmarks/")[-1]}`):

| fast objective | vs generalised cost per trip (logsum) | vs transit door-to-door time |
|---|---:|---:|
{chr(10).join(table)}
{_rank_reading(designed, rho, fast_rows)}"""


def _rank_reading(designed: pd.DataFrame, rho: dict, fast_rows: list) -> str:
    """Which fast objective ranks best, and per objective of the designs."""
    if len(fast_rows) <= 2:
        return ""
    best = max(fast_rows, key=lambda row: rho[(row[0], "composite_cost_min")][0])
    per = []
    if "objective" in designed.columns and designed["objective"].nunique() > 1:
        for objective, group in designed.groupby("objective"):
            if len(group) >= 4:
                r_att = spearmanr(group["att_min"], group["composite_cost_min"])[0]
                r_cost = spearmanr(group["fast_cost_min"], group["composite_cost_min"])[0]
                text = (
                    f"`{objective}` designs alone (n = {len(group)}): ATT {r_att:+.2f}, "
                    f"`fast_cost_min` {r_cost:+.2f}"
                )
                if "model_cost_transit_min" in group:
                    r_model = spearmanr(
                        group["model_cost_transit_min"], group["composite_cost_min"]
                    )[0]
                    text += f", `model_cost_min` on transit trips {r_model:+.2f}"
                per.append(text)
    return f"""
Highest against the generalised cost: {best[1]}
({rho[(best[0], "composite_cost_min")][0]:+.2f}). {"; ".join(per)}{"." if per else ""}

Why the fast objectives and the full model disagree: ATT has no waiting, so it prefers
long routes that the fleet can run only rarely (the `frequency` designs have higher ATT
and lower generalised cost); adding the wait at the headways set under the fleet
(`fast_cost_min`) fixes the largest part. `model_cost_min` (docs/model.md section 5b)
adds what else the model charges a rider and is cheap (one route-set skim): the dwell
per intermediate stop, the model's transfer penalty and `wait_weight`, and the wait as
the model's frequency-based assignment waits, at the *combined* headway of every route
serving a stop pair; `fast_cost_min` charges each route's own headway, so it overrates
the waiting of designs whose routes overlap. Evaluated on the baseline's transit trips
(the candidate network built with `demand="transit"`) it is, to first order, the
model's logsum change (each trip weighted by its transit probability). Walking to and
from stops is the same for every design (every candidate stop is served and each zone
walks to its nearest stop), so leaving it out does not change the ranking. The rest is
what the fast objectives cannot see: congested running times, the model's choice among
stops and crowding, and mode choice beyond first order.
"""


if __name__ == "__main__":
    main()
