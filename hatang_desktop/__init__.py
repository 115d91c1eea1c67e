"""Hạ tầng Desktop: field survey of shared telecom infrastructure in Vietnam."""

__version__ = "0.1.0"
