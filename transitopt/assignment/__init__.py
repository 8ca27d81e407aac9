"""Road traffic assignment to user equilibrium (a car class with fixed preloads).

>>> from transitopt.network.tntp import load_tntp
>>> from transitopt.assignment import assign
>>> case = load_tntp("SiouxFalls")                                  # doctest: +SKIP
>>> result = assign(case.network, case.demand, algorithm="algb", gap=1e-8)  # doctest: +SKIP
>>> result.summary(), result.link_table().head()                   # doctest: +SKIP

Algorithms (``algorithm=``): ``"msa"``, ``"fw"`` (Frank-Wolfe), ``"cfw"`` (conjugate FW),
``"bfw"`` (bi-conjugate FW, Mitradjieva & Lindberg 2013) and ``"algb"`` (Dial's 2006
bush-based Algorithm B). The link-based methods need little memory and are quick to
a gap of 1e-4; Algorithm B reaches 1e-10 and beyond and is the fastest at every gap on
the TNTP networks, at a memory cost of (origins × links) floats.

Costs. Link time is a volume-delay function of car flow plus preload (BPR with per-link
``alpha``/``beta``, or conical); the generalised cost adds ``toll_factor × toll +
distance_factor × length`` (seconds). TNTP networks use their README's weights by
default (Chicago-Sketch: 0.04 min/mile, without which its best-known flows are not an
equilibrium). Links without ``MODE_CAR``, with zero capacity (and positive free-flow
time) or listed in ``closed`` carry no cars; demand that cannot reach its destination
is reported in ``result.unassigned`` and the rest is assigned.

Vehicle classes (``classes=[VehicleClass(...), ...]``, :mod:`.classes`): each with its
own demand, PCE, cost weights and closed links, at equilibrium in PCU on shared links
(msa/fw/cfw/bfw); ``result.class_flow`` per class.

The integrated road + transit + mode-choice model (:mod:`.multimodal`) runs these
assignments inside its feedback loop: :class:`MultimodalModel` with
:class:`MultimodalParameters`, or :func:`run_multimodal` in one call.
"""

from ._problem import fixed_cost_s
from .boardings import BoardingsCalibration, BoardingsFit, calibrate_to_boardings
from .classes import VehicleClass
from .equilibrium import ALGORITHMS, UserEquilibrium, assign
from .multimodal import (
    MultimodalModel,
    MultimodalParameters,
    MultimodalResult,
    run_multimodal,
)
from .odme import MatrixEstimation, ODMEResult, estimate_matrix
from .result import AssignmentResult

__all__ = [
    "ALGORITHMS",
    "AssignmentResult",
    "BoardingsCalibration",
    "BoardingsFit",
    "MatrixEstimation",
    "MultimodalModel",
    "MultimodalParameters",
    "MultimodalResult",
    "ODMEResult",
    "UserEquilibrium",
    "VehicleClass",
    "assign",
    "calibrate_to_boardings",
    "estimate_matrix",
    "fixed_cost_s",
    "run_multimodal",
]
