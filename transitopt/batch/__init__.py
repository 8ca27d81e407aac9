"""Batch evaluation: many cities × city-agnostic policies, locally or on a Dask cluster.

>>> from transitopt.batch import run_batch
>>> summary = run_batch("scenarios/batch_example.toml", "out/batch", workers=2)  # doctest: +SKIP
>>> summary.table  # doctest: +SKIP

See :mod:`transitopt.batch.spec` for the batch file and :mod:`transitopt.batch.run` for
the output folder, resuming and the manifest.
"""

from .policies import NotApplicable, policy_edits, ways_over_voc
from .run import BatchSummary, run_batch
from .spec import POLICIES, Batch, BatchError, load_batch
from .summary import policy_effects, summary_table

__all__ = [
    "POLICIES",
    "Batch",
    "BatchError",
    "BatchSummary",
    "NotApplicable",
    "load_batch",
    "policy_edits",
    "policy_effects",
    "run_batch",
    "summary_table",
    "ways_over_voc",
]
