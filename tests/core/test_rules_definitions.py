"""Rule files: the shipped set loads; broken files are refused with the file and the rule named."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap

import pytest

from hatang_desktop.core.rules import RuleDefinitionError, load_rules, run_check
from hatang_desktop.core.rules.definitions import rules_dir

from .rules_helpers import Builder, communes, province_template, rules_db  # noqa: F401 (fixtures)

GOOD = """
rules:
  - id: cable_untagged_test
    title: {vi: Cáp không có thẻ, en: Untagged cable}
    reference: {document: QCVN 33:2019/BTTTT}
    record: pole_attachments
    severity: violation
    parameters:
      max_spare_m: {label: {vi: Dự phòng tối đa, en: Longest spare}, default: 10}
    condition:
      all:
        - {field: tagged, eq: false}
        - {field: spare_cable_m, gt: {param: max_spare_m}}
    message: {vi: "Cáp {operator_code} không thẻ", en: "{operator_code} untagged"}
"""


def write(tmp_path, body: str, name: str = "mine.yaml", extra: dict | None = None):
    folder = tmp_path / "rules"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(textwrap.dedent(body), encoding="utf-8")
    for fname, content in (extra or {}).items():
        (folder / fname).write_text(textwrap.dedent(content), encoding="utf-8")
    return folder


def test_shipped_rules_load_with_references_and_provincial_parameters():
    rules = load_rules()
    assert len(rules) >= 14
    for rule in rules:
        assert rule.title["vi"] and rule.title["en"] and rule.reference["document"]
        assert rule.severity in ("info", "warning", "violation")
    assert rules["cable_too_low"].parameters["min_height_m"].set_by_province
    assert rules["cable_not_insulated"].reference_text == "QCVN 33:2019/BTTTT, 2.1.4"
    assert "15/2016/TTLT-BTTTT-BXD" in rules["rooftop_mast_without_permit"].reference["document"]


def test_a_good_file_loads(tmp_path):
    rules = load_rules(write(tmp_path, GOOD))
    assert list(rules.rules) == ["cable_untagged_test"]


@pytest.mark.parametrize("change, expected", [
    (("field: tagged,", "field: tagg,"), "trường 'tagg'"),
    (("severity: violation", "severity: serious"), "severity"),
    (("reference: {document: QCVN 33:2019/BTTTT}", "reference: {article: '2.1.4'}"), "reference"),
    (("eq: false}", "eq: 'no'}"), "true hoặc false"),
    (("{param: max_spare_m}", "{param: max_spares}"), "max_spares"),
    (("Cáp {operator_code}", "Cáp {operator}"), "{operator}"),
    (("record: pole_attachments", "record: cables"), "record"),
    (("        - {field: tagged, eq: false}\n", "        - \"tagged == False\"\n"), "mapping"),
    (("{field: tagged, eq: false}", "{field: tagged, eq: false, gt: 1}"), "một phép so sánh"),
    (("default: 10}", "default: ten}"), "cần một số"),
    (("severity: violation", "severity: violation\n    aggregate: district"), "aggregate"),
    # A per-commune finding speaks of its records together: one record's field has no value there.
    (("severity: violation", "severity: violation\n    aggregate: commune"), "{operator_code}"),
])
def test_broken_rule_names_file_and_rule(tmp_path, change, expected):
    old, new = change
    assert old in GOOD
    folder = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(RuleDefinitionError) as err:
        load_rules(folder)
    message = str(err.value)
    assert "mine.yaml" in message and expected in message
    if "record: cables" not in new:
        assert "cable_untagged_test" in message


def test_a_per_commune_rule_loads_with_its_own_placeholders(tmp_path):
    body = GOOD.replace("severity: violation", "severity: violation\n    aggregate: commune").replace(
        '"Cáp {operator_code} không thẻ", en: "{operator_code} untagged"',
        '"{count} cáp không thẻ ở {commune}: {records} (trên {params.max_spare_m} m)", en: "{count} in {commune}"')
    rule = load_rules(write(tmp_path, body))["cable_untagged_test"]
    assert rule.aggregate == "commune" and rule.target_table is None and rule.record == "pole_attachments"


def test_value_list_typo_is_caught(tmp_path):
    folder = write(tmp_path, GOOD.replace("{field: tagged, eq: false}", "{field: condition, eq: abandonned}"))
    with pytest.raises(RuleDefinitionError, match="abandonned.*cable_conditions"):
        load_rules(folder)


def test_yaml_syntax_error_names_the_file(tmp_path):
    folder = write(tmp_path, GOOD + "\n  - id: [broken\n")
    with pytest.raises(RuleDefinitionError, match="mine.yaml.*YAML"):
        load_rules(folder)


def test_duplicate_ids_across_files(tmp_path):
    write(tmp_path, GOOD, "a.yaml")
    folder = write(tmp_path, GOOD, "b.yaml")
    with pytest.raises(RuleDefinitionError, match="b.yaml.*cable_untagged_test.*a.yaml"):
        load_rules(folder)


def test_province_overrides_are_checked(tmp_path):
    folder = write(tmp_path, GOOD, extra={"province_parameters.yaml": "cable_untagged_test: {max_spare: 3}\n"})
    with pytest.raises(RuleDefinitionError, match="province_parameters.yaml.*cable_untagged_test.*max_spare"):
        load_rules(folder)
    write(tmp_path, GOOD, extra={"province_parameters.yaml": "nope_rule: {max_spare_m: 3}\n"})
    with pytest.raises(RuleDefinitionError, match="nope_rule"):
        load_rules(folder)


def test_province_override_changes_the_threshold(tmp_path, rules_db):
    folder = tmp_path / "province_rules"
    shutil.copytree(rules_dir(), folder)
    (folder / "province_parameters.yaml").write_text("spare_cable_too_long:\n  max_spare_m: 15\n", encoding="utf-8")
    build = Builder(rules_db, communes(rules_db, 1)[0])
    _, att = build.pole(0, spare_cable_m=12.0)
    shipped = run_check(rules_db, rule_ids=["spare_cable_too_long"])
    assert shipped.found["spare_cable_too_long"] == 1
    province = run_check(rules_db, rules=load_rules(folder), rule_ids=["spare_cable_too_long"])
    assert province.found["spare_cable_too_long"] == 0 and province.changes.resolved == 1


def test_cli_refuses_a_broken_rules_folder(tmp_path, rules_db):
    folder = write(tmp_path, GOOD.replace("severity: violation", "severity: serious"))
    rules_db.close()
    out = subprocess.run([sys.executable, "-m", "hatang_desktop.cli", "check", str(rules_db.path),
                          "--rules", str(folder)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "mine.yaml" in out.stderr and "cable_untagged_test" in out.stderr
