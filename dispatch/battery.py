"""Electric shuttles: the battery as seconds of driving, and charging at the depot.

The service's plans and feasibility work in seconds, so a battery is kept as the seconds of driving it
has left above its reserve, at the shuttle's speed cap. The network's times are never shorter than
distance over that cap (slower streets take longer), so counting driving time spends the battery at
least as fast as the distance would: a conservative model that can strand nobody.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from dispatch.model import DispatchError
from maas.area import FleetDefaults


@dataclass(frozen=True, slots=True)
class BatteryModel:
    """A fleet's batteries in seconds of driving at ``speed_kmh``."""

    usable_s: float  # a full battery above the reserve
    charge_rate: float  # seconds of driving gained per second at the charger
    charge_below_s: float  # an idle shuttle with less than this left goes to charge
    kwh_per_km: float
    speed_kmh: float

    def __post_init__(self) -> None:
        if not (self.usable_s > 0 and self.charge_rate > 0 and 0 <= self.charge_below_s < self.usable_s):
            raise DispatchError(
                f"battery model: usable_s {self.usable_s}, charge_rate {self.charge_rate} and "
                f"charge_below_s {self.charge_below_s} must be positive, and the threshold below a full battery"
            )

    @classmethod
    def for_fleet(cls, fleet: FleetDefaults) -> BatteryModel | None:
        """The area's fleet batteries; None when the area leaves them out (``battery_kwh = 0``)."""
        if fleet.battery_kwh <= 0:
            return None
        per_second_km = fleet.speed_kmh / 3600
        usable_km = fleet.battery_kwh * (1 - fleet.battery_reserve) / fleet.kwh_per_km
        km_per_charging_second = fleet.charge_kw / fleet.kwh_per_km / 3600
        below_km = fleet.battery_kwh * max(fleet.charge_below - fleet.battery_reserve, 0.0) / fleet.kwh_per_km
        return cls(
            usable_s=usable_km / per_second_km,
            charge_rate=km_per_charging_second / per_second_km,
            charge_below_s=below_km / per_second_km,
            kwh_per_km=fleet.kwh_per_km,
            speed_kmh=fleet.speed_kmh,
        )

    def charging_s(self, battery_s: float) -> float:
        """Seconds at the charger from ``battery_s`` left to full."""
        return max(self.usable_s - battery_s, 0.0) / self.charge_rate

    def needs_charge(self, battery_s: float) -> bool:
        """Whether an idle shuttle with ``battery_s`` left should go and charge."""
        return math.isfinite(battery_s) and battery_s < self.charge_below_s

    def kwh(self, driving_s: float) -> float:
        """Energy for ``driving_s`` seconds of driving at the speed cap."""
        return driving_s * self.speed_kmh / 3600 * self.kwh_per_km
