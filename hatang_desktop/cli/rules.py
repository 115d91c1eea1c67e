"""`hatang check DB [--json] [--commune CODE] [--rule ID] [--rules DIR]`: what the verb prints."""

from __future__ import annotations

import json
import math

from ..core import schema
from ..core.rules.check import counts, list_findings, run_check
from ..core.rules.definitions import load_rules
from ..core.storage.targets import open_database
from ..core.text import format_decimal
from .common import EXIT_OK, progress_printer

SEVERITY_VI = {c.code: c.vi for c in schema.forms().lists["severities"].choices}


def _clean(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def run(args) -> int:
    rules = load_rules(args.rules) if getattr(args, "rules", None) else load_rules()
    rule_ids = args.rule or None
    rules.select(rule_ids)  # unknown ids fail before the database is touched

    with open_database(args.db) as db:
        result = run_check(db, rules=rules, rule_ids=rule_ids, commune=args.commune, progress=progress_printer(args.json))
        evaluated = [r.id for r in result.rules]
        frame = list_findings(db, commune=args.commune, rule_ids=evaluated if rule_ids else None)
    summary = counts(frame)
    if args.json:
        items = [{k: _clean(v) for k, v in row.items()} for row in frame.to_dict("records")]
        doc = {
            "database": str(args.db), "commune": args.commune,
            "rules": [dict(r.as_dict(), found=result.found.get(r.id, 0), records=result.records.get(r.id, 0))
                      for r in result.rules],
            "changes": result.changes.as_dict(),
            "counts": summary,
            "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
            "findings": items,
        }
        print(json.dumps(doc, ensure_ascii=False, default=str))
        return EXIT_OK
    print(f"Kiểm tra {len(result.rules)} quy tắc / checked {len(result.rules)} rules: {args.db}"
          + (f" (xã/phường / commune {args.commune})" if args.commune else ""))
    width = max(len(r.id) for r in result.rules)
    for r in result.rules:
        by = summary["by_rule"].get(r.id, {})
        active = by.get("open", 0) + by.get("confirmed", 0)
        # A per-commune rule: its findings are communes; how many records they count is said too.
        grouped = (f" ({format_decimal(result.records.get(r.id, 0), 0)} bản ghi / records)" if r.aggregate else "")
        print(f"  {r.id:<{width}}  {SEVERITY_VI[r.severity]:<9} {active:>7}  {r.title['vi']}{grouped}")
    c = result.changes
    print(f"Mới / new {c.new}, tự đóng / auto-resolved {c.resolved}, mở lại / reopened {c.reopened}, "
          f"không đổi / unchanged {c.unchanged}")
    sev = summary["by_severity"]
    print(f"Đang mở / active: {summary['active']} (vi phạm / violations {sev['violation']}, cảnh báo / "
          f"warnings {sev['warning']}, thông tin / info {sev['info']})")
    return EXIT_OK
