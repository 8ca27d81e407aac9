"""Mode choice of the multimodal model: the modes, their availability, logit and nested logit.

Utilities are linear in generalised minutes, ``V_m = asc_m + beta_per_min · gc_m``. With
no nests this is the multinomial logit. A :class:`Nest` groups modes whose unobserved
utilities are correlated (e.g. car, motorcycle and ojek: private motorised); with nest
scale ``λ`` (``0 < λ ≤ 1``, 1 is plain logit; Ortúzar & Willumsen 2011, section 8.3)

    I_n   = ln Σ_{j∈n} exp(V_j / λ_n)                    (the nest's inclusive value)
    P(n)  = exp(λ_n I_n) / Σ_k exp(λ_k I_k)
    P(m)  = P(n) · exp(V_m / λ_n) / exp(I_n)             (m in nest n)
    logsum = ln Σ_k exp(λ_k I_k)                          (utils)

modes outside every nest being nests of their own with ``λ = 1``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

#: every mode the model knows, in the order of its tables
MODES = ("car", "motorcycle", "ojek", "transit", "walk")
#: modes every result holds (with zero trips when not chosen): the model before motorcycles
BASE_MODES = ("car", "transit", "walk")
#: modes that ride motorcycles on the road network (ojek: one passenger per motorcycle)
MOTORCYCLE_MODES = ("motorcycle", "ojek")


@dataclass(frozen=True)
class Nest:
    """A nest of modes with scale ``scale`` (``0 < scale ≤ 1``; see the module docstring)."""

    name: str
    modes: tuple[str, ...]
    scale: float

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(
                f"nest {self.name!r}: unknown modes {unknown}; expected some of {MODES}"
            )
        if len(self.modes) < 2 or len(set(self.modes)) != len(self.modes):
            raise ValueError(
                f"nest {self.name!r}: give at least two different modes, got {self.modes}"
            )
        if not 0.0 < self.scale <= 1.0:
            raise ValueError(
                f"nest {self.name!r}: scale must be in (0, 1] (random-utility consistency), "
                f"got {self.scale!r}"
            )


@dataclass(frozen=True)
class ModeChoiceParameters:
    """Multinomial (or nested) logit on generalised minutes.

    Attributes
    ----------
    beta_per_min : float
        Utility per generalised minute (negative).
    asc_car, asc_motorcycle, asc_ojek, asc_transit, asc_walk : float
        Alternative-specific constants (utils).
    max_walk_km : float
        Walking is unavailable beyond this walk distance (km).
    modes : tuple of str
        The choice set (a subset of :data:`MODES`).
    nests : tuple of Nest
        Nests of modes (each mode in at most one); empty: multinomial logit.
    """

    beta_per_min: float = -0.06
    asc_car: float = 0.0
    asc_transit: float = 0.0
    asc_walk: float = 0.0
    max_walk_km: float = 5.0
    modes: tuple[str, ...] = BASE_MODES
    asc_motorcycle: float = 0.0
    asc_ojek: float = 0.0
    nests: tuple[Nest, ...] = ()

    def __post_init__(self) -> None:
        unknown = [m for m in self.modes if m not in MODES]
        if unknown:
            raise ValueError(
                f"mode_choice.modes: unknown modes {unknown}; expected some of {MODES}"
            )
        seen: dict[str, str] = {}
        for nest in self.nests:
            for m in nest.modes:
                if m in seen:
                    raise ValueError(
                        f"mode {m!r} is in nests {seen[m]!r} and {nest.name!r}; a mode belongs "
                        "to at most one nest"
                    )
                seen[m] = nest.name

    def asc(self, mode: str) -> float:
        """The constant of ``mode`` (utils)."""
        return float(getattr(self, f"asc_{mode}"))


def model_modes(mode_choice: ModeChoiceParameters) -> tuple[str, ...]:
    """The modes a model's results hold: :data:`BASE_MODES` and the chosen new ones, in
    :data:`MODES` order."""
    return tuple(m for m in MODES if m in BASE_MODES or m in mode_choice.modes)


def mode_availability(
    skims: Mapping[str, np.ndarray], walk_m: np.ndarray, mode_choice: ModeChoiceParameters
) -> dict[str, np.ndarray]:
    """Where each mode is in the choice set of a zone pair (bool ``(z, z)`` per mode).

    A mode is available where its generalised cost ``<mode>_gc_min`` is finite and it
    is one of ``mode_choice.modes``; walking also needs ``walk_m`` (m) within
    ``mode_choice.max_walk_km``. Keys: :func:`model_modes`.
    """
    out = {}
    shape = np.shape(walk_m)
    for mode in model_modes(mode_choice):
        gc = skims.get(f"{mode}_gc_min")
        if gc is None or mode not in mode_choice.modes:
            out[mode] = np.zeros(shape, dtype=bool)
            continue
        available = np.isfinite(gc)
        if mode == "walk":
            available &= walk_m <= 1000.0 * mode_choice.max_walk_km
        out[mode] = available
    return out


def logit_choice(
    skims: Mapping[str, np.ndarray],
    walk_m: np.ndarray,
    mode_choice: ModeChoiceParameters,
    *,
    offsets: Mapping[str, np.ndarray] | None = None,
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Choice probabilities by mode and the logsum (utils; ``-inf`` where no mode is available).

    ``skims`` holds ``<mode>_gc_min`` (generalised minutes, ``inf`` unavailable); walking
    is unavailable where ``walk_m`` exceeds ``mode_choice.max_walk_km``. Nested logit
    when ``mode_choice.nests`` is not empty (module docstring), else multinomial logit.
    ``offsets``: utils added to a mode's utility per zone pair ((z, z) by mode; the
    zone-pair constants of a calibration to counts), none by default.
    """
    mc = mode_choice
    modes = model_modes(mc)
    availability = mode_availability(skims, walk_m, mc)
    utilities = {}
    for mode in modes:
        available = availability[mode]
        gc = skims.get(f"{mode}_gc_min")
        if gc is None:
            utilities[mode] = np.full(np.shape(walk_m), -np.inf)
            continue
        with np.errstate(invalid="ignore"):
            utilities[mode] = np.where(
                available, mc.asc(mode) + mc.beta_per_min * np.where(available, gc, 0.0), -np.inf
            )
        if offsets is not None and mode in offsets:
            utilities[mode] = np.where(available, utilities[mode] + offsets[mode], -np.inf)
    groups = [(nest.modes, nest.scale) for nest in mc.nests if set(nest.modes) & set(modes)]
    nested = {m for g, _ in groups for m in g}
    groups += [((m,), 1.0) for m in modes if m not in nested]
    # each group's inclusive value I_n (utils), computed stably against its largest utility
    inclusive = []
    within = {}
    for group, scale in groups:
        members = [m for m in group if m in utilities]
        stacked = np.stack([utilities[m] / scale for m in members])
        top = stacked.max(axis=0)
        safe = np.where(np.isfinite(top), top, 0.0)
        expo = np.exp(stacked - safe)
        denom = expo.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            value = np.where(denom > 0, safe + np.log(np.where(denom > 0, denom, 1.0)), -np.inf)
            for k, m in enumerate(members):
                within[m] = np.where(denom > 0, expo[k] / np.where(denom > 0, denom, 1.0), 0.0)
        inclusive.append(scale * value)
    stacked = np.stack(inclusive)
    top = stacked.max(axis=0)
    safe = np.where(np.isfinite(top), top, 0.0)
    expo = np.exp(stacked - safe)
    denom = expo.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        upper = np.where(denom > 0, expo / np.where(denom > 0, denom, 1.0), 0.0)
        logsum = np.where(denom > 0, safe + np.log(np.where(denom > 0, denom, 1.0)), -np.inf)
    probs = {}
    for k, (group, _) in enumerate(groups):
        for m in group:
            if m in within:
                probs[m] = upper[k] * within[m]
    return {m: probs[m] for m in modes}, logsum
