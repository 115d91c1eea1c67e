"""What every verb of the `hatang` command shares: the exit codes and the progress lines.

The exit codes are a contract that scripts and tests rely on (DESIGN.md): 0 done; 2 invalid input
or arguments (one clear line on stderr, nothing written); 3 import applied but conflicts wait for
review; 1 anything else.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_CONFLICTS = 0, 1, 2, 3


# An import into a server database takes no file backup (it has no file): the server's own do.
SERVER_BACKUP_NOTE = ("Sao lưu / backup: không tạo tệp sao lưu, máy chủ có sao lưu riêng / none taken, the server's own "
                      "backups apply")

NOTHING_WRITTEN = {"inserted": 0, "updated": 0, "deleted": 0, "conflicts": 0, "unchanged": 0}


def refuse(exc, as_json: bool, *, counts: bool = True) -> int:
    """An input refused for its problems (`exc.problems`, nothing written): under --json the
    document a script reads, with the zero counts of an import when `counts`; always the one
    line on stderr. Returns the exit code."""
    if as_json:
        if hasattr(exc, "as_json"):  # an import's refusal: the merge's one document for every reader
            doc = exc.as_json()
        else:
            doc = (dict(NOTHING_WRITTEN) if counts else {}) | {"errors": [p.as_dict() for p in exc.problems],
                                                              "applied": False}
        print(json.dumps(doc, ensure_ascii=False, default=str))
    print(f"hatang: {exc}", file=sys.stderr)
    return EXIT_INVALID


def progress_printer(as_json: bool) -> Callable[[str, float], None]:
    """A core progress callback that writes "  40% stage" to stderr; silent under --json, whose
    stdout is one document and whose stderr a script may read as the error."""
    def report(stage: str, fraction: float) -> None:
        if not as_json and stage:
            print(f"  {fraction:4.0%} {stage}", file=sys.stderr)
    return report


def dry_run_records(db, result, args) -> list[str]:
    """A dry run's records one by one (what it would insert, update with which fields, delete
    with what), as the import dialog lists them; nothing for a real import or --json."""
    if not args.dry_run or args.json:
        return []
    from ..core.exchange.preview import describe_plan, preview_lines
    from ..core.forms import load_forms

    forms = load_forms()
    return preview_lines(describe_plan(db, result.plans, forms, "vi"), forms, "vi")
