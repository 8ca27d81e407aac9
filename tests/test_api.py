"""The public API: ``import transitopt as to`` is cheap, every name resolves, the README runs."""

from __future__ import annotations

import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import transitopt as to
from transitopt.settings import data_dir

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_name_resolves_and_is_listed():
    for name in to.__all__:
        assert getattr(to, name) is not None, name
    assert set(to._MODULE_OF) <= set(to.__all__)
    assert set(to.__all__) <= set(dir(to))


def test_no_public_name_hides_a_sub_module():
    # a function named like a sub-module would be replaced by the module once imported
    modules = {module.name for module in pkgutil.iter_modules(to.__path__)}
    assert not modules & set(to.__all__)
    assert to.paths.skim is to.skim  # sub-modules load on attribute access too


def test_import_is_cheap():
    code = "import sys, transitopt; print(sorted({'pandas', 'numba', 'numpy'} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "[]"


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        to.no_such_thing  # noqa: B018


def test_example_scenarios_list_the_helsinki_files_baseline_first():
    files = to.example_scenarios()
    assert files[0].name == "helsinki_base.toml"
    assert len(files) >= 2 and all(f.name.startswith("helsinki_") for f in files)


def readme_python_block() -> str:
    """The ```python block of the README's "Python API" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API") :]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_readme_api_example_needs_at_most_two_imports():
    imports = [
        line for line in readme_python_block().splitlines() if re.match(r"(import|from) ", line)
    ]
    assert imports[0] == "import transitopt as to"
    assert len(imports) <= 2


@pytest.mark.slow
def test_readme_api_example_runs_as_written(shared_data, tmp_path, monkeypatch):
    # run from the repository root as the README says, writing its outputs elsewhere
    code = readme_python_block()
    code = code.replace("../shared/data", str(data_dir())).replace('"out/', f'"{tmp_path}/')
    monkeypatch.chdir(ROOT)
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["best"].evaluation.att > 0
    assert (tmp_path / "python-api" / "report.html").is_file()
