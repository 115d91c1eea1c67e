"""The dashboard dock: each indicator against its target for the province or a chosen commune."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDockWidget, QHBoxLayout,
                               QLabel, QProgressBar, QPushButton, QScrollArea, QSpinBox,
                               QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from hatang_desktop.core.cancel import checkpoint
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.indicators.catalogue import BY_KEY, TECHNOLOGIES
from hatang_desktop.core.indicators.coverage_model import load_coverage_model
from hatang_desktop.core.indicators.data import Dataset, connect_readonly, load_dataset
from hatang_desktop.core.indicators.evaluate import (MET, NOT_MET, STATUS_LABELS, Evaluator,
                                                     IndicatorReport, default_year, report_from_dataset)
from hatang_desktop.core.indicators.plans import load_plans
from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.core.map_data import Extent
from hatang_desktop.core.operators import OPERATORS

from ..jobs import Job, start_job
from ..strings import format_int, format_number, language, message_text, tr
from .coverage_layer import CoverageLayer
from ..loader import as_target
from .charts import BAR_COLOUR, ChartsTab, worst_first
from .figures_tab import FiguresTab
from .tables import fit_columns, two_line_headers

OVERLAY_KEY = "indicators_coverage"
STATUS_COLOURS = {MET: "#1a9850", NOT_MET: "#d73027"}
TECH_COLOURS = ("#999999", "#66a61e", "#2166ac", "#762a83")
CHART_KEYS = ("village_mobile_broadband_rate", "village_ftth_rate", "bts_sharing_rate", "shared_poles_rate",
              "fibre_underground_rate", "operating_sites", "sites_5g")


def _compute(path: Path | str, cancel) -> tuple[Dataset, Evaluator]:
    """Read the database and make the spatial joins off the GUI thread; a newer load cancels it."""
    from hatang_desktop.core.storage.targets import is_server_url, open_database

    if is_server_url(str(path)):  # its own read-only connection, as a file gets its own
        with open_database(str(path), readonly=True) as db, db.session() as s:
            ds = load_dataset(s)
    else:
        conn = connect_readonly(path)
        try:
            ds = load_dataset(conn)
        finally:
            conn.close()
    checkpoint(cancel)
    ev = Evaluator(ds, load_coverage_model())
    ev.results(_base_params())  # the spatial joins, here rather than on the GUI thread
    return ds, ev


def _base_params():
    from hatang_desktop.core.indicators.params import Params
    return Params()


def _label(key: str) -> str:
    ind = BY_KEY[key]
    return ind.label_vi if language() == "vi" else ind.label_en


def _fmt(unit: str, v: float | None) -> str:
    if v is None:
        return "—"
    if unit == "count":
        return format_int(int(round(v)))
    suffix = {"%": " %", "per_100": "/100", "Mbps": " Mbps", "km": " km"}[unit]
    return format_number(v, 1) + suffix


class IndicatorDashboard(QDockWidget):
    report_ready = Signal(object)  # the IndicatorReport shown

    def __init__(self, window) -> None:
        super().__init__(tr("dash_title"), window)
        self.setObjectName("indicator_dashboard")
        self.window_ = window
        self.dataset: Dataset | None = None
        self.evaluator: Evaluator | None = None
        self.report: IndicatorReport | None = None
        self.layer: CoverageLayer | None = None
        self.plans = load_plans()
        self._job_id = 0
        self._job: Job | None = None
        self._path: Path | None = None
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        self.scope_combo = QComboBox()
        self.scope_combo.setMinimumContentsLength(14)
        self.scope_combo.activated.connect(lambda _i: self.refresh_report())
        self.year_spin = QSpinBox()
        self.year_spin.setRange(2020, 2035)
        self.year_spin.setValue(dt.date.today().year)
        self.year_spin.valueChanged.connect(lambda _v: self.refresh_report())
        self.refresh_button = QPushButton(tr("dash_refresh"))
        self.refresh_button.setToolTip(tr("dash_refresh_tip"))
        self.refresh_button.clicked.connect(self.reload)
        top.addWidget(QLabel(tr("dash_scope")))
        top.addWidget(self.scope_combo, 1)
        top.addWidget(QLabel(tr("dash_year")))
        top.addWidget(self.year_spin)
        top.addWidget(self.refresh_button)
        layout.addLayout(top)
        layer_row = QHBoxLayout()
        self.coverage_check = QCheckBox(tr("dash_coverage_layer"))
        self.coverage_check.setToolTip(tr("dash_coverage_tip"))
        self.coverage_check.toggled.connect(self.set_coverage_visible)
        self.circle_checks = {}
        layer_row.addWidget(self.coverage_check)
        for tech in ("4G", "5G"):
            box = QCheckBox(tr(f"dash_circles_{tech.lower()}"))
            box.setChecked(tech == "5G")
            box.toggled.connect(lambda on, t=tech: self.layer and self.layer.set_circles_visible(t, on))
            self.circle_checks[tech] = box
            layer_row.addWidget(box)
        layer_row.addStretch(1)
        layout.addLayout(layer_row)
        self.status = QLabel(tr("dash_no_database"))
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        self._make_targets_tab()
        self._make_charts_tab()
        self._make_uncovered_tab()
        self.figures_tab = FiguresTab(self)
        self.figures_tab.saved.connect(lambda n: n and self.reload())  # the indicators use the new figures
        self.tabs.addTab(self.figures_tab, tr("dash_tab_figures"))
        self._figures_shown: tuple | None = None
        self.setWidget(body)
        self.setMinimumWidth(420)
        self._loaded_path: Path | None = None
        if hasattr(window, "database_opened"):
            window.database_opened.connect(self._database_opened)
        self.visibilityChanged.connect(lambda shown: shown and self._catch_up())

    def _database_opened(self, path: str) -> None:
        # Computed only while the dock is shown: a national database takes seconds of CPU.
        self._path = as_target(path)
        self.dataset = self.report = None
        self.set_coverage_visible(False)
        self._catch_up()

    def _catch_up(self) -> None:
        if self.isVisible() and self._path is not None and self._path != self._loaded_path:
            self.load(self._path)

    # -- construction ------------------------------------------------------------------------

    def _make_targets_tab(self) -> None:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.targets_box = QWidget()
        self.targets_layout = QVBoxLayout(self.targets_box)
        self.targets_layout.setAlignment(Qt.AlignmentFlag.AlignTop)
        scroll.setWidget(self.targets_box)
        self.tabs.addTab(scroll, tr("dash_tab_targets"))

    def _make_charts_tab(self) -> None:
        self.charts = ChartsTab(CHART_KEYS, _label)
        self.chart_combo = self.charts.chart_combo
        self.chart_combo.currentIndexChanged.connect(lambda _i: self._fill_commune_chart())
        self.commune_chart, self.operator_chart, self.tech_chart = (
            self.charts.commune_chart, self.charts.operator_chart, self.charts.tech_chart)
        self.tabs.addTab(self.charts, tr("dash_tab_charts"))

    def _make_uncovered_tab(self) -> None:
        page = QWidget()
        v = QVBoxLayout(page)
        self.uncovered_hint = QLabel()
        self.uncovered_hint.setWordWrap(True)
        v.addWidget(self.uncovered_hint)
        self.uncovered_table = QTableWidget(0, 5)
        two_line_headers(self.uncovered_table, [tr(k) for k in (
            "dash_col_village", "dash_col_commune", "dash_col_population", "dash_col_distance", "dash_col_nearest")])
        self.uncovered_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.uncovered_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.uncovered_table.verticalHeader().hide()
        fit_columns(self.uncovered_table, stretch=(0, 1, 4))
        self.uncovered_table.cellDoubleClicked.connect(lambda row, _col: self.zoom_to_village(row))
        v.addWidget(self.uncovered_table, 1)
        self.tabs.addTab(page, tr("dash_tab_uncovered"))

    # -- loading -----------------------------------------------------------------------------

    def load(self, path, *, background: bool = True) -> None:
        """Compute the indicators of the database at `path` (read-only), off the GUI thread."""
        self._path = self._loaded_path = as_target(path)
        self._job_id += 1
        self.status.setText(tr("dash_computing"))
        if self._job is not None:
            self._job.cancel()   # its result would be dropped anyway: stop its work
        job_id, path = self._job_id, self._path

        def done(result) -> None:
            self._loaded(job_id, *result)

        def failed(exc) -> None:
            self._failed(job_id, message_text(exc) if isinstance(exc, HatangError) else f"{path}: {exc}")

        work = lambda _progress, cancel: _compute(path, cancel)  # noqa: E731
        if background:
            self._job = start_job(work, done, failed, fault_path=path)
        else:
            self._job = Job(work, path)
            self._job.signals.done.connect(done)
            self._job.signals.failed.connect(failed)
            self._job.run()

    def reload(self) -> None:
        if self._path is not None:
            self.load(self._path)

    def _failed(self, job_id: int, message: str) -> None:
        if job_id == self._job_id:
            self.status.setText(tr("dash_error", detail=message))

    def _loaded(self, job_id: int, ds: Dataset, ev: Evaluator) -> None:
        if job_id != self._job_id:
            return
        self.dataset, self.evaluator = ds, ev
        self.scope_combo.blockSignals(True)
        self.scope_combo.clear()
        self.scope_combo.addItem(tr("dash_province"), None)
        for code, name in zip(ds.communes.code, ds.communes.name):
            self.scope_combo.addItem(f"{name} ({code})", str(code))
        self.scope_combo.blockSignals(False)
        provinces = set(ds.provinces) | {ds.province_code}
        self.year_spin.blockSignals(True)
        self.year_spin.setValue(default_year([p for p in self.plans if p.province in provinces]))
        self.year_spin.blockSignals(False)
        self.refresh_report()

    def choose_commune(self, code: str | None) -> None:
        index = self.scope_combo.findData(code)
        if index >= 0:
            self.scope_combo.setCurrentIndex(index)
            self.refresh_report()

    def refresh_report(self) -> None:
        if self.dataset is None:
            return
        commune = self.scope_combo.currentData()
        try:
            report = report_from_dataset(self.dataset, str(self._path), commune=commune, year=self.year_spin.value(),
                                         plans=self.plans, evaluator=self.evaluator)
            if commune is not None:
                report.communes = report_from_dataset(self.dataset, str(self._path), year=report.year,
                                                      plans=self.plans, evaluator=self.evaluator).communes
        except HatangError as exc:
            self.status.setText(tr("dash_error", detail=message_text(exc)))
            return
        self.report = report
        where = report.commune_name or report.province_name
        self.status.setText(f"<b>{where}</b> — {tr('dash_year')} {report.year}")
        self._fill_targets()
        self._fill_commune_chart()
        self._fill_operator_charts()
        self._fill_uncovered()
        self._fill_figures()
        if self.coverage_check.isChecked():
            self.set_coverage_visible(True)
        self.report_ready.emit(report)

    # -- filling -----------------------------------------------------------------------------

    def _clear_targets(self) -> None:
        while self.targets_layout.count():
            item = self.targets_layout.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()

    def _fill_targets(self) -> None:
        self._clear_targets()
        rows = self.report.rows
        targeted = [r for r in rows if r.target is not None]
        if not targeted:
            self.targets_layout.addWidget(QLabel(tr("dash_no_targets")))
        last_doc = None
        for r in targeted:
            if r.document != last_doc:
                head = QLabel(f"<b>{r.document}</b><br><i>{r.scope}</i>")
                head.setWordWrap(True)
                self.targets_layout.addWidget(head)
                last_doc = r.document
            label = QLabel(_label(r.indicator))
            label.setWordWrap(True)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            ratio = 0.0 if not r.actual or not r.target else min(r.actual / r.target, 1.0)
            bar.setValue(int(round(ratio * 1000)))
            status = STATUS_LABELS[r.status][0 if language() == "vi" else 1]
            bar.setFormat(tr("dash_target_line", actual=_fmt(r.unit, r.actual), target=_fmt(r.unit, r.target),
                             status=status))
            colour = STATUS_COLOURS.get(r.status, "#999999")
            bar.setStyleSheet(f"QProgressBar {{ text-align: center; }} QProgressBar::chunk {{ background: {colour}; }}")
            bar.setToolTip(r.wording or "")
            bar.setProperty("indicator", r.indicator)
            bar.setProperty("status", r.status)
            self.targets_layout.addWidget(label)
            self.targets_layout.addWidget(bar)
        others = QTableWidget(0, 2)
        others.setHorizontalHeaderLabels([tr("dash_col_indicator"), tr("dash_col_value")])
        others.verticalHeader().hide()
        others.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        shown = [r for r in rows if r.target is None and not r.plan]
        others.setRowCount(len(shown))
        for i, r in enumerate(shown):
            others.setItem(i, 0, QTableWidgetItem(_label(r.indicator)))
            item = QTableWidgetItem(_fmt(r.unit, r.actual))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            others.setItem(i, 1, item)
        fit_columns(others, stretch=(0,))
        others.setMinimumHeight(min(30 * (len(shown) + 1), 420))
        self.targets_layout.addWidget(QLabel(f"<b>{tr('dash_other')}</b>"))
        self.targets_layout.addWidget(others)
        self.other_table = others

    def _fill_commune_chart(self) -> None:
        if self.report is None:
            return
        key = self.chart_combo.currentData()
        unit = BY_KEY[key].unit
        communes = self.report.communes
        values = np.array([np.nan if c.get(key) is None else c[key] for c in communes], dtype=float)
        order = worst_first(values)  # the communes the department must push at the top
        labels = [communes[i]["name"] for i in order]
        self.commune_chart.set_bars(labels, [(values[order], BAR_COLOUR)],
                                    lambda v: _fmt(unit, v if np.isfinite(v) else None),
                                    top=100.0 if unit == "%" else None)  # a rate's bar against the whole

    def _fill_operator_charts(self) -> None:
        by = self.report.sites_by_operator_technology
        names = {op.code: op.brand for op in OPERATORS}
        ops = list(by)
        totals = np.array([sum(by[o][t] for t in TECHNOLOGIES) for o in ops], dtype=float)
        ops = [ops[i] for i in worst_first(totals)]  # as the communes: fewest sites first
        series = [(np.array([by[o][t] for o in ops]), TECH_COLOURS[k]) for k, t in enumerate(TECHNOLOGIES)]
        self.operator_chart.set_bars([names.get(o, o) for o in ops], series, lambda v: format_int(int(v)))
        totals = np.array([self.report.sites_by_technology.get(t, 0) for t in TECHNOLOGIES])
        # 2G to 5G in their own order: four generations read better so than sorted.
        self.tech_chart.set_bars(list(TECHNOLOGIES), [(totals, BAR_COLOUR)], lambda v: format_int(int(v)))
        legend = "  ".join(f"<span style='color:{c}'>■</span> {t}" for t, c in zip(TECHNOLOGIES, TECH_COLOURS))
        self.charts.operator_legend.setText(f"{tr('dash_chart_operator')}  {legend}")

    def _fill_figures(self) -> None:
        """Refill the department's figures only when the data or the year changed: choosing another
        commune in the scope box must not drop what is being typed."""
        ds, year = self.dataset, self.year_spin.value()
        if self._figures_shown == (id(ds), year):
            return
        self._figures_shown = (id(ds), year)
        provinces = dict(ds.provinces) if ds.provinces else {}
        if ds.province_code and ds.province_code != "VN":
            provinces.setdefault(ds.province_code, ds.province_name)
        units = [(str(c), str(n)) for c, n in sorted(provinces.items()) if c and c != "VN"]
        units += [(str(c), str(n)) for c, n in zip(ds.communes.code, ds.communes.name)]
        self.figures_tab.fill(units, ds.figures, year)

    def uncovered_villages(self) -> list[dict]:
        """Villages without mobile broadband in the scope, most populous first."""
        res = self.report.results
        ds, cov = res.dataset, res.villages
        mask = cov.in_scope & ~cov.mobile
        code = self.report.commune_code
        if code is not None:
            mask &= np.append(ds.communes.code == code, False)[ds.villages.commune]
        idx = np.flatnonzero(mask)
        pop = np.nan_to_num(ds.villages.population[idx], nan=-1)
        idx = idx[np.argsort(-pop, kind="stable")]
        names = np.append(ds.communes.name, "")
        out = []
        for i in idx:
            site = int(cov.nearest_site[i])
            out.append({"uuid": ds.villages.uuid[i], "name": ds.villages.name[i],
                        "commune": names[ds.villages.commune[i]],
                        "population": None if not np.isfinite(ds.villages.population[i]) else
                        int(ds.villages.population[i]),
                        "nearest": None if site < 0 else f"{ds.sites.code[site]} ({ds.sites.operator[site]})",
                        "distance_km": None if site < 0 else float(cov.nearest_m[i]) / 1000.0,
                        "lat": float(ds.villages.lat[i]), "lon": float(ds.villages.lon[i])})
        return out

    def _fill_uncovered(self) -> None:
        rows = self.uncovered_villages()
        self._uncovered = rows
        self.uncovered_hint.setText(tr("dash_uncovered_hint", n=format_int(len(rows))))
        t = self.uncovered_table
        t.setSortingEnabled(False)
        t.setRowCount(len(rows))
        for i, r in enumerate(rows):
            cells = (r["name"], r["commune"], "" if r["population"] is None else format_int(r["population"]),
                     "—" if r["distance_km"] is None else format_number(r["distance_km"], 2), r["nearest"] or "—")
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setToolTip(text)  # a name the column elides
                if j in (2, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(i, j, item)

    # -- map -----------------------------------------------------------------------------------

    def zoom_to_village(self, row: int) -> None:
        if not 0 <= row < len(getattr(self, "_uncovered", [])):
            return
        r = self._uncovered[row]
        x, y = lonlat_to_mercator(r["lon"], r["lat"])
        half = max(1500.0, (r["distance_km"] or 1.0) * 1000.0 * 1.2)  # the village and its nearest site
        canvas = self.window_.canvas
        canvas.zoom_to(Extent(float(x) - half, float(y) - half, float(x) + half, float(y) + half), padding=0.02)

    def set_coverage_visible(self, visible: bool) -> None:
        canvas = getattr(self.window_, "canvas", None)
        if canvas is None:
            return
        canvas.remove_overlay(OVERLAY_KEY)
        self.layer = None
        if visible and self.report is not None:
            self.layer = CoverageLayer(self.report.results)
            for tech, box in self.circle_checks.items():
                self.layer.set_circles_visible(tech, box.isChecked())
            canvas.add_overlay(OVERLAY_KEY, self.layer, z=15)
