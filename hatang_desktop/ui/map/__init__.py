"""The map canvas and its layers."""
