"""The main window's menus and main toolbar, laid out from the window's actions."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QSizePolicy, QToolBar

from .search_box import SearchBox
from .strings import tr


class WindowMenus:
    """Mixed into MainWindow: the File, View, Tools and Help menus and the main toolbar."""

    def _make_menus(self) -> None:
        file_menu = self.menuBar().addMenu(tr("menu_file"))
        for act in (self.act_open, self.act_connect_server, self.act_reconnect, None, self.act_open_basemap,
                    self.act_download_basemap, self.act_close_basemap, self.act_add_reference, None, self.act_export,
                    self.act_print_map, self.act_findings_report, None, self.act_gis_import, self.act_gis_export, self.act_track_export, None,
                    self.act_xl_export, self.act_xl_package,
                    self.act_xl_import, self.act_xl_conflicts, None, self.act_sync, None, self.act_quit):
            file_menu.addSeparator() if act is None else file_menu.addAction(act)
        view_menu = self.menuBar().addMenu(tr("menu_view"))
        for act in (self.act_full, self.act_zoom_in, self.act_zoom_out, self.act_zoom_selection):
            view_menu.addAction(act)
        view_menu.addSeparator()
        view_menu.addAction(self.gps_map.act_follow)
        view_menu.addAction(self.gps_map.act_go_to)
        view_menu.addSeparator()
        view_menu.addAction(self.act_sites_to_verify)
        view_menu.addSeparator()
        for dock in (self.layer_panel, self.identify_panel, self.table_dock, self.gps_panel, self.dashboard,
                     self.findings_panel):
            view_menu.addAction(dock.toggleViewAction())
        tools_menu = self.menuBar().addMenu(tr("menu_tools"))
        for act in self.tool_actions.values():
            tools_menu.addAction(act)
        tools_menu.addSeparator()
        tools_menu.addAction(self.act_select_in_view)
        tools_menu.addAction(self.act_clear_selection)
        help_menu = self.menuBar().addMenu(tr("menu_help"))
        help_menu.addAction(self.act_about)

    def _make_toolbar(self) -> None:
        bar = QToolBar(tr("toolbar_main"), self)
        bar.setObjectName("main_toolbar")
        bar.setMovable(False)
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, bar)
        self.act_zoom_in.setIconText("+")
        self.act_zoom_out.setIconText("−")
        for act in (self.act_full, self.act_zoom_in, self.act_zoom_out, self.act_zoom_selection):
            bar.addAction(act)
        self.act_full.setIconText(tr("act_full_extent_short"))
        self.act_zoom_selection.setIconText(tr("act_zoom_selection_short"))
        bar.addAction(self.gps_map.act_follow)
        bar.addSeparator()
        for act in self.tool_actions.values():
            bar.addAction(act)
        bar.addSeparator()
        self.commune_combo = QComboBox()
        self.commune_combo.setToolTip(tr("commune_tip"))
        self.commune_combo.setMinimumContentsLength(16)
        self.commune_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.commune_combo.setPlaceholderText(tr("commune_placeholder"))
        self.commune_combo.activated.connect(self._commune_chosen)
        bar.addWidget(self.commune_combo)
        spacer = QLabel()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.search_box = SearchBox()
        bar.addWidget(self.search_box)
        self.toolbar = bar
