"""UI strings of the map canvas and the map export (registered into ui.strings)."""

from __future__ import annotations

from .strings import register

register({
    "export_scale": ("Tỷ lệ 1:{n} (khi in khổ A4 ngang)", "Scale 1:{n} (printed on A4 landscape)"),
})
