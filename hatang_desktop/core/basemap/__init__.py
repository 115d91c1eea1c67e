"""Downloading a basemap for an area into an MBTiles file for offline use (no Qt here).

sources.py says where tiles come from and whether their terms allow keeping them offline,
tiles.py which tiles cover an area and what they cost, areas.py the box of a commune or
province, fetch.py one tile over HTTP as a polite client asks for it, download.py the
resumable job that stores them in MBTiles.
"""
