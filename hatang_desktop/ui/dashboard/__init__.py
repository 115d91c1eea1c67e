"""The plan-indicators dashboard: a dock with each indicator against its target, charts, the
villages still without mobile broadband, and a coverage layer on the map."""

from .dock import IndicatorDashboard

__all__ = ["IndicatorDashboard"]
