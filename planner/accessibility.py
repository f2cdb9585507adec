"""Accessibility: the opportunities (jobs, schools, people) an origin reaches, weighted by travel time.

The decay functions are R5's (and so r5py's and r5r's), with the cutoff as their midpoint:

- ``step``: an opportunity counts when its travel time is below the cutoff (cumulative opportunities);
- ``linear``: from 1 to 0 over ``decay_width_min`` minutes centred on the cutoff;
- ``exponential``: halves every cutoff minutes (``exp(-ln 2 * t / cutoff)``);
- ``logistic``: the logistic CDF with the cutoff as median and ``decay_width_min`` as standard deviation.

Travel times are whole minutes at each percentile; unreachable opportunities weigh 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from maas.errors import ConfigError

__all__ = ["DECAYS", "AccessibilitySettings", "accessibility_of_rows", "decay_weights"]

DECAYS = ("step", "linear", "exponential", "logistic")


@dataclass(frozen=True, slots=True)
class AccessibilitySettings:
    """Cutoffs in minutes and the decay function; every problem is reported at once."""

    cutoffs_min: tuple[float, ...] = (15, 30, 45, 60)
    decay: str = "step"
    decay_width_min: float = 10.0  # linear: the width of the ramp; logistic: the standard deviation

    def __post_init__(self) -> None:
        problems = []
        if not self.cutoffs_min:
            problems.append("cutoffs must name at least one cutoff")
        problems += [f"cutoffs must be 1..240 minutes, got {c:g}" for c in self.cutoffs_min if not 1 <= c <= 240]
        if len(set(self.cutoffs_min)) != len(self.cutoffs_min):
            problems.append(f"cutoffs repeat a value: {list(self.cutoffs_min)}")
        if self.decay not in DECAYS:
            problems.append(f"decay must be one of {', '.join(DECAYS)}, got {self.decay!r}")
        if not (math.isfinite(self.decay_width_min) and self.decay_width_min > 0):
            problems.append(f"decay width must be a positive number of minutes, got {self.decay_width_min}")
        if problems:
            raise ConfigError("accessibility settings: " + "; ".join(problems))


def decay_weights(minutes: np.ndarray, cutoff: float, settings: AccessibilitySettings) -> np.ndarray:
    """The weight (0..1) of an opportunity ``minutes`` away for ``cutoff``; NaN (unreachable) weighs 0."""
    t = np.where(np.isnan(minutes), np.inf, minutes)
    if settings.decay == "step":
        weight = (t < cutoff).astype(np.float64)
    elif settings.decay == "linear":
        half = settings.decay_width_min / 2
        weight = np.clip((cutoff + half - t) / settings.decay_width_min, 0.0, 1.0)
    elif settings.decay == "exponential":
        weight = np.exp(-math.log(2) * t / cutoff)
    else:  # logistic: a standard deviation sd is a scale of sd * sqrt(3) / pi
        scale = settings.decay_width_min * math.sqrt(3) / math.pi
        with np.errstate(over="ignore"):
            weight = 1.0 / (1.0 + np.exp((t - cutoff) / scale))
    return np.where(np.isinf(t), 0.0, weight)


def accessibility_of_rows(minutes: np.ndarray, weights: np.ndarray, settings: AccessibilitySettings) -> np.ndarray:
    """Weighted opportunities per origin: ``minutes`` (origins, destinations, percentiles) and the
    opportunities at each destination give an array (origins, percentiles, cutoffs)."""
    out = np.zeros((minutes.shape[0], minutes.shape[2], len(settings.cutoffs_min)))
    for c, cutoff in enumerate(settings.cutoffs_min):
        for p in range(minutes.shape[2]):
            out[:, p, c] = decay_weights(minutes[:, :, p].astype(np.float64), cutoff, settings) @ weights
    return out
