"""Export the map view as a page: title, the map as on screen (scale bar and north arrow
included), and the legend of the visible layers. PNG through QImage, PDF through QPrinter.

The page is laid out in A4-landscape units (1123 x 794, 96 dpi) and scaled to the device, so
the PNG and the PDF look the same. The map itself is rendered at twice the screen resolution
rather than as vectors: symbols and line widths are in screen pixels and must keep their look.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, QSizeF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPageLayout, QPageSize, QPainter, QPen
from PySide6.QtPrintSupport import QPrinter

from hatang_desktop.core.atomic import atomic_output

from .layer_panel import swatch_icon
from .map.overlays import ground_metres_per_pixel
from .strings import format_int, tr

PAGE_W, PAGE_H = 1123.0, 794.0
MARGIN = 28.0
LEGEND_W = 230.0
MAP_RESOLUTION = 2.0
PAGE_MM_W = 297.0  # A4 landscape: the page's PAGE_W units span 297 mm


def page_scale(canvas, map_width_units: float) -> float:
    """N of 1:N for the map printed `map_width_units` wide on the A4 page (ground metres at the
    centre of the view, as the scale bar)."""
    ground_m = ground_metres_per_pixel(canvas.view) * max(canvas.view.width(), 1.0)
    printed_m = map_width_units * PAGE_MM_W / PAGE_W / 1000
    return ground_m / printed_m if printed_m > 0 else float("nan")


def round_scale(n: float) -> int:
    """1:48.213 reads as noise, 1:48.000 as a scale: two significant digits."""
    if not n > 0:
        return 0
    digits = max(len(str(int(n))) - 2, 0)
    return int(round(n / 10**digits) * 10**digits)


def render_view(canvas, resolution: float = MAP_RESOLUTION) -> QImage:
    """The map area of the canvas as an image, overlays included, at `resolution` x screen."""
    source = canvas.view.sceneBoundingRect()
    w, h = max(int(source.width()), 1), max(int(source.height()), 1)
    image = QImage(int(w * resolution), int(h * resolution), QImage.Format.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(resolution)
    image.fill(QColor(canvas.backgroundBrush().color()))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    canvas.scene().render(painter, QRectF(0, 0, w, h), source)
    painter.end()
    return image


def legend_sections(layers, mpp: float) -> list[tuple[str, list]]:
    """The looks a page's map shows at its scale (mpp: map units per pixel of the view)."""
    sections = [(layer.title, [e for e in layer.legend() if e.kind != "note" and e.drawn_at(mpp)])
                for layer in layers if layer.visible and layer.feature_count()]
    return [(title, entries) for title, entries in sections if entries]  # poles zoomed out: not drawn


def paint_page(painter: QPainter, device_w: float, device_h: float, canvas, layers, title: str) -> None:
    scale = min(device_w / PAGE_W, device_h / PAGE_H)
    painter.save()
    painter.scale(scale, scale)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.fillRect(QRectF(0, 0, PAGE_W, PAGE_H), Qt.GlobalColor.white)
    font = QFont(painter.font())
    font.setPixelSize(22)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#1a1a1a"))
    painter.drawText(QRectF(MARGIN, MARGIN - 6, PAGE_W - 2 * MARGIN, 30), Qt.AlignmentFlag.AlignLeft, title)
    font.setPixelSize(11)
    font.setBold(False)
    painter.setFont(font)
    painter.setPen(QColor("#555555"))
    painter.drawText(QRectF(MARGIN, MARGIN + 24, PAGE_W - 2 * MARGIN, 16), Qt.AlignmentFlag.AlignLeft,
                     tr("export_subtitle", date=date.today().strftime("%d/%m/%Y")))

    top = MARGIN + 48
    map_box = QRectF(MARGIN, top, PAGE_W - 2 * MARGIN - LEGEND_W - 12, PAGE_H - top - MARGIN - 18)
    image = render_view(canvas)
    size = QSizeF(image.width(), image.height()).scaled(map_box.size(), Qt.AspectRatioMode.KeepAspectRatio)
    target = QRectF(map_box.left(), map_box.top(), size.width(), size.height())
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    painter.drawImage(target, image)
    painter.setPen(QPen(QColor("#333333"), 1))
    painter.setBrush(Qt.BrushStyle.NoBrush)
    painter.drawRect(target)
    # The scale as text too: the bar in the map shows lengths, "1:N" is what officials quote.
    n = round_scale(page_scale(canvas, target.width()))
    if n:
        font.setPixelSize(12)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(QColor("#1a1a1a"))
        painter.drawText(QRectF(target.left(), target.bottom() + 2, target.width(), 16),
                         Qt.AlignmentFlag.AlignRight, tr("export_scale", n=format_int(n)))

    x = PAGE_W - MARGIN - LEGEND_W
    y = top
    font.setPixelSize(14)
    font.setBold(True)
    painter.setFont(font)
    painter.setPen(QColor("#1a1a1a"))
    painter.drawText(QRectF(x, y, LEGEND_W, 20), Qt.AlignmentFlag.AlignLeft, tr("export_legend"))
    y += 24
    for layer_title, entries in legend_sections(layers, canvas.metres_per_pixel()):
        if y > PAGE_H - MARGIN - 20:
            break
        font.setPixelSize(11)
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(QRectF(x, y, LEGEND_W, 16), Qt.AlignmentFlag.AlignLeft, layer_title)
        y += 17
        font.setBold(False)
        painter.setFont(font)
        for entry in entries:
            if y > PAGE_H - MARGIN - 14:
                break
            painter.drawPixmap(QRectF(x + 4, y, 14, 14).toRect(), swatch_icon(entry).pixmap(36, 36))
            painter.drawText(QRectF(x + 24, y - 1, LEGEND_W - 24, 16), Qt.AlignmentFlag.AlignLeft, entry.label)
            y += 16
        y += 6
    painter.restore()


def export_map(canvas, layers, path: str | Path, title: str) -> Path:
    """Write the page to `path`: .pdf through QPrinter (A4 landscape), anything else as PNG.
    Written under a temporary name beside `path` and renamed over it only when whole
    (core/atomic.py): a full disk never costs the previous file."""
    path = Path(path)
    with atomic_output(path) as tmp:
        _paint_to(canvas, layers, path, tmp, title)
    return path


def _paint_to(canvas, layers, path: Path, tmp: Path, title: str) -> None:
    if path.suffix.lower() == ".pdf":
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(tmp))
        printer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Landscape,
                                          QMarginsF(0, 0, 0, 0)))
        printer.setDocName(title)
        painter = QPainter()
        if not painter.begin(printer):
            raise OSError(f"cannot write {path}")
        rect = printer.pageLayout().fullRectPixels(printer.resolution())
        paint_page(painter, rect.width(), rect.height(), canvas, layers, title)
        painter.end()
    else:
        image = QImage(int(PAGE_W * 2), int(PAGE_H * 2), QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.white)
        painter = QPainter(image)
        paint_page(painter, image.width(), image.height(), canvas, layers, title)
        painter.end()
        if not image.save(str(tmp), "PNG"):
            raise OSError(f"cannot write {path}")
