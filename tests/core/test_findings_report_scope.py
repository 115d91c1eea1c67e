"""The findings PDF read back with pdftotext: the summary's counts are the database's, a scoped
report lists exactly that scope's findings, `--details all` lists every one, bad options write
nothing."""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter

import pytest

from hatang_desktop.core.reports import write_report
from hatang_desktop.core.rules import run_check
from hatang_desktop.core.rules.definitions import MANUAL_RULE, load_rules
from hatang_desktop.core.storage.database import Database

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")

ACTIVE = "status IN ('open', 'confirmed')"
COUNT = r"(?:\d{1,3}(?:\.\d{3})*|-)"  # the report's numbers: 1.521, 0 printed as -


def _num(token: str) -> int:
    return 0 if token == "-" else int(token.replace(".", ""))


@pytest.fixture(scope="module")
def checked_path(tmp_path_factory, _sample_template):
    """The 300-site sample after `hatang check`, a resolved and a dismissed finding among them."""
    path = tmp_path_factory.mktemp("findings_scope") / "checked.db"
    shutil.copyfile(_sample_template, path)
    db = Database.open(path)
    db.user = "tester"
    run_check(db)
    db.close()
    with sqlite3.connect(path) as conn:
        ids = [r[0] for r in conn.execute("SELECT id FROM findings WHERE deleted = 0 ORDER BY id LIMIT 2")]
        conn.execute("UPDATE findings SET status = 'resolved' WHERE id = ?", (ids[0],))
        conn.execute("UPDATE findings SET status = 'dismissed' WHERE id = ?", (ids[1],))
    return path


def _query(path, sql, params=()):
    with sqlite3.connect(path) as conn:
        return conn.execute(sql, params).fetchall()


def _text(pdf) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout


def _summary_numbers() -> dict[str, int]:
    """Rule id -> its number in section I: the rules in their files' order, findings entered by hand last."""
    return {r.id: n for n, r in enumerate(load_rules(), start=1)} | {MANUAL_RULE: len(load_rules()) + 1}


def _section(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def test_summary_counts_are_the_database_findings_per_rule_and_commune(checked_path, tmp_path):
    out = tmp_path / "tinh.pdf"
    summary = write_report("findings", checked_path, out)
    assert summary["details"] is False
    text = _text(out)
    rule_key = f"coalesce(nullif(rule_id, ''), '{MANUAL_RULE}')"
    numbers = _summary_numbers()

    # I. per rule: active by severity (violation, warning, info), then resolved and dismissed.
    expected = {n: [0] * 5 for n in numbers.values()}
    for rule, severity, n in _query(checked_path, f"SELECT {rule_key}, severity, count(*) FROM findings "
                                                  f"WHERE deleted = 0 AND {ACTIVE} GROUP BY 1, 2"):
        expected[numbers[rule]][("violation", "warning", "info").index(severity)] = n
    for rule, status, n in _query(checked_path, f"SELECT {rule_key}, status, count(*) FROM findings "
                                                f"WHERE deleted = 0 AND status IN ('resolved', 'dismissed') "
                                                "GROUP BY 1, 2"):
        expected[numbers[rule]][3 if status == "resolved" else 4] = n
    rows = re.findall(rf"^\s*(\d+)\s+\S.*?\s({COUNT})\s+({COUNT})\s+({COUNT})\s+({COUNT})\s+({COUNT})\s*$",
                      _section(text, "I. TỔNG HỢP", "II. TỔNG HỢP"), flags=re.M)
    found = {int(r[0]): [_num(t) for t in r[1:]] for r in rows}
    assert found == {n: c for n, c in expected.items() if any(c) or n <= len(load_rules())}
    assert sum(sum(c[:3]) for c in found.values()) == summary["active"] > 100

    # II. per commune: active findings per rule; the columns are the rules' numbers in section I.
    part = _section(text, "II. TỔNG HỢP", "III. CHI TIẾT")
    header = next(line for line in part.splitlines() if "Xã/phường" in line and "Cộng" in line)
    columns = [int(n) for n in re.findall(r"\((\d+)\)", header)]
    expected = Counter()
    for commune, rule, n in _query(checked_path, f"SELECT commune_code, {rule_key}, count(*) FROM findings "
                                                 f"WHERE deleted = 0 AND {ACTIVE} GROUP BY 1, 2"):
        expected[(commune, numbers[rule])] = n
    assert sorted(columns) == sorted({k[1] for k in expected})
    seen = set()
    for code, counts in re.findall(r"\((\d{5})\)((?:\s+" + COUNT + r")+)\s*$", part, flags=re.M):
        values = [_num(t) for t in counts.split()]
        assert len(values) == len(columns) + 1, code
        assert values[:-1] == [expected[(code, n)] for n in columns], code
        assert values[-1] == sum(expected[(code, n)] for n in columns)
        seen.add(code)
    assert seen == {k[0] for k in expected}
    assert "Phát hiện ngày" not in text  # the whole province: the summary only
    assert summary["pages"] <= 4


def _listed(text: str) -> int:
    return len(re.findall(r"Phát hiện ngày \d\d/\d\d/\d{4}", text))


def test_scoped_report_lists_exactly_the_findings_of_its_scope(checked_path, tmp_path):
    from hatang_desktop.core.reports.findings import gather
    from hatang_desktop.core.storage.targets import open_database

    with open_database(checked_path, readonly=True) as db:
        province = gather(db, with_photos=False).active
    commune = province["commune_code"].value_counts().index[0]
    operator = province[province["commune_code"] == commune]["operator_code"].value_counts().index[0]
    out = tmp_path / "xa.pdf"
    summary = write_report("findings", checked_path, out, commune=commune)
    assert summary["details"] is True
    text = _text(out)
    in_commune = _query(checked_path, f"SELECT count(*) FROM findings WHERE deleted = 0 AND {ACTIVE} "
                                      "AND commune_code = ?", (commune,))[0][0]
    assert _listed(text) == in_commune == summary["active"]
    numbers = [int(m) for m in re.findall(r"^\s*(\d+)\s+\(\d+\) ", _section(text, "III. CHI TIẾT", "Nơi nhận"),
                                          flags=re.M)]
    assert numbers == list(range(1, in_commune + 1))  # one row each, numbered through

    # Commune and operator: only that operator's findings of that commune, by record.
    out = tmp_path / "xa_dn.pdf"
    summary = write_report("findings", checked_path, out, commune=commune, operator=operator)
    text = _text(out)
    with open_database(checked_path, readonly=True) as db:
        frame = gather(db, commune=commune, operator=operator, with_photos=False).active
        everyone = gather(db, commune=commune, with_photos=False).active
    assert len(frame) == summary["active"] == _listed(text) > 0
    assert set(frame["operator_code"]) == {operator}
    assert frame["record"].notna().all() and all(r in text for r in frame["record"])
    others = set(everyone["record"].dropna()) - set(frame["record"])
    assert others and not any(re.search(rf"\b{re.escape(r)}\b", text) for r in others)

    # One severity across the province: listed because the scope is narrowed, nothing else.
    out = tmp_path / "canh_bao.pdf"
    summary = write_report("findings", checked_path, out, severity="warning")
    text = _text(out)
    warnings = _query(checked_path, f"SELECT count(*) FROM findings WHERE deleted = 0 AND {ACTIVE} "
                                    "AND severity = 'warning'")[0][0]
    assert _listed(text) == summary["active"] == warnings > 0
    assert text.count("Cảnh báo · ") == warnings and "Vi phạm · " not in text

    # The same scope, summary only.
    out = tmp_path / "xa_tong_hop.pdf"
    write_report("findings", checked_path, out, commune=commune, details="none")
    assert _listed(_text(out)) == 0


def test_all_details_lists_every_active_finding_of_the_province(checked_path, tmp_path):
    out = tmp_path / "tinh_day_du.pdf"
    summary = write_report("findings", checked_path, out, details="all")
    text = _text(out)
    active = _query(checked_path, f"SELECT count(*) FROM findings WHERE deleted = 0 AND {ACTIVE}")[0][0]
    assert _listed(text) == summary["active"] == active
    numbers = [int(m) for m in re.findall(r"^\s*(\d+)\s+\(\d+\) ", _section(text, "III. CHI TIẾT", "Nơi nhận"),
                                          flags=re.M)]
    assert numbers == list(range(1, active + 1))
    pages = re.findall(r"Trang (\d+)/(\d+)", text)
    assert [int(p) for p, _ in pages] == list(range(1, summary["pages"] + 1))
    # A finding about a whole commune says so; no "nan" of a missing record.
    per_commune = _query(checked_path, f"SELECT count(*) FROM findings WHERE deleted = 0 AND {ACTIVE} "
                                       "AND target_table IS NULL")[0][0]
    assert text.count("Toàn xã/phường") == per_commune > 0 and not re.search(r"\bnan\b", text)
    # No page ends with a heading: it went over with its table.
    for page in text.split("\f"):
        lines = [line for line in page.splitlines() if line.strip() and "Hạ tầng Desktop ·" not in line]
        assert not (lines and re.match(r"^\s*\d+(\.\d+)?\. .*: \d+", lines[-1])), lines[-1]


@pytest.mark.parametrize("option, words", [
    (["--commune", "99999"], "không có xã/phường này / no such commune"),
    (["--operator", "Telco Mặt Trăng"], "không có doanh nghiệp này / no such operator"),
    (["--severity", "nghiêm trọng"], "mức độ là một trong / the severity is one of"),
    (["--details", "some"], "chọn / choose auto, all, none"),
    (["--operator", "VTL", "--paper", "A3"], "chỉ dùng cho báo cáo map"),
])
def test_bad_options_exit_2_with_a_bilingual_message_and_no_file(checked_path, tmp_path, option, words):
    for out in (tmp_path / "bad.pdf", tmp_path / "bad.xlsx"):
        run = subprocess.run([sys.executable, "-m", "hatang_desktop.cli", "report", "findings", str(checked_path),
                              str(out), *option], capture_output=True, text=True, timeout=120)
        assert run.returncode == 2, run.stderr
        assert words in run.stderr
        assert not out.exists() and list(tmp_path.iterdir()) == []


def test_scope_options_belong_to_the_findings_report(checked_path, tmp_path):
    run = subprocess.run([sys.executable, "-m", "hatang_desktop.cli", "report", "indicators", str(checked_path),
                          str(tmp_path / "x.xlsx"), "--severity", "warning"], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2 and "chỉ dùng cho báo cáo findings" in run.stderr
    assert list(tmp_path.iterdir()) == []


def test_cells_are_wrapped_to_their_column_and_keep_every_character():
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from hatang_desktop.core.reports.findings_pdf import FONT, PAD, _fonts, wrap

    _fonts()
    text = ("Cáp của VTL tại cột C18073-000007 thấp nhất 2,9 m, dưới mức 4,5 m (Dọc đường)\n"
            "Ghi chú: https://so-tttt.hatinh.gov.vn/ho-so/kiem-tra/2026/xa-thach-ha/C18073-000007-anh-1.jpg")
    width = 120.0
    lines = wrap(text, width, FONT, 7.5).split("\n")
    assert len(lines) > 4
    assert all(stringWidth(line, FONT, 7.5) <= width - 2 * PAD for line in lines)
    assert "".join(lines).replace(" ", "") == text.replace("\n", "").replace(" ", "")
    assert lines[0].startswith("Cáp của VTL tại cột") and "" not in lines
