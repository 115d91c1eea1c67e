"""The plan-indicators dashboard on the hand-built province of tests/core/test_indicators.py."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QProgressBar

from hatang_desktop.core.geo.projection import lonlat_to_mercator
from hatang_desktop.ui.dashboard.dock import OVERLAY_KEY
from tests.core.test_indicators import A, B, V3, build_world


@pytest.fixture
def dashboard(window, tmp_path, qtbot):
    path = build_world(tmp_path / "world.db")
    window.load_database(path)
    dock = window.dashboard
    dock.show()
    dock.load(path, background=False)
    qtbot.waitUntil(lambda: dock.report is not None)
    return dock


def test_dashboard_is_in_the_view_menu(window):
    view = next(a.menu() for a in window.menuBar().actions() if a.menu() and a.text() == "&Xem")
    assert window.dashboard.toggleViewAction() in view.actions()


def test_targets_show_as_progress_bars(dashboard):
    bars = {b.property("indicator"): b for b in dashboard.targets_box.findChildren(QProgressBar)}
    # The Hà Tĩnh plan (529/KH-UBND): 380 5G sites and 66 in zones by the end of 2025.
    assert set(bars) == {"sites_5g", "sites_5g_in_zones"}
    assert bars["sites_5g"].property("status") == "not_met"
    assert bars["sites_5g"].value() == round(1000 * 3 / 380)
    assert "3 / chỉ tiêu 380" in bars["sites_5g"].format()
    other = {dashboard.other_table.item(i, 0).text(): dashboard.other_table.item(i, 1).text()
             for i in range(dashboard.other_table.rowCount())}
    assert other["Tỷ lệ dùng chung vị trí trạm BTS"] == "50,0 %"


def test_uncovered_villages_with_nearest_site_and_zoom(dashboard, qtbot):
    table = dashboard.uncovered_table
    assert table.rowCount() == 1
    assert table.item(0, 0).text() == "Thôn V3"
    assert table.item(0, 4).text().startswith("S1 ")
    assert table.item(0, 3).text() == "20,00"
    table.cellDoubleClicked.emit(0, 0)
    (x0, x1), (y0, y1) = dashboard.window_.canvas.view.viewRange()
    x, y = lonlat_to_mercator(V3[1], V3[0])
    assert x0 < x < x1 and y0 < y < y1 and x1 - x0 < 200_000


def test_a_commune_scope_and_the_coverage_layer(dashboard):
    dashboard.choose_commune(A)
    assert dashboard.report.commune_code == A
    assert "Thành Sen" in dashboard.status.text()
    assert dashboard.uncovered_table.rowCount() == 0  # A has no village
    dashboard.choose_commune(None)
    canvas = dashboard.window_.canvas
    assert canvas.overlay(OVERLAY_KEY) is None
    dashboard.coverage_check.setChecked(True)
    layer = canvas.overlay(OVERLAY_KEY)
    assert layer is not None and (layer.covered_count, layer.uncovered_count) == (2, 1)
    assert layer.circles["5G"].isVisible() and not layer.circles["4G"].isVisible()
    dashboard.circle_checks["4G"].setChecked(True)
    assert layer.circles["4G"].isVisible()
    dashboard.coverage_check.setChecked(False)
    assert canvas.overlay(OVERLAY_KEY) is None


def test_charts_by_commune_operator_and_technology(dashboard):
    dashboard.chart_combo.setCurrentIndex(dashboard.chart_combo.findData("operating_sites"))
    values = dashboard.commune_chart.values()
    assert len(values) == len(dashboard.commune_chart.labels) == 69 and values.sum() == 4
    assert list(values) == sorted(values)  # fewest first: the communes to push at the top
    assert list(dashboard.tech_chart.values()) == [0, 0, 2, 3]  # sites with 4G: S1, S2; with 5G: S2, S3, S4
    assert dashboard.tech_chart.labels == ["2G", "3G", "4G", "5G"]


def test_hidden_dock_computes_nothing_until_shown(window, tmp_path, qtbot):
    path = build_world(tmp_path / "w2.db")
    window.dashboard.hide()
    window.load_database(path)
    assert window.dashboard.report is None
    window.dashboard.show()
    qtbot.waitUntil(lambda: window.dashboard.report is not None, timeout=20_000)
    assert window.dashboard.scope_combo.count() == 70
    assert window.dashboard.scope_combo.itemText(0) == "Toàn tỉnh"


# --------------------------------------------------------------------------- department figures


def _figure_cell(tab, unit: str, key: str):
    from hatang_desktop.core.indicators.catalogue import FIGURE_KEYS
    from hatang_desktop.ui.dashboard.figures_tab import FIRST_FIGURE_COLUMN

    row = next(i for i in range(tab.table.rowCount()) if tab.table.item(i, 0).text() == unit)
    return tab.table.item(row, FIRST_FIGURE_COLUMN + FIGURE_KEYS.index(key))


def _stored(path, year):
    from hatang_desktop.core.indicators.figures import load_figures
    from hatang_desktop.core.storage.database import Database

    with Database.open(path, readonly=True) as db:
        return load_figures(db, year)


def test_department_figures_typed_saved_and_recomputed(dashboard, qtbot):
    tab = dashboard.figures_tab
    assert dashboard.tabs.tabText(dashboard.tabs.indexOf(tab)) == "Số liệu do Sở nhập"
    assert tab.table.rowCount() == 70  # the province, then its 69 communes
    assert (tab.table.item(0, 0).text(), tab.table.item(0, 1).text()) == ("42", "Tỉnh Hà Tĩnh")
    assert "/100 dân" in tab.table.horizontalHeaderItem(2).text()
    assert "Số thuê bao băng rộng di động/100 dân" in tab.table.horizontalHeaderItem(2).toolTip()
    year = dashboard.year_spin.value()
    assert tab.year == year and not tab.save_button.isEnabled()
    _figure_cell(tab, B, "mobile_bb_subs_per_100").setText("87,5")
    _figure_cell(tab, "42", "fixed_ispeed_mbps").setText("120")
    assert tab.save_button.isEnabled()
    dashboard.choose_commune(A)  # another scope keeps what is being typed
    assert _figure_cell(tab, B, "mobile_bb_subs_per_100").text() == "87,5"
    before = dashboard.dataset
    assert tab.save() == 2
    assert _stored(dashboard._path, year) == {B: {"mobile_bb_subs_per_100": 87.5}, "42": {"fixed_ispeed_mbps": 120.0}}
    assert "Đã lưu 2 số liệu" in tab.message.text()
    qtbot.waitUntil(lambda: dashboard.dataset is not before, timeout=20_000)
    dashboard.choose_commune(B)
    rows = {r.indicator: r.actual for r in dashboard.report.rows}
    assert rows["mobile_bb_subs_per_100"] == 87.5
    assert _figure_cell(tab, B, "mobile_bb_subs_per_100").text() == "87,5"  # refilled from the database
    # Emptying a cell removes the figure (tombstoned), in one more save.
    _figure_cell(tab, "42", "fixed_ispeed_mbps").setText("")
    assert tab.save() == 1
    assert _stored(dashboard._path, year) == {B: {"mobile_bb_subs_per_100": 87.5}}


def test_a_bad_figure_is_refused_and_nothing_is_saved(dashboard):
    tab = dashboard.figures_tab
    year = tab.year
    _figure_cell(tab, A, "fixed_bb_subs_per_100").setText("45")  # valid, but must not be saved alone
    bad = _figure_cell(tab, B, "mobile_bb_subs_per_100")
    bad.setText("350")
    assert bad.background().color().name() == "#f8c9c9" and "Xã Vũ Quang" in bad.toolTip()
    assert tab.save() is None
    message = tab.message.text()
    assert message.startswith("Chưa lưu gì") and "Xã Vũ Quang (18313)" in message
    assert "Số thuê bao băng rộng di động/100 dân" in message and "từ 0 đến 300" in message
    assert _stored(dashboard._path, year) == {}
    bad.setText("nhiều")
    assert tab.save() is None and "không phải là số" in tab.message.text()
    _figure_cell(tab, A, "mobile_ispeed_mbps").setText("0")  # a speed must be above 0
    bad.setText("")
    assert tab.save() is None and "lớn hơn 0" in tab.message.text()
    assert _stored(dashboard._path, year) == {}


def test_target_status_speaks_the_ui_language(dashboard):
    from hatang_desktop.ui import strings

    bar = next(b for b in dashboard.targets_box.findChildren(QProgressBar) if b.property("indicator") == "sites_5g")
    assert "Chưa đạt" in bar.format()
    strings.set_language("en")
    dashboard.refresh_report()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)  # the old bars go
    bar = next(b for b in dashboard.targets_box.findChildren(QProgressBar) if b.property("indicator") == "sites_5g")
    assert "not met" in bar.format() and "Chưa đạt" not in bar.format()


# --------------------------------------------------------------------------- at 1366x768 (issue 20)


def _laptop(window, qtbot):
    window.resize(1366, 768)
    qtbot.wait(50)


def _click_tab(tabs, index: int) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    bar = tabs.tabBar()
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, bar.tabRect(index).center())
    assert tabs.currentIndex() == index


def test_every_chart_whole_and_worst_first_at_1366x768(dashboard, window, qtbot):
    """69 communes, one readable row each, the lowest first; each chart a tab of its own, shown
    whole when its tab is clicked (none below the fold), none scrolling sideways."""
    import numpy as np

    _laptop(window, qtbot)
    _click_tab(dashboard.tabs, dashboard.tabs.indexOf(dashboard.charts))
    combo = dashboard.chart_combo
    from tests.ui.walk import choose

    choose(combo, "bts_sharing_rate")
    chart = dashboard.commune_chart
    values = chart.values()
    assert len(chart.labels) == 69
    finite = values[np.isfinite(values)]
    assert len(finite) and list(finite) == sorted(finite)  # worst first
    assert not np.isfinite(values[len(finite):]).any()  # communes without a value at the end
    assert chart.height() >= 69 * chart.row_height()  # every row its own height, the area scrolls
    views = dashboard.charts.views
    for i, shown in enumerate((dashboard.commune_chart, dashboard.operator_chart, dashboard.tech_chart)):
        _click_tab(views, i)
        qtbot.wait(20)
        area = shown.parentWidget().parentWidget()  # its scroll area's viewport, then the area
        assert shown.isVisible() and not shown.visibleRegion().isEmpty()
        assert not area.horizontalScrollBar().isVisible()
        assert shown.width() <= area.viewport().width()
        if shown is not dashboard.commune_chart:  # a handful of rows: whole, no scrolling
            assert shown.visibleRegion().boundingRect().height() == shown.height()
    operators = dashboard.operator_chart
    totals = sum(operators.values(k) for k in range(4))
    assert list(totals) == sorted(totals)


def test_tables_fit_the_dock_at_1366x768(dashboard, window, qtbot):
    """The uncovered villages, the other indicators, the department's figures: no sideways
    scroll bar; a long name is elided, whole in its tooltip."""
    _laptop(window, qtbot)
    tabs = dashboard.tabs
    for page, table in ((dashboard.targets_box, dashboard.other_table),
                        (None, dashboard.uncovered_table), (dashboard.figures_tab, dashboard.figures_tab.table)):
        index = next(i for i in range(tabs.count()) if tabs.widget(i).isAncestorOf(table))
        _click_tab(tabs, index)
        qtbot.wait(20)
        assert table.isVisible()
        assert not table.horizontalScrollBar().isVisible(), table
        header = table.horizontalHeader()
        assert header.length() <= table.viewport().width() + 1, (header.length(), table.viewport().width())
    row = dashboard.uncovered_table
    assert row.item(0, 0).toolTip() == row.item(0, 0).text() == "Thôn V3"
