"""`hatang export` and `hatang import`: the GIS exchange without a screen (main.py dispatches here)."""

from __future__ import annotations

import json
import sys

from ..core.errors import InvalidInputError
from ..core.exchange.merge import summary_lines
from .common import EXIT_CONFLICTS, EXIT_OK, SERVER_BACKUP_NOTE, dry_run_records, progress_printer, refuse


def run_export(args) -> int:
    from ..core.gis.export import export_gis
    from ..core.storage.targets import open_for_exchange

    with open_for_exchange(args.db) as db:
        result = export_gis(db, args.out, commune=args.commune, progress=progress_printer(args.json))
    if args.json:
        print(json.dumps({"format": result.format, "paths": [str(p) for p in result.paths],
                          "features": result.counts}, ensure_ascii=False))
    else:
        print(f"Đã xuất / exported {sum(result.counts.values())} đối tượng ({result.format}):")
        for p in result.paths:
            print(f"  {p}")
        for layer, n in result.counts.items():
            print(f"  {layer}: {n}")
    return EXIT_OK


def parse_map(items: list[str] | None) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items or ():
        src, sep, target = item.partition("=")
        if not sep or not src.strip():
            raise InvalidInputError(f"--map {item}: cần dạng THUỘC_TÍNH=TRƯỜNG / expected SRC=FIELD")
        out[src.strip()] = target.strip() or None
    return out


def run_import(args) -> int:
    from ..core.exchange.problems import ImportRefused
    from ..core.gis.importer import import_gis
    from ..core.storage.targets import open_for_exchange

    with open_for_exchange(args.db, write=not args.dry_run) as db:
        try:
            result = import_gis(db, args.file, dry_run=args.dry_run, as_record=args.as_record,
                                mapping=parse_map(args.map), progress=progress_printer(args.json),
                                include_untyped=getattr(args, "include_untyped", False),
                                accept_name_match=getattr(args, "accept_name_match", False))
        except ImportRefused as exc:
            code = refuse(exc, args.json)
            if any(p.suggestion for p in exc.problems):
                print("hatang: nhận các gợi ý theo tên bằng --accept-name-match / take the name suggestions with "
                      "--accept-name-match", file=sys.stderr)
            return code
        described = dry_run_records(db, result, args)
    total = result.total
    if args.json:
        print(json.dumps(result.as_json(), ensure_ascii=False, default=str))
    else:
        for g in result.groups:
            print(f"Lớp / layer '{g.layer}' ({g.kind}, {g.features}): "
                  f"{g.record or 'bỏ qua / skipped'}")
            for src, target in g.as_dict()["columns"].items():
                print(f"    {src} -> {target or '(bỏ qua / ignored)'}")
            for note in g.notes:
                print(f"    * {note}")
        if result.skipped:
            print(f"Bỏ qua / skipped {len(result.skipped)} điểm tham chiếu / reference points:")
            for k in result.skipped:
                print(f"  - {k}")
        print("\n".join(summary_lines(result, args.dry_run)))  # the warnings too
        print("\n".join(described))
        if result.backup:
            print(f"Bản sao lưu / backup: {result.backup}")
        elif result.applied and db.path is None:
            print(SERVER_BACKUP_NOTE)
    return EXIT_CONFLICTS if total["conflicts"] and not args.dry_run else EXIT_OK
