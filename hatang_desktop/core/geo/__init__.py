"""Positions and their forms, one module per job (import from the module, not from here):

- parse.py: what people type and read (DMS, decimals with a dot or a comma), the Vietnam check
- meridians.py: the provinces' VN-2000 central meridians, old and 2025, and their lookup
- vn2000.py: VN-2000 X/Y <-> WGS84 with the official parameters
- geodesy.py: lengths, areas and distances on the WGS84 ellipsoid
- projection.py: Web Mercator, the map's plane
- errors.py: what they raise (InvalidInputError subclasses, in both languages)
"""
