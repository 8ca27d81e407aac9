"""Figures and the comparison with the truth for the Helsinki case with traffic counts and
boardings (docs/calibration.md), from the folder ``transitopt calibrate`` wrote:

    transitopt calibrate docs/calibration/helsinki_joint.toml -o calibration_joint/
    PYTHONPATH=$PWD python docs/calibration/plot_joint_case.py calibration_joint/

Writes docs/img/calibration_helsinki_joint_scatter.png (modelled against counted, before
and after, traffic counts and boardings) and docs/img/calibration_helsinki_joint_modes.png
(trips by mode: the baseline at its fitted constant, calibrated, and the truth that made
the counts), and prints each mode's OD RMSE against the truth. The calibrated model is
rebuilt from ``od_adjustment.csv`` and the constants in ``calibration.json`` alone, as an
alternative of this baseline rebuilds it.
"""

import json
import sys
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from transitopt.scenario.calibration import adjusted_demand

sys.path.insert(0, str(Path(__file__).parent))
from make_joint_case import baseline_model, truth_run  # noqa: E402

folder = Path(sys.argv[1])
img = Path(__file__).parents[1] / "img"
fitted = json.loads((folder / "calibration.json").read_text(encoding="utf-8"))
counts = pd.read_csv(folder / "counts_fit.csv")
boardings = pd.read_csv(folder / "boardings_fit.csv")

fig, axes = plt.subplots(1, 2, figsize=(10, 4.8))
for ax, table, what, unit in (
    (axes[0], counts, "traffic counts", "veh/h"),
    (axes[1], boardings, "boardings per line", "boardings/h"),
):
    ax.scatter(table["count"], table["modelled_before"], s=14, color="#999999", label="before")
    ax.scatter(table["count"], table["modelled"], s=14, color="#1f77b4", label="calibrated")
    top = 1.05 * float(table[["count", "modelled_before", "modelled"]].to_numpy().max())
    ax.plot([0, top], [0, top], color="black", lw=0.8, label="y = x")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel(f"counted ({unit})")
    ax.set_ylabel(f"modelled ({unit})")
    ax.set_title(
        f"{len(table)} {what}: GEH<5 {100 * (table['geh_before'] < 5).mean():.0f}% -> "
        f"{100 * (table['geh'] < 5).mean():.0f}%",
        fontsize=10,
    )
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
fig.tight_layout()
fig.savefig(img / "calibration_helsinki_joint_scatter.png", dpi=110)
plt.close(fig)

model = baseline_model()
constants = fitted["constants"]
adjustment = pd.read_csv(folder / "od_adjustment.csv")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    before = model.with_constants(**constants).run()
    after = adjusted_demand(model, adjustment).with_constants(**constants).run()
truth = truth_run(model)
modes = ("car", "transit", "walk")
fig, ax = plt.subplots(figsize=(6, 4))
width = 0.27
for k, (name, run, colour) in enumerate(
    (("baseline at its constant", before, "#999999"), ("calibrated", after, "#1f77b4"),
     ("truth (made the counts)", truth, "#2ca02c"))
):  # fmt: skip
    values = [float(np.asarray(run.demand[m]).sum()) for m in modes]
    ax.bar(np.arange(3) + (k - 1) * width, values, width, label=name, color=colour)
ax.set_xticks(np.arange(3), modes)
ax.set_ylabel("trips/h")
ax.set_title("trips by mode (walk is not counted: it scales with the counted modes)", fontsize=10)
ax.legend()
ax.grid(alpha=0.3, axis="y")
fig.tight_layout()
fig.savefig(img / "calibration_helsinki_joint_modes.png", dpi=110)
plt.close(fig)

print(
    "mode | trips: before / calibrated / truth | OD RMSE vs truth (cells > 0): before -> calibrated"
)
for m in modes:
    t = np.asarray(truth.demand[m])
    cells = t > 0
    b, a = np.asarray(before.demand[m]), np.asarray(after.demand[m])
    rmse_b = np.sqrt(np.mean((b[cells] - t[cells]) ** 2))
    rmse_a = np.sqrt(np.mean((a[cells] - t[cells]) ** 2))
    print(f"{m} | {b.sum():,.0f} / {a.sum():,.0f} / {t.sum():,.0f} | {rmse_b:.2f} -> {rmse_a:.2f}")
