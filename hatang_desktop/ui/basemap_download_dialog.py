"""Tệp > Tải bản đồ nền…: a basemap for the commune, the province or the view, downloaded into an
MBTiles file for offline use (core/basemap, the same job as `hatang basemap download`).

What the download will cost (tiles, megabytes) is shown and kept up to date before anything is
asked of the server; the job runs on ui/jobs.py with a progress bar and Hủy. A stopped download
keeps its `.part` file and the button becomes "Tiếp tục"; a refusal by the source or a network
failure is the core's message in the dialog. Once written, the file becomes the map's basemap
through the window's own open_basemap (remembered for the next session like one opened by hand).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout, QLabel,
                               QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout, QWidget)

from hatang_desktop.core.basemap.areas import Area
from hatang_desktop.core.basemap.download import part_path
from hatang_desktop.core.basemap.sources import TileSource, resolve_source
from hatang_desktop.core.basemap.tiles import MAX_TILES, MAX_ZOOM, estimate, size_text
from hatang_desktop.core.errors import HatangError

from . import file_dialogs
from .jobs import Job, press_cancel, start_job
from .loader import sibling_file
from .settings import app_settings
from .strings import format_int, language, message_text, tr

# Zoom levels proposed per area: a commune down to house level (17: ~1 m per pixel), a province
# to its roads and villages only (at 17 it would be hundreds of thousands of tiles).
DEFAULT_ZOOMS = {"commune": (10, 17), "province": (10, 14), "view": (10, 17)}
# Above this the estimate is shown as a warning: about 750 MB of typical tiles, an hour or more
# of a tile server's patience.
LARGE_TILES = 50_000
URL_CHOICE = "__url__"
SOURCE_URL = "basemap/source_url"  # the department's address, asked once
SOURCE_ATTRIBUTION = "basemap/source_attribution"
WARN_STYLE, ERROR_STYLE = "color: #8a5a00", "color: #b00020"


class BasemapDownloadDialog(QDialog):
    downloaded = Signal(str)  # the MBTiles file's path, once it is complete

    def __init__(self, target: str, areas: list[tuple[str, Area]], presets: list[TileSource],
                 default_area: str | None = None, parent: QWidget | None = None, presets_error: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("bmdl_title"))
        self.target = target
        self._job: Job | None = None
        self._ready = False  # the choices make a download (a source, a range within the limit)
        self._areas = dict(areas)
        self._presets = {p.name: p for p in presets}
        self._default_path = ""
        self.area = QComboBox()
        for kind, area in areas:
            self.area.addItem(tr(f"bmdl_area_{kind}", name=area.label), kind)
        self.zmin, self.zmax = QSpinBox(), QSpinBox()
        for spin in (self.zmin, self.zmax):
            spin.setRange(0, MAX_ZOOM)
            # A number being typed ("1" on the way to "16") is not a choice yet: the estimate and
            # the other end follow once it is entered (Tab, Enter, the arrows).
            spin.setKeyboardTracking(False)
        zooms = QWidget()
        zoom_row = QHBoxLayout(zooms)
        zoom_row.setContentsMargins(0, 0, 0, 0)
        zoom_row.addWidget(self.zmin)
        zoom_row.addWidget(QLabel("–"))
        zoom_row.addWidget(self.zmax)
        zoom_row.addWidget(QLabel(tr("bmdl_zoom_hint")), 1)
        self.source = QComboBox()
        for preset in presets:
            self.source.addItem(preset.title or preset.name, preset.name)
        self.source.addItem(tr("bmdl_source_url"), URL_CHOICE)
        settings = app_settings()
        self.url = QLineEdit(str(settings.value(SOURCE_URL, "") or ""))
        self.url.setPlaceholderText("https://…/{z}/{x}/{y}.png")
        self.attribution = QLineEdit(str(settings.value(SOURCE_ATTRIBUTION, "") or ""))
        self.attribution.setPlaceholderText(tr("bmdl_attribution_hint"))
        self.estimate_label = QLabel()
        self.estimate_label.setWordWrap(True)
        self.path = QLineEdit()
        self.browse = browse = QPushButton(tr("bmdl_browse"))
        browse.clicked.connect(self.choose_file)
        row = QWidget()
        row_layout = QHBoxLayout(row)
        row_layout.setContentsMargins(0, 0, 0, 0)
        row_layout.addWidget(self.path, 1)
        row_layout.addWidget(browse)
        self.form = QFormLayout()
        self.form.addRow(tr("bmdl_area"), self.area)
        self.form.addRow(tr("bmdl_zoom"), zooms)
        self.form.addRow(tr("bmdl_source"), self.source)
        self.form.addRow(tr("bmdl_url"), self.url)
        self.form.addRow(tr("bmdl_attribution"), self.attribution)
        self.form.addRow(tr("bmdl_estimate_label"), self.estimate_label)
        self.form.addRow(tr("bmdl_file"), row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 100)
        self.bar.hide()
        self.message = QLabel(presets_error)
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.download_button = self.buttons.addButton(tr("bmdl_download"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button = self.buttons.addButton(tr("job_cancel"), QDialogButtonBox.ButtonRole.ActionRole)
        self.cancel_button.setEnabled(False)
        self.download_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: press_cancel(self._job, self.cancel_button, self.message))
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.bar)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(600)
        self.area.currentIndexChanged.connect(self._area_changed)
        for spin in (self.zmin, self.zmax):
            spin.valueChanged.connect(self._zoom_changed)
        self.source.currentIndexChanged.connect(self._source_changed)
        for edit in (self.url, self.attribution):
            edit.textChanged.connect(self.update_estimate)
        self.path.textChanged.connect(self._update_button)
        index = self.area.findData(default_area) if default_area else -1
        self.area.setCurrentIndex(max(0, index))
        self._area_changed()
        self._source_changed()

    # -- the choices -------------------------------------------------------------------------

    def chosen_area(self) -> Area:
        return self._areas[self.area.currentData()]

    def _area_changed(self, *_args) -> None:
        kind = self.area.currentData()
        zmin, zmax = DEFAULT_ZOOMS.get(kind, DEFAULT_ZOOMS["view"])
        for spin, value in ((self.zmin, zmin), (self.zmax, zmax)):
            spin.blockSignals(True)
            spin.setValue(value)
            spin.blockSignals(False)
        # The proposed file follows the area until the user types or picks a name of their own.
        if not self.path.text() or self.path.text() == self._default_path:
            self._default_path = sibling_file(self.target, f"ban_do_nen_{self._file_stem(kind)}.mbtiles")
            self.path.setText(self._default_path)
        self.update_estimate()

    def _file_stem(self, kind: str) -> str:
        label = self._areas[kind].label
        code = label.rsplit("(", 1)[-1].rstrip(")") if label.endswith(")") else ""
        return f"{kind}_{code}" if code.isdigit() else kind

    def _zoom_changed(self, *_args) -> None:
        if self.zmin.value() > self.zmax.value():  # the other end follows: never an empty range
            other = self.zmax if self.sender() is self.zmin else self.zmin
            other.blockSignals(True)
            other.setValue((self.zmin if other is self.zmax else self.zmax).value())
            other.blockSignals(False)
        self.update_estimate()

    def _source_changed(self, *_args) -> None:
        by_url = self.source.currentData() == URL_CHOICE
        for widget in (self.url, self.attribution):
            widget.setEnabled(by_url)
            self.form.labelForField(widget).setEnabled(by_url)
        self.update_estimate()

    def tile_source(self) -> TileSource:
        """The source chosen; raises InvalidInputError for an address that is not a tile template."""
        key = self.source.currentData()
        if key != URL_CHOICE:
            return self._presets[key]
        return resolve_source(self.url.text().strip(), attribution=self.attribution.text().strip() or None)

    # -- the estimate --------------------------------------------------------------------------

    def update_estimate(self, *_args) -> None:
        """Tiles and megabytes for the choices now shown; the Download button only when they make sense."""
        self._ready = False
        try:
            source = self.tile_source()
        except HatangError as exc:
            self._show_estimate(tr("bmdl_need_url") if not self.url.text().strip() else message_text(exc), ERROR_STYLE)
            return
        zmin, zmax = self.zmin.value(), self.zmax.value()
        if zmax > source.maxzoom or zmin < source.minzoom:
            self._show_estimate(tr("bmdl_zoom_out_of_source", zmin=source.minzoom, zmax=source.maxzoom), ERROR_STYLE)
            return
        est = estimate(self.chosen_area().bbox, zmin, zmax, source.typical_tile_bytes)
        text = tr("bmdl_estimate", tiles=format_int(est.tiles), size=size_text(est.bytes, language()))
        if est.tiles > MAX_TILES:
            self._show_estimate(text + "\n" + tr("bmdl_too_large", limit=format_int(MAX_TILES)), ERROR_STYLE)
            return
        self._ready = True
        if est.tiles > LARGE_TILES:
            self._show_estimate(text + "\n" + tr("bmdl_large"), WARN_STYLE)
        else:
            self._show_estimate(text, "")

    def _show_estimate(self, text: str, style: str) -> None:
        self.estimate_label.setText(text)
        self.estimate_label.setStyleSheet(style)
        self._update_button()
        if self.layout() is not None:
            self._fit_height()

    def output(self) -> Path | None:
        """The file to write, ".mbtiles" added; None while the field names no file (being typed)."""
        text = self.path.text().strip()
        out = Path(text)
        if not text or not out.name or text.endswith(("/", "\\")):
            return None
        return out if out.suffix.lower() == ".mbtiles" else out.with_name(out.name + ".mbtiles")

    def _update_button(self, *_args) -> None:
        """Tải, Tiếp tục (a stopped download's .part is there) or Cập nhật (the file exists)."""
        running = self._job is not None
        out = self.output()
        if running:  # the part file being written is this run's: the label stays what was pressed
            self.download_button.setEnabled(False)
            return
        key = "bmdl_download"
        if out is not None and part_path(out).exists():
            key = "bmdl_resume"
        elif out is not None and out.exists():
            key = "bmdl_refresh"
        self.download_button.setText(tr(key))
        self.download_button.setEnabled(out is not None and self._ready and not running)

    def choose_file(self) -> None:
        path, _ = file_dialogs.save_file_name(self, tr("bmdl_title"), self.path.text(), tr("basemap_filter"))
        if path:
            self.path.setText(path if Path(path).suffix else path + ".mbtiles")

    # -- the job -------------------------------------------------------------------------------

    def start(self) -> None:
        from hatang_desktop.core.basemap.download import download_basemap

        try:
            source = self.tile_source()
        except HatangError as exc:
            self._say(message_text(exc), ERROR_STYLE)
            return
        out = self.output()
        if out is None:
            return
        self.path.setText(str(out))
        area, zmin, zmax = self.chosen_area(), self.zmin.value(), self.zmax.value()
        refresh = out.exists() and not part_path(out).exists()
        if self.source.currentData() == URL_CHOICE:
            settings = app_settings()
            settings.setValue(SOURCE_URL, self.url.text().strip())
            settings.setValue(SOURCE_ATTRIBUTION, self.attribution.text().strip())

        def work(progress, cancelled):
            return download_basemap(out, source, area.bbox, zmin, zmax, name=area.label, refresh=refresh,
                                    cancel=cancelled, progress=progress)

        self.bar.setValue(0)
        self.bar.show()
        self._say(tr("bmdl_working", path=str(out)), "")
        self._job = start_job(work, self._done, self._failed, self.bar, self._cancelled, fault_path=out)
        self.cancel_button.setEnabled(True)
        self._set_inputs_enabled(False)
        self._update_button()

    def _set_inputs_enabled(self, on: bool) -> None:
        for widget in (self.area, self.zmin, self.zmax, self.source, self.path, self.browse):
            widget.setEnabled(on)
        if on:
            self._source_changed()
        else:
            self.url.setEnabled(False)
            self.attribution.setEnabled(False)

    def _finished(self) -> None:
        self._job = None
        self.bar.hide()
        self.cancel_button.setEnabled(False)
        self._set_inputs_enabled(True)
        self._update_button()

    def _done(self, result) -> None:
        self._finished()
        fetched = result.fetched + result.already + result.not_modified + result.fresh
        self._say(tr("bmdl_done", tiles=format_int(fetched), size=size_text(result.path.stat().st_size, language()),
                     path=str(result.path)), "")
        self.downloaded.emit(str(result.path))

    def _cancelled(self) -> None:
        self._finished()
        out = self.output()
        kept = out is not None and part_path(out).exists()
        self._say(tr("bmdl_cancelled_kept") if kept else tr("job_cancelled"), WARN_STYLE)

    def _failed(self, exc) -> None:
        self._finished()
        text, out = message_text(exc), self.output()
        if out is not None and part_path(out).exists():
            text += "\n" + tr("bmdl_can_resume")
        self._say(text, ERROR_STYLE)

    def _say(self, text: str, style: str) -> None:
        self.message.setText(text)
        self.message.setStyleSheet(style)
        self._fit_height()

    def _fit_height(self) -> None:
        # A wrapped message or estimate of two or three lines must show whole: the dialog grows.
        layout = self.layout()
        layout.activate()
        needed = layout.totalHeightForWidth(self.width()) if layout.hasHeightForWidth() else layout.sizeHint().height()
        if needed > self.height():
            self.resize(self.width(), needed)

    def done(self, result: int) -> None:
        # Closing the dialog stops the download (its part file stays for "Tiếp tục" next time).
        if self._job is not None:
            self._job.cancel()
        super().done(result)


__all__ = ["BasemapDownloadDialog", "DEFAULT_ZOOMS", "LARGE_TILES"]
