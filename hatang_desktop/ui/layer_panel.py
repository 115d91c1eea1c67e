"""The layer dock: one checkable row per layer, its legend as child rows with swatches."""

from __future__ import annotations

from pyqtgraph.graphicsItems.ScatterPlotItem import drawSymbol
from PySide6.QtCore import QPointF, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QDockWidget, QFrame, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from .filter_box import FilterBox
from .settings import LAYER_LABELS, remember_layer_visibility, remembered_layer_visibility
from .map.layers import LegendEntry, MapLayer
from .strings import format_int, tr

SWATCH = 18
LABELS_ROLE = Qt.ItemDataRole.UserRole + 1  # on a layer's "Nhãn" row: the layer's key


def swatch_icon(entry: LegendEntry) -> QIcon:
    pixmap = QPixmap(SWATCH, SWATCH)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    if entry.kind == "line":
        painter.setPen(entry.pen)
        painter.drawLine(QPointF(1, SWATCH / 2), QPointF(SWATCH - 1, SWATCH / 2))
    elif entry.kind == "fill":
        painter.setPen(entry.pen)
        painter.setBrush(entry.brush)
        painter.drawRect(2, 3, SWATCH - 4, SWATCH - 6)
    else:
        painter.translate(SWATCH / 2, SWATCH / 2)
        drawSymbol(painter, entry.symbol, SWATCH - 6, entry.pen or Qt.PenStyle.NoPen, entry.brush)
    painter.end()
    return QIcon(pixmap)


class LayerPanel(QDockWidget):
    visibility_changed = Signal(str, bool)  # layer key, visible
    labels_changed = Signal(str, bool)  # layer key, labels shown
    rows_rebuilt = Signal()  # set_layers cleared the tree: rows others add (reference layers) go back

    def __init__(self, parent=None) -> None:
        super().__init__(tr("dock_layers"), parent)
        self.setObjectName("layer_panel")
        self.tree = QTreeWidget()
        self.tree.setHeaderHidden(True)
        self.tree.setIconSize(QSize(SWATCH, SWATCH))
        self.tree.setIndentation(14)
        self.tree.setRootIsDecorated(True)
        self.tree.itemChanged.connect(self._item_changed)
        self.tree.setFrameShape(QFrame.Shape.NoFrame)
        self.filter_box = FilterBox()
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.filter_box)
        line = QFrame()
        line.setFrameShape(QFrame.Shape.HLine)
        line.setStyleSheet("color: #d0d0d0")
        layout.addWidget(line)
        layout.addWidget(self.tree, 1)
        self.setWidget(body)
        self._rows: dict[str, QTreeWidgetItem] = {}
        self.label_rows: dict[str, QTreeWidgetItem] = {}

    def set_layers(self, layers: list[MapLayer]) -> None:
        """Rebuild the rows (a new database can bring other operators and so other legend rows).
        A layer the user switched on or off in an earlier run is switched so again."""
        for key, visible in remembered_layer_visibility([layer.key for layer in layers]).items():
            layer = next(layer for layer in layers if layer.key == key)
            if layer.visible != visible:
                layer.set_visible(visible)
        labelled = [layer for layer in layers if layer.label_field]
        for key, shown in remembered_layer_visibility([layer.key for layer in labelled], LAYER_LABELS).items():
            next(layer for layer in labelled if layer.key == key).labels_visible = shown
            self.labels_changed.emit(key, shown)
        self.tree.blockSignals(True)
        self.tree.clear()
        self._rows = {}
        self.label_rows = {}
        for layer in layers:
            row = QTreeWidgetItem([self._row_text(layer)])
            row.setData(0, Qt.ItemDataRole.UserRole, layer.key)
            row.setFlags(row.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            row.setCheckState(0, Qt.CheckState.Checked if layer.visible else Qt.CheckState.Unchecked)
            font = row.font(0)
            font.setBold(True)
            row.setFont(0, font)
            if layer.label_field:
                labels = QTreeWidgetItem([tr("layer_labels")])
                labels.setData(0, LABELS_ROLE, layer.key)
                labels.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                labels.setCheckState(0, Qt.CheckState.Checked if layer.labels_visible else Qt.CheckState.Unchecked)
                row.addChild(labels)
                self.label_rows[layer.key] = labels
            for entry in layer.legend():
                child = QTreeWidgetItem([entry.label])
                if entry.kind == "note":
                    font = child.font(0)
                    font.setItalic(True)
                    child.setFont(0, font)
                else:
                    child.setIcon(0, swatch_icon(entry))
                child.setFlags(Qt.ItemFlag.ItemIsEnabled)
                row.addChild(child)
            self.tree.addTopLevelItem(row)
            row.setExpanded(layer.visible)
            self._rows[layer.key] = row
        self.tree.blockSignals(False)
        self.rows_rebuilt.emit()

    @staticmethod
    def _row_text(layer: MapLayer) -> str:
        if layer.loading:
            return f"{layer.title} ({tr('layer_loading')})"
        shown, total = layer.feature_count(), layer.total_count()
        count = format_int(total) if shown == total else f"{format_int(shown)}/{format_int(total)}"
        return f"{layer.title} ({count})"

    def update_counts(self, layers: list[MapLayer]) -> None:
        """After a filter: "Trạm BTS (1.234/3.600)"."""
        self.tree.blockSignals(True)
        for layer in layers:
            if layer.key in self._rows:
                self._rows[layer.key].setText(0, self._row_text(layer))
        self.tree.blockSignals(False)

    def set_checked(self, key: str, visible: bool) -> None:
        self._rows[key].setCheckState(0, Qt.CheckState.Checked if visible else Qt.CheckState.Unchecked)

    def _item_changed(self, item: QTreeWidgetItem, _column: int) -> None:
        labels_of = item.data(0, LABELS_ROLE)
        if labels_of:
            shown = item.checkState(0) == Qt.CheckState.Checked
            remember_layer_visibility(labels_of, shown, LAYER_LABELS)
            self.labels_changed.emit(labels_of, shown)
            return
        key = item.data(0, Qt.ItemDataRole.UserRole)
        if key:
            visible = item.checkState(0) == Qt.CheckState.Checked
            item.setExpanded(visible)
            remember_layer_visibility(key, visible)
            self.visibility_changed.emit(key, visible)
