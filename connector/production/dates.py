"""How the Service Layer writes a date in its JSON, in both protocol versions (docs/service-layer.md §8).

A document date is read off SAP's data (the order's dates) by the pure domain, so the parser lives
here rather than in ``sl/``, which the domain never imports.
"""

from __future__ import annotations

import re
from datetime import date, datetime

_DATE_ONLY = re.compile(r"^(\d{4})-?(\d{2})-?(\d{2})$")
_V2_DATETIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$")


def parse_sl_date(value: object) -> date | None:
    """Parse an SL date: v1 ``"2022-10-31"``, v2 ``"2023-10-26T00:00:00Z"``, ``"20140423"``; else ``None``.

    The time and zone of a v2 value are dropped: B1 document dates are calendar dates stored at
    midnight, and converting ``...T00:00:00Z`` to local time would move them a day back (§8).
    """
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    match = _V2_DATETIME.match(text)
    if match:
        text = match.group(1)
    parts = _DATE_ONLY.match(text)
    if not parts:
        return None
    try:
        return date(int(parts.group(1)), int(parts.group(2)), int(parts.group(3)))
    except ValueError:
        return None
