"""Scenarios: files (baseline + edits), the integrated evaluation, results and comparison.

>>> from transitopt.scenario import evaluate_file, compare
>>> base = evaluate_file("scenarios/helsinki_base.toml")  # doctest: +SKIP
>>> alt = evaluate_file("scenarios/helsinki_bus_lane.toml")  # doctest: +SKIP
>>> compare(base, alt)  # doctest: +SKIP
"""

from .compare import compare
from .edits import Prepared, apply_edits
from .evaluate import clear_results, evaluate, evaluate_file, validate_scenario
from .files import EditRecord, Scenario, load_scenario
from .inputs import load_base
from .result import TABLES, ScenarioResult, read_result, write_result
from .schema import EDIT_TYPES, AlternativeFile, BaselineFile, ModelSpec, ScenarioError


def clear_cache() -> None:
    """Forget everything memoised in this process: loaded inputs and evaluated results."""
    from .inputs import clear_cache as _clear_inputs

    _clear_inputs()
    clear_results()


__all__ = [
    "EDIT_TYPES",
    "TABLES",
    "AlternativeFile",
    "BaselineFile",
    "EditRecord",
    "ModelSpec",
    "Prepared",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "apply_edits",
    "clear_cache",
    "clear_results",
    "compare",
    "evaluate",
    "evaluate_file",
    "load_base",
    "load_scenario",
    "read_result",
    "validate_scenario",
    "write_result",
]
