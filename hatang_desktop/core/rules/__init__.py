"""Compliance rules as data (resources/rules/*.yaml), the engine that runs them over a whole
database, and the findings workflow (reconcile, confirm, resolve, dismiss, manual findings)."""

from .check import CheckResult, counts, list_findings, run_check, select_findings
from .definitions import MANUAL_RULE, SEVERITIES, Rule, RuleDefinitionError, RuleSet, load_rules
from .store import STATUSES, add_manual_finding, set_status, shown_record

__all__ = ["CheckResult", "counts", "list_findings", "run_check", "select_findings", "MANUAL_RULE", "SEVERITIES",
           "Rule", "RuleDefinitionError", "RuleSet", "load_rules", "STATUSES", "add_manual_finding", "set_status",
           "shown_record"]
