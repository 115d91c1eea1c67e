"""Finding things on the main window's map: layers and filter, communes, the selection and the
attribute table, search and identify."""

from __future__ import annotations

import numpy as np

from hatang_desktop.core.map_data import (Extent, attribute_rows, identify, paths_in_box, points_in_box,
                                          read_feature)
from hatang_desktop.core.search import SearchHit, search

from .attribute_table import TABLE_LAYERS
from .status_bar import STATUS_MESSAGE_MS
from .strings import format_int, tr

SELECTABLE = ("sites", "poles", "routes")  # layers the box selects from (and the table lists)


class WindowSelection:
    """Mixed into MainWindow: what is selected, shown, searched for and identified on the map."""

    # -- layers and filter ---------------------------------------------------------------

    def _layer_toggled(self, key: str, visible: bool) -> None:
        self.canvas.set_layer_visible(key, visible)

    def set_filter(self, layer_filter) -> None:
        self.canvas.set_filter(layer_filter)
        self.layer_panel.update_counts(list(self.canvas.layers.values()))
        # A selected feature the filter hides is no longer selected.
        if self.selection:
            self._set_selection({k: idx[self.canvas.layers[k].shown[idx]] for k, idx in self.selection.items()})

    # -- navigation ----------------------------------------------------------------------

    def _fill_communes(self) -> None:
        self.commune_combo.clear()
        for commune in self.communes:
            self.commune_combo.addItem(commune.name, commune.code)
        self.commune_combo.setCurrentIndex(-1)

    def _commune_chosen(self, index: int) -> None:
        if 0 <= index < len(self.communes):
            self.zoom_to_commune(self.communes[index].code)

    def zoom_to_commune(self, code: str) -> None:
        for i, commune in enumerate(self.communes):
            if commune.code == code:
                self.commune_combo.setCurrentIndex(i)
                self.canvas.zoom_to(commune.bounds, padding=0.03)
                return

    def zoom_to_selection(self) -> None:
        box = self.selection_extent()
        if box is not None:
            self.canvas.zoom_to(box)

    def selection_extent(self) -> Extent | None:
        boxes = []
        for key, idx in self.selection.items():
            data = self.canvas.layers[key].data
            if data is None or not len(idx):
                continue
            if hasattr(data, "connect"):
                b = data.feature_bounds()[idx]
                boxes.append((b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()))
            else:
                boxes.append((data.x[idx].min(), data.y[idx].min(), data.x[idx].max(), data.y[idx].max()))
        if not boxes:
            return None
        b = np.array(boxes)
        return Extent(float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max()))

    # -- selection and the attribute table -----------------------------------------------

    def select_box(self, box: Extent, additive: bool = False) -> dict[str, np.ndarray]:
        """Select the features of the drawn, selectable layers inside `box` (map metres): a layer
        switched off, or out of scale (poles when zoomed out), gives nothing, as a click does."""
        found = {}
        for key in SELECTABLE:
            layer = self.canvas.layers[key]
            if not layer.is_drawn() or layer.data is None:
                continue
            finder = paths_in_box if hasattr(layer.data, "connect") else points_in_box
            found[key] = finder(layer.data, box, layer.shown)
        if additive:
            for key, idx in self.selection.items():
                found[key] = np.union1d(found.get(key, np.zeros(0, np.int64)), idx)
        self._set_selection(found)
        return found

    def select_in_view(self) -> None:
        self.select_box(self.canvas.view_extent())

    def clear_selection(self) -> None:
        self._set_selection({})

    def _set_selection(self, selection: dict[str, np.ndarray]) -> None:
        self.selection = {k: np.asarray(v, dtype=np.int64) for k, v in selection.items() if len(v)}
        self.canvas.show_selection(self.selection)
        self.act_zoom_selection.setEnabled(bool(self.selection))
        self.act_clear_selection.setEnabled(bool(self.selection))
        n = {k: len(self.selection.get(k, ())) for k in SELECTABLE}
        self.message_label.setText(tr("status_selected", sites=format_int(n["sites"]), poles=format_int(n["poles"]),
                                      routes=format_int(n["routes"])) if self.selection else "")
        if self.selection:
            current = self.table_dock.layer_key()
            if not n.get(current):
                self.table_dock.set_layer(next(k for k, _t in TABLE_LAYERS if n.get(k)))
            self.table_dock.show()
        self._refresh_table()

    def show_sites_to_verify(self) -> np.ndarray:
        """The "to verify" view: every site imported from a reference source (OpenStreetMap, a
        list of coordinates) and not verified yet, selected on the map and listed in the
        attribute table (double-click a row to go there, F2 to open it and verify it)."""
        layer = self.canvas.layers["sites"]
        data = layer.data if self.db is not None else None
        idx = np.flatnonzero(data.attrs["status"] == "to_verify") if data is not None else np.zeros(0, np.int64)
        if not len(idx):
            self.statusBar().showMessage(tr("sites_to_verify_none"), STATUS_MESSAGE_MS)
            return idx
        self.table_dock.set_layer("sites")
        self._set_selection({"sites": idx})
        self.zoom_to_selection()
        self.statusBar().showMessage(tr("sites_to_verify_found", n=format_int(len(idx))), STATUS_MESSAGE_MS)
        return idx

    def _refresh_table(self) -> None:
        key = self.table_dock.layer_key()
        table = next(t for k, t in TABLE_LAYERS if k == key)
        idx = self.selection.get(key)
        layer = self.canvas.layers[key]
        if self.db is None or idx is None or layer.data is None:
            self.table_dock.set_rows(table, [], [])
            return
        fields, rows = attribute_rows(self.db, table, layer.data.uuid[idx])
        self.table_dock.set_rows(table, fields, rows)

    def go_to_feature(self, layer_key: str, uuid: str) -> None:
        """Zoom to one feature of a layer and show its attributes (table double-click, search)."""
        layer = self.canvas.layers[layer_key]
        if self.db is None:
            return
        feature = read_feature(self.db, layer.table, uuid)
        if feature.geometry is not None:
            x0, y0, x1, y1 = feature.geometry.bounds
            self.canvas.zoom_to(Extent(x0, y0, x1, y1))
        self.identify_panel.show_feature(feature)
        self.identify_panel.show()
        self.canvas.highlight(feature.geometry)

    # -- search ----------------------------------------------------------------------------

    def run_search(self, query: str) -> list[SearchHit]:
        hits = search(self.db, query) if self.db is not None else []
        self.search_box.show_hits(hits)
        self.statusBar().showMessage(tr("search_found", n=len(hits), query=query) if hits
                                     else tr("search_none", query=query), STATUS_MESSAGE_MS)
        return hits

    def go_to_hit(self, hit: SearchHit) -> None:
        if self.db is None:
            return
        feature = read_feature(self.db, hit.table, hit.uuid)
        geometry = feature.geometry
        if hit.table == "admin_units" and feature.attributes.get("level") == "commune":
            self.zoom_to_commune(feature.attributes["code"])
        elif geometry is not None and hit.table != "admin_units":
            x0, y0, x1, y1 = geometry.bounds
            self.canvas.zoom_to(Extent(x0, y0, x1, y1))
        else:
            self.canvas.zoom_to(Extent(hit.x, hit.y, hit.x, hit.y))
        self.identify_panel.show_feature(feature)
        self.identify_panel.show()
        self.canvas.highlight(geometry)

    def identify_at(self, x: float, y: float, tolerance_m: float):
        if self.db is None or self.canvas.zoom_into_group(x, y):
            return None
        # Only what the map shows: layers switched off or out of scale, filtered-out features skipped.
        feature = identify(self.db, x, y, tolerance_m, accept=self.canvas.is_identifiable)
        self.identify_panel.show_feature(feature)
        self.canvas.highlight(feature.geometry if feature else None)
        if feature is not None:
            self.identify_panel.show()
        return feature
