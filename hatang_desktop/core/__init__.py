"""The headless core: data model, storage, geometry, exchange. Imports no Qt (a test enforces it)."""
