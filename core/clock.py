"""The application's calendar: every "today" is Brussels' date, whatever the server's time zone.

The institutions and their clients are in Belgium; a server on UTC is one or two hours behind at
midnight, when ``clock.today()`` would still give yesterday (a payment of today "in the future", a
session of today not on the home page). Pure: imports nothing of the application.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo
from core import clock

BRUSSELS = ZoneInfo("Europe/Brussels")


def today() -> date:
    """Today in Brussels."""
    return datetime.now(BRUSSELS).date()
