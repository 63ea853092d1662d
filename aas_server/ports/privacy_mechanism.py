"""The differentially private statistics themselves, built from OpenDP: a spec in, one noisy answer out.

Nothing here samples noise or derives a sensitivity by hand. Each statistic is an OpenDP chain on a vector of
floats under the symmetric distance (add or remove one record): ``clamp`` to the declared bounds, then ``count``,
``sum`` or ``find_bin`` + ``count_by_categories``, then the Laplace mechanism (discrete Laplace on integer
counts). The scale is the sensitivity OpenDP reports for the clamped statistic (``transformation.map(d_in)``,
which includes its own allowance for floating-point rounding) divided by epsilon, and the finished measurement
must pass ``measurement.map(d_in) <= epsilon``: OpenDP, not this module, certifies the privacy loss. (A closed
form checked by OpenDP rather than ``binary_search_param``: the same scale to a few ulps, 30x faster.)

A mean is a sum and a count composed (half of epsilon each) and divided: the record count is not public, so a
sized-domain mean (which would publish the exact count) is not used. Post-processing (clipping counts at zero,
the mean to the bounds) costs no privacy.
"""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any

import opendp.prelude as dp

dp.enable_features("contrib")

#: how often the scale is nudged up by a few ulps when float rounding puts ``map(d_in)`` just above epsilon
_NUDGES = 8


@functools.lru_cache(maxsize=256)
def measurement(statistic: str, epsilon: float, bounds: tuple[float, float] | None, bins: int | None,
                contributions: int) -> Any:
    """The OpenDP measurement of one statistic; ``contributions`` records at most stem from one privacy unit.

    Cached: a measurement is immutable and its construction (FFI calls into the OpenDP library) costs more than
    applying it.
    """
    space = dp.vector_domain(dp.atom_domain(T=float, nan=False)), dp.symmetric_distance()
    if statistic == "count":
        return _laplace(space >> dp.t.then_count(), contributions, epsilon)
    assert bounds is not None  # noqa: S101 - parse_spec requires bounds for every other statistic
    clamped = space >> dp.t.then_clamp(bounds)
    if statistic == "sum":
        return _laplace(clamped >> dp.t.then_sum(), contributions, epsilon)
    if statistic == "mean":
        both = dp.c.make_composition([
            _laplace(clamped >> dp.t.then_sum(), contributions, epsilon / 2),
            _laplace(space >> dp.t.then_count(), contributions, epsilon / 2),
        ])
        if both.map(contributions) > epsilon:
            raise ValueError(f"OpenDP puts the composed mean above epsilon {epsilon}")
        return both
    assert bins is not None  # noqa: S101 - parse_spec requires bins for a histogram
    counts = (clamped >> dp.t.then_find_bin(edges=inner_edges(bounds, bins))
              >> dp.t.then_count_by_categories(categories=list(range(bins)), null_category=False))
    return _laplace(counts, contributions, epsilon)


def inner_edges(bounds: tuple[float, float], bins: int) -> list[float]:
    """The edges between ``bins`` equal bins over ``bounds`` (clamped values land in the first or last bin)."""
    lower, upper = bounds
    return [lower + (upper - lower) * i / bins for i in range(1, bins)]


def release(statistic: str, epsilon: float, bounds: tuple[float, float] | None, bins: int | None,
            contributions: int, values: Sequence[float]) -> float | int | list[int]:
    """One noisy answer: a number, or the counts of the bins of a histogram."""
    answer = measurement(statistic, epsilon, bounds, bins, contributions)(list(values))
    if statistic == "count":
        return max(int(answer), 0)
    if statistic == "histogram":
        return [max(int(c), 0) for c in answer]
    if statistic == "mean":
        assert bounds is not None  # noqa: S101 - see measurement
        noisy_sum, noisy_count = answer
        return min(max(float(noisy_sum) / max(int(noisy_count), 1), bounds[0]), bounds[1])
    return float(answer)


def _laplace(transformation: Any, d_in: int, epsilon: float) -> Any:
    sensitivity = transformation.map(d_in)
    scale = float(sensitivity) / epsilon
    for _ in range(_NUDGES):
        meas = transformation >> dp.m.then_laplace(scale)
        if meas.map(d_in) <= epsilon:
            return meas
        scale = math.nextafter(scale * (1 + 1e-12), math.inf)
    raise ValueError(f"OpenDP finds no Laplace scale near {scale} within epsilon {epsilon}")
