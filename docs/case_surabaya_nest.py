"""Sensitivity of the Surabaya motorcycle ban to the nest scale (docs/case_surabaya.md).

For each scale of the private-motorised nest (car, motorcycle, ojek), the baseline is
recalibrated to the same mode shares (``scenarios/surabaya_calibration.toml`` with that
scale), and the baseline and the ban (``scenarios/surabaya_motorcycle_ban.toml``) are
evaluated with the fitted constants. Copies of the files go to a temporary folder; the
scenarios in ``scenarios/`` are not changed.

    PYTHONPATH=$PWD python docs/case_surabaya_nest.py                 # scales 0.4 0.6 0.8
    PYTHONPATH=$PWD python docs/case_surabaya_nest.py --scales 0.4 --json /tmp/nest.json
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import warnings
from pathlib import Path

from transitopt._errors import ConvergenceWarning
from transitopt.scenario import evaluate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
NEST = 'nests = [{{ name = "private_motorised", modes = ["car", "motorcycle", "ojek"], scale = {scale} }}]'
#: corridor of the ban (its ways), for the flows on it
CORRIDOR = "70364909|70364950|70364956"


def _with_scale(text: str, scale: float) -> str:
    """A scenario text with the nest scale set (replacing a ``nests`` line or adding one
    under ``[model.mode_choice]``)."""
    line = NEST.format(scale=scale)
    if re.search(r"^nests\s*=", text, flags=re.M):
        return re.sub(r"^nests\s*=.*$", line, text, flags=re.M)
    return text.replace("[model.mode_choice]\n", f"[model.mode_choice]\n{line}\n", 1)


def _with_constants(text: str, constants: dict[str, float]) -> str:
    for name in ("asc_motorcycle", "asc_ojek", "asc_walk"):
        text = re.sub(rf"^{name}\s*=.*$", f"{name} = {constants[name]:.4f}", text, flags=re.M)
    return text


def run_scale(scale: float, folder: Path) -> dict[str, float]:
    """Calibrate the baseline with nest ``scale``, evaluate it and the ban; key figures."""
    calibration = folder / "surabaya_calibration.toml"
    calibration.write_text(_with_scale((SCENARIOS / calibration.name).read_text(), scale))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = evaluate(calibration).summary["calibration"]
        base_text = _with_scale((SCENARIOS / "surabaya_base.toml").read_text(), scale)
        (folder / "surabaya_base.toml").write_text(_with_constants(base_text, fitted["constants"]))
        ban_text = (SCENARIOS / "surabaya_motorcycle_ban.toml").read_text()
        (folder / "surabaya_motorcycle_ban.toml").write_text(ban_text)
        base = evaluate(folder / "surabaya_base.toml")
        ban = evaluate(folder / "surabaya_motorcycle_ban.toml")
    trips = {r.name: r.table("mode_shares").set_index("mode")["trips"] for r in (base, ban)}
    moved = trips[ban.name] - trips[base.name]
    links = ban.table("links")
    corridor = links["way"].astype(str).str.contains(CORRIDOR).to_numpy()
    lost = -(moved["motorcycle"] + moved["ojek"])
    return {
        "scale": scale,
        "calibration_max_error": fitted["max_error"],
        "base_share_motorcycle": base["share_motorcycle"],
        "base_share_car": base["share_car"],
        "ban_share_motorcycle": ban["share_motorcycle"],
        "ban_share_car": ban["share_car"],
        "ban_share_walk": ban["share_walk"],
        "motorcycle_ojek_trips_lost": lost,
        "to_car_share_of_lost": moved["car"] / lost if lost > 0 else float("nan"),
        "car_veh_km_change": ban["car_veh_km"] / base["car_veh_km"] - 1.0,
        "pcu_km_change": ban["pcu_km"] / base["pcu_km"] - 1.0,
        "car_delay_change": ban["car_delay_veh_h"] / base["car_delay_veh_h"] - 1.0,
        "lane_km_over_capacity_base": base["lane_km_voc_over_1_0"],
        "lane_km_over_capacity_ban": ban["lane_km_voc_over_1_0"],
        "corridor_pcu_base": float(base.table("links")["pcu"][corridor].sum()),
        "corridor_pcu_ban": float(links["pcu"][corridor].sum()),
        "composite_cost_change_min": ban["composite_cost_min"] - base["composite_cost_min"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[0.4, 0.6, 0.8])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    for scale in args.scales:
        with tempfile.TemporaryDirectory() as tmp:
            rows.append(run_scale(scale, Path(tmp)))
        print(json.dumps(rows[-1]))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
