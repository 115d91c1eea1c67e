"""Map layers, one module each; every layer owns a fixed, small set of graphics items."""

from __future__ import annotations

from .base import NO_FILTER, LayerFilter, LegendEntry, MapLayer
from .boundaries import BoundaryLayer
from .findings import FindingLayer
from .poles import PoleLayer
from .routes import RouteLayer
from .sites import SiteLayer
from .tracks import TrackLayer
from .villages import VillageLayer
from .zones import ZoneLayer

__all__ = ["NO_FILTER", "prepare_layers", "BoundaryLayer", "FindingLayer", "LayerFilter", "LegendEntry", "MapLayer",
           "PoleLayer", "RouteLayer", "SiteLayer", "TrackLayer", "VillageLayer", "ZoneLayer", "all_layers"]


def all_layers() -> list[MapLayer]:
    """Drawing order bottom to top is given by z values; this is the panel's order, top first."""
    return [FindingLayer(), SiteLayer(), PoleLayer(), TrackLayer(), VillageLayer(), RouteLayer(), ZoneLayer(),
            BoundaryLayer()]


def prepare_layers(data) -> None:
    """What the layers can do with freshly read data off the GUI thread (sorting point grids,
    working out looks), stored in data.prepared for the canvas to use once: safe to call from
    the loading worker."""
    for layer in (SiteLayer, PoleLayer, RouteLayer):
        ready = layer.prepare(data)
        if ready is not None:
            data.prepared[layer.key] = ready
