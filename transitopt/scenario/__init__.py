"""Scenarios: files (baseline + edits), the integrated evaluation, results and comparison.

>>> import transitopt as to
>>> base = to.evaluate_file("scenarios/helsinki_base.toml")  # doctest: +SKIP
>>> alt = to.evaluate_file("scenarios/helsinki_bus_lane.toml")  # doctest: +SKIP
>>> to.compare(base, alt)  # doctest: +SKIP
>>> print(to.explain(base, alt).narrative)  # why they differ  # doctest: +SKIP
"""

from .compare import compare
from .evaluate import clear_results, evaluate, evaluate_file, validate_scenario
from .examples import example_scenarios
from .explain import Explanation, explain
from .files import EditRecord, Scenario, load_scenario
from .result import TABLES, ScenarioResult, read_result, write_result
from .schema import EDIT_TYPES, AlternativeFile, BaselineFile, ModelSpec, ScenarioError


def clear_cache() -> None:
    """Forget everything memoised in this process: loaded inputs, evaluated results and
    baseline calibrations."""
    from .calibration import clear_calibrations
    from .inputs import clear_cache as _clear_inputs

    _clear_inputs()
    clear_results()
    clear_calibrations()


__all__ = [
    "EDIT_TYPES",
    "TABLES",
    "AlternativeFile",
    "BaselineFile",
    "EditRecord",
    "Explanation",
    "ModelSpec",
    "Scenario",
    "ScenarioError",
    "ScenarioResult",
    "clear_cache",
    "clear_results",
    "compare",
    "evaluate",
    "evaluate_file",
    "example_scenarios",
    "explain",
    "load_scenario",
    "read_result",
    "validate_scenario",
    "write_result",
]
