"""The simulation's clock: integer nanoseconds since the Unix epoch (UTC)."""

from __future__ import annotations

import datetime as dt
import re

from cfx.units import MINUTE_NS, NS


def epoch_ns(day: dt.date, minute: int = 0) -> int:
    """Nanoseconds since the Unix epoch of ``minute`` minutes after midnight UTC of ``day``."""
    return (day.toordinal() - 719_163) * 86_400 * NS + minute * MINUTE_NS


TIME_OF_DAY = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def minutes(hhmm: str) -> int:
    """Minutes after midnight of an ``HH:MM`` time; ValueError if it is not one."""
    m = TIME_OF_DAY.match(hhmm)
    if m is None:
        raise ValueError(f"expected a time as HH:MM, got {hhmm!r}")
    return int(m.group(1)) * 60 + int(m.group(2))
