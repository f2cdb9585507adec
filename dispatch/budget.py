"""What a search may spend: seconds (fast, machine-dependent) or iterations (the same answer anywhere).

A stage of the solver receives a ``Budget`` and measures what it spends with a ``Meter``. What one
iteration is depends on the stage (an OR-Tools solution, a batch of ruin-and-recreate steps, a batch
of ejection-pool insertions); each stage's docstring says.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from dispatch.model import DispatchError


@dataclass(frozen=True, slots=True)
class Budget:
    """Seconds or iterations, exactly one of them, positive."""

    seconds: float | None = None
    iterations: int | None = None

    def __post_init__(self) -> None:
        if (self.seconds is None) == (self.iterations is None):
            raise DispatchError("a budget is either seconds or iterations, exactly one of them")
        if self.seconds is not None and not (self.seconds >= 0 and math.isfinite(self.seconds)):
            raise DispatchError(f"a budget's seconds must be finite and >= 0, got {self.seconds}")
        if self.iterations is not None and self.iterations < 0:
            raise DispatchError(f"a budget's iterations must be >= 0, got {self.iterations}")

    def share(self, fraction: float) -> Budget:
        """``fraction`` of this budget (iterations rounded, at least one)."""
        if self.iterations is not None:
            return Budget(iterations=max(1, round(self.iterations * fraction)))
        return Budget(seconds=(self.seconds or 0.0) * fraction)

    def start(self) -> Meter:
        """A meter that starts counting now."""
        return Meter(self)


class Meter:
    """What a stage has spent of its budget: seconds since it started, or iterations it charged."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.started = time.perf_counter()
        self.iterations_used = 0

    def charge(self, spent: Budget | int) -> None:
        """Count iterations spent (a number, or a sub-budget given out); time counts itself."""
        if isinstance(spent, Budget):
            self.iterations_used += spent.iterations or 0
        else:
            self.iterations_used += spent

    def seconds_used(self) -> float:
        """Seconds since the meter started."""
        return time.perf_counter() - self.started

    def fraction_used(self) -> float:
        """Share of the budget spent, 0..1."""
        if self.budget.iterations is not None:
            return min(1.0, self.iterations_used / max(self.budget.iterations, 1))
        return min(1.0, self.seconds_used() / max(self.budget.seconds or 0.0, 1e-9))

    def exhausted(self, reserve_s: float = 0.0) -> bool:
        """Whether nothing is left (with seconds: less than ``reserve_s`` left)."""
        if self.budget.iterations is not None:
            return self.iterations_used >= self.budget.iterations
        return (self.budget.seconds or 0.0) - self.seconds_used() < max(reserve_s, 1e-9)

    def left(self) -> Budget:
        """What is left of the budget (nothing left: zero)."""
        if self.budget.iterations is not None:
            return Budget(iterations=max(0, self.budget.iterations - self.iterations_used))
        return Budget(seconds=max(0.0, (self.budget.seconds or 0.0) - self.seconds_used()))

    def slice(self, seconds: float, iterations: int) -> Budget:
        """A piece of what is left: at most ``seconds``, or at most ``iterations``."""
        left = self.left()
        if left.iterations is not None:
            return Budget(iterations=max(1, min(iterations, left.iterations)))
        return Budget(seconds=min(seconds, left.seconds or 0.0))


def steps_for_call(steps: int, seconds: float, most: int, call_s: float) -> int:
    """Steps for a search's next kernel call, so that it lasts about ``call_s`` (``most`` at the most),
    from the last call's ``steps`` and ``seconds``. A search reads the clock between calls only; where
    one step takes long (routes of hundreds of stops) its calls must shrink to keep to a time budget. An
    iteration budget never asks: its calls keep their fixed steps, the same on every machine."""
    per_step = seconds / steps
    return max(1, min(most, int(call_s / max(per_step, 1e-9))))
