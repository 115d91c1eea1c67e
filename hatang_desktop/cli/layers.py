"""`hatang layers add|list|remove`: the reference layers a database draws (main.py registers it).

Exit codes (cli/common.py): 0 done; 2 invalid input (a file that cannot be read, a layer or
name that does not exist, a bad colour): one line, Vietnamese then English, nothing written.
"""

from __future__ import annotations

import json

from .common import EXIT_OK


def _colour(text: str) -> str:
    from ..core.reflayers import check_style

    check_style(colour=text)
    return text


def run_add(args) -> int:
    from ..core.reflayers import add_layer
    from ..core.storage.targets import open_database

    with open_database(args.db) as db:
        entry, opened = add_layer(db, args.file, layer=args.layer, name=args.name,
                                  colour=_colour(args.colour) if args.colour else None, width=args.width,
                                  fill=True if args.fill else None, label=args.label)
        if opened.tiles is not None:
            opened.tiles.close()
    if args.json:
        print(json.dumps(entry.as_json(), ensure_ascii=False))
        return EXIT_OK
    print(f"Đã thêm lớp tham chiếu / added reference layer '{entry.name}': {entry.path}"
          + (f" (lớp / layer {entry.layer})" if entry.layer else ""))
    if opened.vector is not None:
        print(f"  {opened.vector.count} đối tượng / features; thuộc tính / attributes: "
              f"{', '.join(opened.vector.fields) or '-'}")
    for note in opened.notes:
        print(f"  * {note}")
    return EXIT_OK


def run_list(args) -> int:
    from ..core.reflayers import load
    from ..core.storage.targets import open_database

    with open_database(args.db, readonly=True) as db:
        layers = load(db)
        found = {x.name: x.file(db.path).is_file() for x in layers}
    if args.json:
        print(json.dumps([x.as_json() | {"found": found[x.name]} for x in layers], ensure_ascii=False))
        return EXIT_OK
    if not layers:
        print("Không có lớp tham chiếu / no reference layers")
    for x in layers:
        style = f"{x.colour}, {x.width:g} px" + (f", tô / fill {x.opacity:.0%}" if x.fill else "") + (
            f", nhãn / label {x.label}" if x.label else "") + ("" if x.visible else ", ẩn / hidden")
        missing = "" if found[x.name] else "  [KHÔNG TÌM THẤY TỆP / FILE MISSING]"
        print(f"{x.name}: {x.path}" + (f" ({x.layer})" if x.layer else "") + f" — {style}{missing}")
    return EXIT_OK


def run_remove(args) -> int:
    from ..core.reflayers import remove_layer
    from ..core.storage.targets import open_database

    with open_database(args.db) as db:
        gone = remove_layer(db, args.name)
    print(f"Đã bỏ lớp tham chiếu / removed reference layer '{gone.name}' (tệp không bị xóa / the file is kept)")
    return EXIT_OK


def register(sub, parser_class) -> None:
    p = sub.add_parser("layers", help="lớp tham chiếu vẽ dưới các lớp khảo sát / reference layers drawn under the "
                                      "survey layers",
                       description="thêm, liệt kê, bỏ các tệp GIS (đường, sông, thửa đất, quy hoạch) vẽ dưới dữ liệu "
                                   "khảo sát / add, list, remove GIS files (roads, rivers, parcels, plans) drawn under "
                                   "the survey data")
    verbs = p.add_subparsers(dest="layers_command", metavar="LỆNH/COMMAND", parser_class=parser_class)
    verbs.required = True
    a = verbs.add_parser("add", help="thêm một tệp làm lớp tham chiếu / add a file as a reference layer")
    a.set_defaults(func=run_add)
    a.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    a.add_argument("file", metavar="FILE", help=".gpkg, .shp, .geojson, .kml, .kmz, .tif (GeoTIFF) hoặc .mbtiles")
    a.add_argument("--layer", metavar="NAME", help="lớp trong tệp (GeoPackage nhiều lớp) / the layer in the file")
    a.add_argument("--name", metavar="NAME", help="tên hiện trong bảng lớp (mặc định tên tệp) / name in the layer "
                                                  "panel (default: the file's)")
    a.add_argument("--colour", "--color", metavar="#RRGGBB", help="màu nét / line colour")
    a.add_argument("--width", type=float, metavar="N", help="độ rộng nét, điểm ảnh / line width in pixels")
    a.add_argument("--fill", action="store_true", help="tô màu vùng / fill polygons")
    a.add_argument("--label", metavar="FIELD", help="thuộc tính làm nhãn / attribute written as labels")
    a.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
    ls = verbs.add_parser("list", help="liệt kê lớp tham chiếu / list reference layers")
    ls.set_defaults(func=run_list)
    ls.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    ls.add_argument("--json", action="store_true", help="in kết quả dạng JSON / print JSON")
    r = verbs.add_parser("remove", help="bỏ một lớp tham chiếu (tệp giữ nguyên) / remove a reference layer (the file "
                                        "is kept)")
    r.set_defaults(func=run_remove)
    r.add_argument("db", metavar="DB", help="tệp cơ sở dữ liệu / database file")
    r.add_argument("name", metavar="NAME", help="tên lớp / the layer's name")
