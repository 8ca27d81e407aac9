"""CO2 from vehicle-km: ``kg CO2 = vehicle-km × fuel use per km × CO2 per litre``.

Tank-to-wheel (exhaust) CO2 only, proportional to vehicle-km: no speed or congestion
dependence, no upstream fuel or electricity emissions unless a grid factor is set.

CO2 per litre follows the IPCC 2006 Guidelines for National Greenhouse Gas
Inventories, Vol. 2 (Energy): default emission factors (Ch. 3, Table 3.2.1) of
69,300 kg CO2/TJ for motor gasoline and 74,100 kg CO2/TJ for diesel (gas/diesel oil),
net calorific values (Ch. 1, Table 1.2) of 44.3 and 43.0 TJ/Gg, and typical fuel
densities of 0.745 kg/L (gasoline, EN 228 range 0.720–0.775) and 0.84 kg/L (diesel,
EN 590 range 0.820–0.845):

* gasoline: 69,300 × 44.3e-6 × 0.745 = 2.287 kg CO2/L
* diesel:   74,100 × 43.0e-6 × 0.84  = 2.676 kg CO2/L

Fuel use per vehicle-km is a planning assumption (replace with local fleet data; the
values live in ``transitopt/data/defaults.toml``, section ``emissions``): an
average petrol car in urban driving 7.5 L/100 km (0.17 kg/km, the order of the UK
government GHG conversion factor for an average car), a 12 m diesel city bus 40 L/100
km, an 18 m articulated BRT bus 55 L/100 km, a petrol minibus (Indonesian angkot) 12
L/100 km, a motorcycle (110-125 cc automatic scooter, most of the Indonesian fleet,
also carrying ojek riders) 2.5 L/100 km. Trams and trains are electric: their factor is ``kWh/km × grid kg/kWh``, 0
by default (no exhaust); set ``grid_kg_per_kwh`` to count power-plant emissions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..defaults import section

_DEFAULT = section("emissions")

#: kg CO2 per litre, derived in the module docstring
GASOLINE_KG_PER_L = 69_300.0 * 44.3e-6 * 0.745
DIESEL_KG_PER_L = 74_100.0 * 43.0e-6 * 0.84


@dataclass(frozen=True)
class EmissionFactors:
    """kg CO2 per vehicle-km by vehicle type (see the module docstring for the sources).

    Attributes
    ----------
    car_l_per_100km, bus_l_per_100km, brt_l_per_100km, minibus_l_per_100km : float
        Fuel use (L/100 km): petrol car, diesel bus, diesel articulated BRT bus, petrol minibus.
    motorcycle_l_per_100km : float
        Fuel use (L/100 km) of a petrol motorcycle (private and ojek).
    tram_kwh_per_km, rail_kwh_per_km : float
        Traction energy (kWh per vehicle- or train-km).
    grid_kg_per_kwh : float
        CO2 of the electricity (kg/kWh); 0 counts exhaust only.
    """

    car_l_per_100km: float = _DEFAULT["car_l_per_100km"]
    bus_l_per_100km: float = _DEFAULT["bus_l_per_100km"]
    brt_l_per_100km: float = _DEFAULT["brt_l_per_100km"]
    minibus_l_per_100km: float = _DEFAULT["minibus_l_per_100km"]
    tram_kwh_per_km: float = _DEFAULT["tram_kwh_per_km"]
    rail_kwh_per_km: float = _DEFAULT["rail_kwh_per_km"]
    grid_kg_per_kwh: float = _DEFAULT["grid_kg_per_kwh"]
    motorcycle_l_per_100km: float = _DEFAULT["motorcycle_l_per_100km"]
    extra: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in _DEFAULT:
            if not getattr(self, name) >= 0:
                raise ValueError(
                    f"EmissionFactors.{name} must be >= 0, got {getattr(self, name)!r}"
                )

    def kg_per_km(self, vehicle: str) -> float:
        """kg CO2 per vehicle-km of ``"car"``, ``"motorcycle"``, ``"bus"``, ``"brt"``,
        ``"minibus"``, ``"tram"`` or ``"rail"``."""
        table = {
            "car": self.car_l_per_100km / 100.0 * GASOLINE_KG_PER_L,
            "motorcycle": self.motorcycle_l_per_100km / 100.0 * GASOLINE_KG_PER_L,
            "bus": self.bus_l_per_100km / 100.0 * DIESEL_KG_PER_L,
            "brt": self.brt_l_per_100km / 100.0 * DIESEL_KG_PER_L,
            "minibus": self.minibus_l_per_100km / 100.0 * GASOLINE_KG_PER_L,
            "tram": self.tram_kwh_per_km * self.grid_kg_per_kwh,
            "rail": self.rail_kwh_per_km * self.grid_kg_per_kwh,
            **self.extra,
        }
        try:
            return float(table[vehicle])
        except KeyError:
            raise KeyError(
                f"no emission factor for vehicle type {vehicle!r}; known: {sorted(table)}"
            ) from None


#: the defaults
EMISSION_FACTORS = EmissionFactors()


def co2_kg_per_hour(
    car_veh_km: float,
    transit_veh_km: Mapping[str, float],
    *,
    factors: EmissionFactors = EMISSION_FACTORS,
) -> dict[str, float]:
    """CO2 (kg per hour of the period) of car and transit vehicle-km.

    Parameters
    ----------
    car_veh_km
        Car vehicle-km per hour.
    transit_veh_km
        Transit vehicle-km per hour by mode (``{"bus": ..., "tram": ...}``).

    Returns
    -------
    dict
        ``car_kg``, ``transit_kg``, ``total_kg`` and ``transit_kg_<mode>`` per mode.
    """
    out = {"car_kg": float(car_veh_km) * factors.kg_per_km("car")}
    transit = 0.0
    for mode, km in transit_veh_km.items():
        kg = float(km) * factors.kg_per_km(mode)
        out[f"transit_kg_{mode}"] = kg
        transit += kg
    out["transit_kg"] = transit
    out["total_kg"] = out["car_kg"] + transit
    return out
