"""What every verb of the `hatang` command shares: the exit codes and the progress lines.

The exit codes are a contract that scripts and tests rely on (DESIGN.md): 0 done; 2 invalid input
or arguments (one clear line on stderr, nothing written); 3 import applied but conflicts wait for
review; 1 anything else.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_CONFLICTS = 0, 1, 2, 3


def progress_printer(as_json: bool) -> Callable[[str, float], None]:
    """A core progress callback that writes "  40% stage" to stderr; silent under --json, whose
    stdout is one document and whose stderr a script may read as the error."""
    def report(stage: str, fraction: float) -> None:
        if not as_json and stage:
            print(f"  {fraction:4.0%} {stage}", file=sys.stderr)
    return report
