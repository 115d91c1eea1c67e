"""The `hatang` command: the core's operations without a screen.

main.py parses the arguments and turns errors into exit codes (common.py holds them); gis.py,
rules.py and indicators.py print what their verbs report. Core never prints or exits.
"""

from .main import main

__all__ = ["main"]
