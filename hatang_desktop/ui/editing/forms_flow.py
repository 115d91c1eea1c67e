"""Opening and saving the record forms: new records at a click, existing ones from the identify
panel; duplicates, edit conflicts, photos and the GPS; editing and deleting the identified record."""

from __future__ import annotations

import datetime as dt
from functools import partial

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QDialog, QMessageBox

from hatang_desktop.core import editing, schema
from hatang_desktop.core.editing import DuplicateFound, EditConflict, EditResult, ValidationFailed
from hatang_desktop.core.errors import HatangError
from hatang_desktop.core.map_data import identify
from hatang_desktop.core.photos import PhotoError
from ..strings import language, message_text, tr
from .duplicates import OPEN, SAVE, DuplicateDialog
from .fields import display_value
from .form_dialog import FormDialog
from .gps_average import attach_averaging
from .tools import to_lonlat

FINDING_TARGETS = ("sites", "poles", "fibre_routes", "zones")


class FormsFlow:
    """Mixed into EditController: the forms a user opens to add, edit and delete records."""

    # -- forms -----------------------------------------------------------------------------------

    def record_name(self, table: str) -> str:
        label = self.forms[table].label(language())
        return label[0].lower() + label[1:]

    def make_form(self, table: str, uuid: str | None = None, values: dict | None = None) -> FormDialog:
        """The form dialog of a new record (uuid None, starting from `values`) or of an existing one."""
        form = self.forms[table]
        child = editing.CHILDREN.get(table)
        children: list[dict] = []
        if uuid is not None:
            current = editing.read_values(self.db, table, uuid, forms=self.forms)
            children = editing.read_children(self.db, table, uuid, forms=self.forms)
            code = schema.title(table, current)
            title = tr("form_edit_title", record=self.record_name(table), code=code)
        else:
            current = editing.defaults(form) | (values or {})
            title = tr("form_add_title", record=self.record_name(table))
        dialog = FormDialog(title, form, self.forms.lists, self.communes(), current,
                            child_form=self.forms[child] if child else None, children=children,
                            new=uuid is None, parent=self.window)
        # What the form opened with: a save writes only what the user changed from it, so values
        # written meanwhile (an import) are not put back (core.editing.save_record's base).
        dialog.base = current if uuid is not None else None
        dialog.base_children = children if uuid is not None else None
        dialog.on_save = partial(self._save, dialog, table, uuid)
        self._attach_extras(dialog, table, uuid)
        self.last_dialog = dialog
        return dialog

    def _attach_extras(self, dialog: FormDialog, table: str, uuid: str | None) -> None:
        """Wire the photo strip and the GPS dock (the photos and GPS parts of the app)."""
        if getattr(self.window, "gps_panel", None) is not None:
            dialog.form_widget.set_gps_provider(self.gps_position)
            dialog.gps_averaging = attach_averaging(dialog, self.window.gps_panel)
        if self.db is not None and self.db.path is None:
            # Photos are files in a folder beside the database file; a server has no such
            # folder yet (issue 19 leaves photos to the communes' files and their packages).
            return
        try:
            from ..photo_list import PhotoList
        except ImportError:  # pragma: no cover - the photos part is optional here
            return
        strip = PhotoList(dialog)
        # Its additions and removals wait for the form's Lưu (one operation with the fields);
        # its refusals show under it, in the form (the status bar is behind the dialog).
        strip.set_record(self.db, table, uuid)
        dialog.photos = strip
        dialog.set_photo_widget(strip)

    def gps_position(self) -> tuple[float, float, dict]:
        """The GPS dock's current position and its metadata, or GpsRefused saying why not."""
        from hatang_desktop.core.gps import GpsRefused

        panel = self.window.gps_panel
        got, refused = [], []
        accept = lambda lat, lon, meta: got.append((lat, lon, meta))  # noqa: E731
        panel.position_accepted.connect(accept)
        panel.position_refused.connect(refused.append)
        try:
            panel.use_position()
        finally:
            panel.position_accepted.disconnect(accept)
            panel.position_refused.disconnect(refused.append)
        if not got:
            raise GpsRefused(refused[0] if refused else tr("form_gps_missing"))
        return got[0]

    def open_form(self, table: str, uuid: str | None = None, values: dict | None = None) -> FormDialog:
        dialog = self.make_form(table, uuid, values)
        if dialog.exec() == QDialog.DialogCode.Accepted and self.mode == "draw_route":
            self.route_points = []
            self.sketch.set_points([])
            self.hint(self._hint())
        return dialog

    def new_values(self, table: str, lat: float, lon: float) -> dict:
        values = {"lat": lat, "lon": lon, "commune_code": editing.commune_at(self.db, lat, lon)}
        if table == "findings":
            values |= {"found_on": dt.date.today(), "inspector": self.db.user}
        return values

    def open_new(self, table: str, lat: float, lon: float) -> FormDialog:
        return self.open_form(table, values=self.new_values(table, lat, lon))

    def finding_values(self, x: float, y: float, tolerance_m: float) -> dict:
        """A finding at the click; on a site, pole, route or zone it concerns that record, placed on it."""
        lon, lat = to_lonlat(x, y)
        feature = identify(self.db, x, y, tolerance_m)
        values = self.new_values("findings", lat, lon)
        if feature is not None and feature.table in FINDING_TARGETS:
            values |= {"target_table": feature.table, "target_uuid": feature.uuid}
            if feature.table in editing.POINT_TABLES:
                values |= {"lat": feature.attributes.get("lat", lat), "lon": feature.attributes.get("lon", lon)}
        return values

    def open_new_finding(self, x: float, y: float, tolerance_m: float) -> FormDialog:
        return self.open_form("findings", values=self.finding_values(x, y, tolerance_m))

    def _save(self, dialog: FormDialog, table: str, uuid: str | None, values: dict, children, allow=False):
        if not self.writable:
            return [("", tr("edit_readonly"))]
        strip = getattr(dialog, "photos", None)
        try:
            result = editing.save_record(self.db, table, values, uuid=uuid, children=children,
                                         allow_duplicates=allow, gnss=dialog.form_widget.gnss(),
                                         forms=self.forms, base=getattr(dialog, "base", None),
                                         base_children=getattr(dialog, "base_children", None),
                                         photos=strip.edits() if strip is not None else None)
        except PhotoError as exc:
            strip.say(message_text(exc))  # under the strip, and named in the form's banner
            return [("", exc.text)]
        except ValidationFailed as exc:
            return exc.problems
        except EditConflict as exc:
            return self._show_edit_conflict(dialog, table, exc)
        except DuplicateFound as exc:
            choice = self.ask_duplicates(exc.duplicates, dialog)
            if choice == SAVE:
                return self._save(dialog, table, uuid, values, children, allow=True)
            if choice == OPEN:
                dialog.reject()
                QTimer.singleShot(0, partial(self.open_form, "sites", exc.duplicates[0].uuid))
            return False
        except HatangError as exc:
            return [("", exc.text)]
        if strip is not None:
            strip.saved(result.uuid)
        self.push(result)
        return True

    def _show_edit_conflict(self, dialog: FormDialog, table: str, exc: EditConflict) -> list[tuple[str, str]]:
        """The record changed while the form was open: the form now shows what is there, except
        the user's own changes; each clash is named under its field with the value written
        meanwhile, and saving again keeps the user's value (the user has seen both)."""
        form = self.forms[table]
        keep = set(exc.changed)
        if keep & {"lat", "lon"}:
            keep |= {"lat", "lon"}  # one position: both halves stay as the user placed it
        dialog.form_widget.set_values({k: v for k, v in exc.current.items() if k not in keep})
        dialog.base, dialog.base_children = exc.current, exc.current_children
        problems = []
        for key, _then, now, _mine in exc.fields:
            if key == EditConflict.SUB_LIST:
                problems.append(("", tr("edit_conflict_sub_list")))
                continue
            field = next((f for f in form.fields if f.key == key), None)
            if field is None:  # lat or lon: the position field
                field = next(f for f in form.fields if f.type == "position")
                shown = "—" if now is None else f"{now:.7f}"
            else:
                shown = "—" if now is None else display_value(field, now, self.forms.lists, dict(self.communes()))
            problems.append((field.key, tr("edit_conflict_field", value=shown)))
        return problems

    def ask_duplicates(self, duplicates, parent) -> str:
        return DuplicateDialog(duplicates, parent).ask()

    # -- acting on the identified feature ----------------------------------------------------------

    def selected(self) -> tuple[str, str] | None:
        feature = self.window.identify_panel.feature
        if feature is None:
            self.status(tr("edit_nothing_selected"))
            return None
        if feature.table not in editing.EDITABLE:
            self.status(tr("edit_not_editable"))
            return None
        return feature.table, feature.uuid

    def edit_selected(self) -> FormDialog | None:
        if not self.writable:
            self.report_error(tr("edit_readonly"))
            return None
        chosen = self.selected()
        return self.open_form(*chosen) if chosen else None

    def confirm_delete(self, table: str, code: str) -> bool:
        answer = QMessageBox.question(self.window, tr("delete_title"),
                                      tr("delete_question", record=self.record_name(table), code=code),
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def delete_selected(self) -> EditResult | None:
        if not self.writable:
            self.report_error(tr("edit_readonly"))
            return None
        chosen = self.selected()
        if chosen is None:
            return None
        table, uuid = chosen
        code = schema.title(table, self.window.identify_panel.feature.attributes)
        if not self.confirm_delete(table, code):
            return None
        return self.run(lambda: editing.delete_record(self.db, table, uuid))
