#!/usr/bin/env bash
# Build the Linux bundle (dist/hatang-desktop/) and check that it starts:
#   installer/build_linux.sh            build + smoke test (a screenshot offscreen, exit 0)
#   installer/build_linux.sh --smoke    smoke test an existing bundle only
# Needs the project's .venv (.ci/setup); installs PyInstaller into it (the `bundle` extra).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DIST=installer/dist
BUNDLE=$DIST/hatang-desktop

if [ "${1:-}" != "--smoke" ]; then
  start=$(date +%s)
  $PY -m pip install -q -c requirements.lock -e ".[bundle]"
  $PY sample_db/make_sample.py >/dev/null 2>&1   # the sample ships inside the bundle
  $PY -m PyInstaller --noconfirm --clean --log-level WARN \
      --distpath "$DIST" --workpath installer/build/pyinstaller installer/hatang_desktop.spec
  install -Dm644 resources/icons/hatang-desktop-256.png "$BUNDLE/hatang-desktop.png"
  install -Dm644 installer/hatang-desktop.desktop "$BUNDLE/hatang-desktop.desktop"
  echo "Đã đóng gói / built in $(( $(date +%s) - start )) s: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
fi

# Smoke test: the frozen app opens its shipped sample and renders the window with no display; the
# frozen command reads the same database. Data go to a throwaway folder, not the user's.
export HATANG_DATA_DIR; HATANG_DATA_DIR=$(mktemp -d)
trap 'rm -rf "$HATANG_DATA_DIR"' EXIT
QT_QPA_PLATFORM=offscreen "$BUNDLE/hatang-desktop" --screenshot "$HATANG_DATA_DIR/shot.png"
test -s "$HATANG_DATA_DIR/shot.png"
"$BUNDLE/hatang" info "$HATANG_DATA_DIR/ha_tinh_sample.db" --json >/dev/null
# What reads package data at run time: a new database (schema files), an upgrade of a first-schema
# database (migrations), the rules and a PDF report (reportlab, the shipped font).
"$BUNDLE/hatang" init "$HATANG_DATA_DIR/new.htdb" --province 42 --commune 18073 >/dev/null
cp tests/data/schema_v1.db "$HATANG_DATA_DIR/old.db"
"$BUNDLE/hatang" check "$HATANG_DATA_DIR/old.db" >/dev/null
"$BUNDLE/hatang" check "$HATANG_DATA_DIR/ha_tinh_sample.db" --commune 18073 >/dev/null
"$BUNDLE/hatang" report findings "$HATANG_DATA_DIR/ha_tinh_sample.db" "$HATANG_DATA_DIR/f.pdf" --commune 18073 >/dev/null
"$BUNDLE/hatang" export "$HATANG_DATA_DIR/ha_tinh_sample.db" "$HATANG_DATA_DIR/s.gpkg" --commune 18073 >/dev/null
"$BUNDLE/hatang" export-xlsx "$HATANG_DATA_DIR/ha_tinh_sample.db" "$HATANG_DATA_DIR/s.xlsx" --commune 18073 >/dev/null
test -s "$HATANG_DATA_DIR/f.pdf" && test -s "$HATANG_DATA_DIR/s.gpkg" && test -s "$HATANG_DATA_DIR/s.xlsx"
# The server driver (psycopg and the libpq it carries) loads in the frozen command: a server that is
# not there is one line naming it, and exit 2.
set +e; "$BUNDLE/hatang" info "postgresql://nobody@127.0.0.1:9/none" 2>"$HATANG_DATA_DIR/pg.err"; rc=$?; set -e
test "$rc" = 2 && grep -q "không kết nối được máy chủ" "$HATANG_DATA_DIR/pg.err"
# The frozen app on a real X display (Xvfb, the xcb platform), a site added with key presses and a
# click, as tests/ui/test_real_display.py does for the installed one.
# And the frozen app started as the map's reading process (large files are read there).
HATANG_DESKTOP_APP="$PWD/$BUNDLE/hatang-desktop" $PY -m pytest -q -p no:cacheprovider tests/ui/test_real_display.py \
    tests/ui/test_read_process.py::test_the_bundled_app_starts_its_reading_process_through_its_own_entry
echo "Bundle OK: $BUNDLE"
