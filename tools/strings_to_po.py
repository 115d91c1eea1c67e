#!/usr/bin/env python3
"""Write (or extend) the UI's gettext catalogues from the old tuple modules.

The UI's strings used to be Python dicts of (Vietnamese, English) tuples in hatang_desktop/ui/
strings.py and ui/*_strings.py. The .po files under hatang_desktop/locale/ are now the source; this
script made their first version and stays for one job: a branch that still added or changed a
tuple after the move can be carried over. It reads the modules' source (not an import: they are
gone from the tree) from a git revision or a folder, and adds every key the catalogues lack, with
a context comment built from the module, the section comment above the key, what kind of text the
key names (menu item, tooltip, file filter...) and what each {placeholder} holds. Entries already
in the catalogues are left as they are (their comments may have been edited by hand) unless
--replace is given.

    tools/strings_to_po.py --rev main            # keys added on main since the move
    tools/strings_to_po.py --dir some/ui/folder  # from files on disk
    tools/strings_to_po.py --rev main --replace  # rewrite existing entries' texts too
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "hatang_desktop" / "locale"
DOMAIN = "hatang"
UI = "hatang_desktop/ui"

# Module -> where its strings appear, for the translator (the modules' docstrings, made concrete).
MODULES = {
    "strings": "Main window: menus, map toolbar, layers and identify docks, status bar, map export",
    "comfort_strings": "Settings dialog, first-run wizard, recent files, crash message and About box",
    "dashboard_strings": "Plan-indicators dashboard dock (View > Chỉ tiêu hạ tầng số) and its "
                         "department-figures tab",
    "editing_strings": "Editing: Edit menu and toolbar, record forms, undo/redo, duplicate check, "
                       "change history dock",
    "excel_strings": "Excel sync: File > export/import workbook dialogs, department package, "
                     "conflicts dialog",
    "findings_strings": "Findings dock (list of rule violations found by the checks)",
    "gis_strings": "GIS exchange dialogs (File > Import/Export GIS data)",
    "gps_photo_strings": "GPS dock and the photo strip of a record's form",
    "map_strings": "Map export (PNG/PDF)",
    "file_dialogs": "Every open/save file dialog of the app (type column, refusals)",
    "reference_strings": "Reference points imported as sites to verify: map symbol, View menu entry, "
                         "GIS import options",
}

# What the key's shape says about where the text is shown (first match wins).
KINDS = (
    (re.compile(r"(^|_)tip$"), "Tooltip (shown when the pointer rests on the control)."),
    (re.compile(r"(^|_)filter$"), "File dialog filter: translate the names only; keep the patterns "
                                  "in parentheses and the ';;' separators."),
    (re.compile(r"^menu_|_menu$"), "Menu title in the menu bar."),
    (re.compile(r"_short$"), "Short label of a toolbar button: keep it short."),
    (re.compile(r"^dock_|_title$"), "Window, dialog or dock title."),
    (re.compile(r"^status_|_hint_"), "Status bar text."),
    (re.compile(r"(^|_)col_"), "Table column header."),
    (re.compile(r"^legend_"), "Map legend entry."),
    (re.compile(r"^layer_"), "Layer name in the Layers dock and the legend."),
    (re.compile(r"^unit_"), "A number with its unit."),
    (re.compile(r"^table_"), "Kind of record, shown as a heading (identify panel, history)."),
    (re.compile(r"(^|_)act_|^edit_[a-z]+(_[a-z]+)?$"), "Menu item or toolbar action."),
    (re.compile(r"^(set|wizard)_"), "Label in a form of the dialog."),
)

# What each placeholder holds. Keys may override one name ("key:name").
PLACEHOLDERS = {
    "n": "a count", "name": "a file or record name", "value": "a value as shown to the user",
    "path": "a file path", "code": "a record's code", "record": "a record (type and code)",
    "detail": "the error's own text (already in the UI's language when it can be)",
    "total": "a total count", "text": "a text inserted as is", "updated": "count of updated records",
    "m": "metres (a number)", "poles": "count of poles", "sites": "count of BTS sites",
    "routes": "count of fibre routes", "unit": "an administrative unit or a unit of measure",
    "message": "the error's own text", "inserted": "count of inserted records",
    "pos": "a position (latitude, longitude)", "h": "a height with its unit", "query": "what was typed",
    "area": "an area with its unit", "missing": "count of missing items", "shown": "count of rows shown",
    "year": "a year (2025)", "range": "a range of valid values, already translated",
    "low": "lower bound", "high": "upper bound", "length": "a length with its unit",
    "unchanged": "count of unchanged records", "conflicts": "count of conflicts",
    "backup": "the backup file's path", "s": "seconds", "version": "the program's version",
    "dec": "position in decimal degrees", "dms": "position in degrees, minutes, seconds",
    "communes": "count of communes", "findings": "count of findings", "shared": "count of shared sites",
    "x": "VN-2000 northing", "y": "VN-2000 easting", "meridian": "central meridian in degrees",
    "perimeter": "a length with its unit", "zmin": "lowest zoom level", "zmax": "highest zoom level",
    "damaged": "count of damaged tiles", "date": "a date", "commune": "a commune's name",
    "error": "the error's name and text", "target": "the plan's target value",
    "actual": "the measured value", "status": "reached / not reached, already translated",
    "document": "the plan document's title", "label": "an indicator's name", "reason": "why the value "
    "is refused, already translated", "figure": "an indicator's name", "problem": "what is wrong",
    "changed": "count of changed figures", "row": "a row number", "operator": "an operator's code",
    "distance": "a distance with its unit", "photos": "count of photos", "size": "a file size",
    "files": "count of files", "added": "count of added items", "deleted": "count of deleted records",
    "resolved": "count of auto-resolved findings", "new": "count of new findings",
    "reopened": "count of reopened findings", "active": "count of active findings",
    "paths": "file paths, one a line", "layer": "a layer's name in the file",
    "kind": "points / lines / polygons, already translated", "used": "satellites used",
    "view": "satellites in view", "uere": "the receiver error assumed, in metres",
    "utc": "a UTC time", "local": "a Vietnam local time", "skipped": "count of skipped items",
    "got": "fixes averaged so far", "spread": "spread of the fixes, in metres",
    "source": "the GPS source (port or file)", "fixes": "count of GPS fixes", "w": "width in pixels",
    "taken": "when the photo was taken", "summary": "the import summary sentence",
    "suffix": "a file name's extension in capitals (XLSX)",
    "field": "a field's label", "old": "the previous value", "new_value": "the new value",
}
HEADER = """\
# Hạ tầng Desktop: the desktop UI's texts in {language}.
# Each msgid is the key the code passes to tr(); the '#.' comments say where the text appears and
# what each {{placeholder}} holds (keep every placeholder of a text, in any order). A new language:
# copy the en/ folder to <code>/ and translate the msgstr lines (Settings lists it by itself).
# tests/core/test_catalogues.py checks that every language has the same keys and placeholders."""
# Keys the catalogues dropped or renamed on purpose since the move: never added back from an
# older revision's tuples (old key -> what replaced it, or None).
RETIRED = {"set_language_restart": "set_language_note"}
PLACEHOLDER = re.compile(r"\{(\w+)[^{}]*\}")


def placeholders(text: str) -> list[str]:
    return sorted(set(PLACEHOLDER.findall(text)))


def _read_sources(rev: str | None, folder: Path | None) -> dict[str, str]:
    """module name -> source text of every UI module that holds (vi, en) string tables: strings.py,
    the *_strings.py modules, and any module calling register({...}) itself."""
    def wanted(name: str, text: str) -> bool:
        return name.endswith("strings.py") or "register({" in text or "_STRINGS" in text

    if folder is not None:
        sources = {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.rglob("*.py"))}
        return {k: v for k, v in sources.items() if wanted(k + ".py", v)}
    names = subprocess.run(["git", "-C", str(ROOT), "ls-tree", "-r", "--name-only", rev, f"{UI}/"],
                           check=True, capture_output=True, text=True).stdout.split()
    out = {}
    for name in names:
        if name.endswith(".py"):
            text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{name}"], check=True,
                                  capture_output=True, text=True).stdout
            if wanted(Path(name).name, text):
                out[Path(name).stem] = text
    return out


def _entries(module: str, source: str):
    """(key, vi, en, section comment, comment on the key's own lines) of every string dict."""
    lines = source.splitlines()
    tree = ast.parse(source)
    tables = []
    for node in ast.walk(tree):  # STRINGS = {...}, X_STRINGS = {...} and register({...})
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
                isinstance(t, ast.Name) and t.id.endswith("STRINGS") for t in node.targets):
            tables.append(node.value)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Dict) and \
                isinstance(node.target, ast.Name) and node.target.id.endswith("STRINGS"):
            tables.append(node.value)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "register" and node.args \
                and isinstance(node.args[0], ast.Dict):
            tables.append(node.args[0])
    for node in tables:
        section = ""
        for k, v in zip(node.keys, node.values):
            if not (isinstance(k, ast.Constant) and isinstance(k.value, str) and isinstance(v, ast.Tuple)
                    and len(v.elts) == 2 and all(isinstance(e, ast.Constant) for e in v.elts)):
                break  # not a (vi, en) table (FIELDS holds tuples too, VALUE_LISTS does not)
            own = []
            row = k.lineno - 2
            while row >= 0 and lines[row].strip().startswith("#"):
                own.insert(0, lines[row].strip().lstrip("#").strip())
                row -= 1
            if own and len(own) == 1 and len(own[0]) < 40 and not own[0].endswith("."):
                section, own = own[0], []  # a short heading names the section below it
            yield k.value, v.elts[0].value, v.elts[1].value, section, " ".join(own)


def _comment(module: str, key: str, section: str, own: str, text: str) -> list[str]:
    out = [f"Where: {MODULES.get(module, module)}" + (f"; section: {section}." if section else ".")]
    for pattern, kind in KINDS:
        if pattern.search(key):
            out.append(kind)
            break
    if "&" in text.replace("&&", ""):
        out.append("'&' marks the Alt shortcut letter: put it on a letter of the translation.")
    if own:
        out.append(own)
    names = placeholders(text)
    if names:
        out.append("Placeholders: " + "; ".join(
            f"{{{p}}} = {PLACEHOLDERS.get(f'{key}:{p}', PLACEHOLDERS.get(p, p.replace('_', ' ')))}"
            for p in names) + ".")
    return out


def _uses(keys: set[str]) -> dict[str, list[str]]:
    """key -> source files that call tr("key") (the .po's '#:' references)."""
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "hatang_desktop").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for key in set(re.findall(r"""\btr\(\s*["']([a-z0-9_]+)["']""", text)) & keys:
            found.setdefault(key, []).append(str(path.relative_to(ROOT)))
    return found


def _catalog(lang: str) -> Catalog:
    path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if path.exists():
        with path.open("rb") as f:
            return read_po(f, locale=lang, domain=DOMAIN)
    cat = Catalog(locale=lang, domain=DOMAIN, project="Hạ tầng Desktop", version="0.1",
                  copyright_holder="Hạ tầng Desktop", charset="utf-8",
                  last_translator="Hạ tầng Desktop", language_team=f"{lang}", fuzzy=False,
                  header_comment=HEADER.format(language={"vi": "Vietnamese", "en": "English"}[lang]))
    return cat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--rev", help="git revision holding hatang_desktop/ui/*strings.py")
    group.add_argument("--dir", type=Path, help="folder holding strings.py and *_strings.py")
    parser.add_argument("--replace", action="store_true", help="rewrite entries already present")
    args = parser.parse_args(argv)

    rows = []
    for module, source in sorted(_read_sources(args.rev, args.dir).items(),
                                 key=lambda kv: (kv[0] != "strings", kv[0])):
        rows += [(module, *entry) for entry in _entries(module, source)]
    uses = _uses({r[1] for r in rows})
    added = changed = 0
    for lang, index in (("vi", 3), ("en", 4)):
        cat = _catalog(lang)
        for module, key, vi, en, section, own in rows:
            if placeholders(vi) != placeholders(en):
                raise SystemExit(f"{key}: the two texts have different placeholders")
            if key in RETIRED:
                continue
            exists = key in cat
            if exists and not args.replace:
                continue
            text = (vi, en)[index - 3]
            comments = _comment(module, key, section, own, vi)
            locations = [(p, None) for p in uses.get(key, [])]
            if exists:  # in place: the entry keeps its position, its old comments are replaced
                message = cat[key]
                message.string, message.auto_comments, message.locations = text, comments, locations
            else:
                cat.add(key, text, auto_comments=comments, locations=locations)
            changed += exists
            added += not exists
        for message in cat:
            # Babel decides the flag from the msgid (a key, no braces): set it from the text, so
            # Poedit and msgfmt --check warn a translator who drops a placeholder.
            if message.id and placeholders(message.string):
                message.flags.add("python-brace-format")
        path = LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as f:
            write_po(f, cat, width=100, sort_output=False, include_lineno=False)
    print(f"{len(rows)} keys read; {added // 2} added, {changed // 2} rewritten in each language")
    return 0


if __name__ == "__main__":
    sys.exit(main())
