"""Exchange with GIS tools: GeoPackage, GeoJSON, KML/KMZ and OpenCelliD CSV, in and out.

Every format is read and written by GDAL through pyogrio/geopandas; this package only decides
which records become which layers and attributes, and how a foreign file's attributes map back
onto the forms (reusing the Excel import's header matching and validation, and feeding the one merge:
exchange/merge.py).
"""

from __future__ import annotations

from .export import GisExportResult, export_gis
from .importer import GisImportResult, InvalidGisFileError, import_gis, preview_gis

FORMATS = {".gpkg": "GeoPackage", ".geojson": "GeoJSON", ".json": "GeoJSON", ".kml": "KML",
           ".kmz": "KMZ", ".csv": "OpenCelliD CSV"}

__all__ = ["FORMATS", "GisExportResult", "GisImportResult", "InvalidGisFileError",
           "export_gis", "import_gis", "preview_gis"]
