""""Lấy trung bình (N)" in a record's form, next to "Lấy vị trí GPS": the GPS dock averages N
good fixes and the form's position, its accuracy and the real number of fixes averaged
(gnss_fix_count) are set from the mean.

Why a button in the form rather than the dock's own: the form is modal (it is the one thing the
user is doing, and the map and docks behind it must not change the record under it), so the dock
cannot be clicked while it is open; the user is looking at the position in the form, and the
result lands there. The dock still does the work: its reader keeps delivering fixes while the
form is open, it shows the same progress, and its N is the one the button offers.

While averaging, the button stops it; a line under the position says how far it got, that the
receiver is moving (the dock's Averager stops when the fixes spread beyond the threshold), or
the result. Closing the form stops averaging.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton

from hatang_desktop.core import gps

from ..gps_fix_view import GOOD, NONE
from ..strings import format_number, message_text, tr
from .fields import PositionField


class FormAveraging:
    """The averaging button and its status line on one form's position field."""

    def __init__(self, form_widget, position: PositionField, panel) -> None:
        self.panel, self.position = panel, position
        self.button = QPushButton()
        self.button.setToolTip(tr("gps_average_tip"))
        self.button.clicked.connect(self.toggle)
        position.layout().addWidget(self.button)
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()
        column = form_widget.errors[self._key(form_widget)].parentWidget().layout()
        column.insertWidget(column.indexOf(form_widget.errors[self._key(form_widget)]), self.status)
        self.running = False
        panel.average_spin.valueChanged.connect(self._label)
        self._label()
        # As wide as its wider text: the position's boxes do not shift when it says "Dừng".
        metrics = self.button.fontMetrics()
        widest = max(metrics.horizontalAdvance(t) for t in (tr("form_gps_average_stop"),
                                                              tr("form_gps_average", n=300)))
        self.button.setMinimumWidth(widest + 24)

    def _key(self, form_widget) -> str:
        return next(k for k, w in form_widget.fields.items() if w is self.position)

    def _label(self, *_args) -> None:
        if self.running:
            self.button.setText(tr("form_gps_average_stop"))
        else:
            self.button.setText(tr("form_gps_average", n=self.panel.average_spin.value()))

    def _say(self, text: str, colour: str | None = None) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {colour}; font-weight: bold" if colour else "")
        self.status.setVisible(bool(text))

    def toggle(self) -> None:
        if self.running:
            self.stop()
            return
        if not self.panel.is_running():
            # Nothing will come: say why now rather than wait for fixes that never arrive.
            reason = gps.refusal(self.panel.current_fix, self.panel.max_accuracy_m) or \
                tr("form_gps_average_no_receiver")
            self._say(message_text(reason) if not isinstance(reason, str) else reason, NONE)
            return
        self.running = True
        for signal, slot in self._wiring():
            signal.connect(slot)
        self.panel.start_averaging(self.panel.average_spin.value())
        self._label()

    def _wiring(self):
        """The dock's signals this form listens to while it averages (and only then)."""
        p = self.panel
        return ((p.average_progress, self._progress), (p.averaging_stopped, self._stopped),
                (p.position_accepted, self._accepted))

    def _disconnect(self) -> None:
        if not self.running:
            return
        self.running = False
        for signal, slot in self._wiring():
            signal.disconnect(slot)
        self._label()

    def stop(self) -> None:
        """The user stopped it, or the form closed."""
        if self.running:
            self._disconnect()
            self.panel.cancel_averaging()
            self._say("")

    def _progress(self, got: int, n: int, skipped: int) -> None:
        self._say(tr("gps_averaging", got=got, n=n, skipped=skipped))

    def _stopped(self, reason: str) -> None:
        self._disconnect()
        self._say(reason, NONE if reason else None)

    def _accepted(self, lat: float, lon: float, meta: dict) -> None:
        self._disconnect()
        self.position.set_from_gps(lat, lon, meta)
        pos = f"{lat:.6f}, {lon:.6f}"
        self._say(tr("gps_accepted_avg", n=meta.get("gnss_fix_count"), pos=pos,
                     m=format_number(meta.get("gnss_accuracy_m") or 0.0, 1),
                     spread=format_number(self.panel.last_average.spread_m, 1)), GOOD)


def attach_averaging(dialog, panel) -> FormAveraging | None:
    """Put the averaging button on the dialog's position field (None for a form without one)."""
    form = dialog.form_widget
    position = next((w for w in form.fields.values() if isinstance(w, PositionField)), None)
    if position is None or panel is None:
        return None
    averaging = FormAveraging(form, position, panel)
    dialog.finished.connect(lambda _result: averaging.stop())
    return averaging


__all__ = ["FormAveraging", "attach_averaging"]
