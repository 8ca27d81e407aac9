"""The example scenario files: ``scenarios/`` of a source checkout, ``transitopt/examples/`` once installed.

The files live once, in the repository's ``scenarios/`` folder; ``pyproject.toml`` ships
that folder in the wheel as the package data ``transitopt.examples``.
"""

from __future__ import annotations

from pathlib import Path

from .._errors import InputFileError

#: the Helsinki baseline that ``transitopt demo`` compares the other Helsinki examples with
DEMO_BASELINE = "helsinki_base.toml"


def example_folder() -> Path:
    """The folder of the example scenario files (installed package data or the checkout's)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "examples"
    return installed if installed.is_dir() else package.parent / "scenarios"


def example_scenarios() -> list[Path]:
    """The Helsinki example scenarios (baseline first), on the embedded central-Helsinki extract."""
    folder = example_folder()
    base = folder / DEMO_BASELINE
    if not base.is_file():
        raise InputFileError(f"{folder}: example scenarios not found")
    return [base, *sorted(p for p in folder.glob("helsinki_*.toml") if p != base)]
