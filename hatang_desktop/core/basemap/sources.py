"""Where basemap tiles come from: the presets in resources/basemap_sources.yaml, or a URL template
the department gives. A source whose terms forbid keeping tiles offline is refused by name, with
the reason, before any request is made.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from ...paths import resources_dir
from ..errors import InvalidInputError
from ..messages import Text
from .tiles import TYPICAL_TILE_BYTES

FORMATS = ("png", "jpg", "jpeg", "webp")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


class SourceRefused(InvalidInputError):
    """The source may not be downloaded for offline use (its terms, or its server said so)."""

    def __init__(self, source: str, vi: str, en: str):
        self.source = source
        super().__init__(Text(vi, en).prefixed(f"{source}: "))


@dataclass(frozen=True)
class TileSource:
    name: str
    url: str  # template with {z} {x} and {y} (XYZ row) or {-y} (TMS row)
    scheme: str = "xyz"
    format: str = "png"
    attribution: str = ""
    minzoom: int = 0
    maxzoom: int = 22
    offline: bool = True
    terms: str = ""
    why_vi: str = ""
    why_en: str = ""
    tile_bytes: int = 0
    title: str = ""

    def tile_url(self, z: int, x: int, y: int) -> str:
        """The address of XYZ tile (z, x, y)."""
        row = (1 << z) - 1 - y
        url = _xyz_template(self.url)
        url = url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{-y}", str(row))
        return url.replace("{y}", str(row if self.scheme == "tms" else y))

    @property
    def key(self) -> str:
        """What a partial download remembers of its source: tiles of another source are not reused.
        A hash, so a key the department put in the URL is not written into the file."""
        return hashlib.sha256(f"{self.scheme} {self.url}".encode()).hexdigest()[:16]

    @property
    def typical_tile_bytes(self) -> int:
        return self.tile_bytes or TYPICAL_TILE_BYTES.get(self.format, 15_000)

    def check_offline_allowed(self) -> None:
        if not self.offline:
            why_vi = self.why_vi or "điều khoản của nguồn không cho phép lưu ô ảnh để dùng ngoại tuyến"
            why_en = self.why_en or "the source's terms do not allow keeping its tiles for offline use"
            terms = f" ({self.terms})" if self.terms else ""
            raise SourceRefused(
                self.title or self.name,
                f"không tải được: {why_vi}{terms}; hãy dùng máy chủ ô ảnh của Sở (--source URL)",
                f"not downloaded: {why_en}{terms}; use the department's tile server (--source URL)")


def sources_file() -> Path:
    return resources_dir() / "basemap_sources.yaml"


def load_presets(path: str | Path | None = None) -> dict[str, TileSource]:
    path = Path(path) if path else sources_file()
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: không đọc được danh sách nguồn bản đồ nền ({exc}) / "
                                f"cannot read the basemap source list") from None
    out = {}
    for entry in doc.get("sources") or []:
        source = TileSource(
            name=str(entry["name"]), url=str(entry["url"]), scheme=str(entry.get("scheme", "xyz")),
            format=str(entry.get("format", "png")).lower(), attribution=str(entry.get("attribution", "")),
            minzoom=int(entry.get("minzoom", 0)), maxzoom=int(entry.get("maxzoom", 22)),
            offline=bool(entry.get("offline", False)), terms=str(entry.get("terms", "")),
            why_vi=str(entry.get("why_vi", "")), why_en=str(entry.get("why_en", "")),
            tile_bytes=int(entry.get("tile_bytes", 0)), title=str(entry.get("title", "")))
        validate_template(source.url, source.name)
        out[source.name] = source
    return out


# A WMTS RESTful template in the GoogleMapsCompatible tile matrix set (EPSG:3857, 256-px tiles,
# matrix n = zoom n, rows from the north) addresses the same tiles as XYZ under other names.
_WMTS_NAMES = {"{TileMatrix}": "{z}", "{TileCol}": "{x}", "{TileRow}": "{y}"}


def _xyz_template(url: str) -> str:
    for wmts, xyz in _WMTS_NAMES.items():
        url = url.replace(wmts, xyz)
    return url


def validate_template(url: str, label: str | None = None) -> None:
    label = label or url
    url = _xyz_template(url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInputError(f"{label}: địa chỉ nguồn phải bắt đầu bằng http:// hoặc https:// / "
                                "the source address must start with http:// or https://")
    names = set(_PLACEHOLDER.findall(url))
    unknown = names - {"z", "x", "y", "-y"}
    if unknown or "z" not in names or "x" not in names or not names & {"y", "-y"}:
        raise InvalidInputError(
            f"{label}: mẫu địa chỉ cần có {{z}}, {{x}} và {{y}} (hoặc {{-y}} cho TMS; WMTS GoogleMapsCompatible: "
            "{TileMatrix}, {TileCol}, {TileRow})"
            + (f", không nhận {', '.join('{' + n + '}' for n in sorted(unknown))}" if unknown else "")
            + " / the URL template needs {z}, {x} and {y} (or {-y} for TMS; WMTS GoogleMapsCompatible: "
              "{TileMatrix}, {TileCol}, {TileRow})")


def _format_of(url: str) -> str:
    path = urlsplit(url).path.lower()
    for ext in FORMATS:
        if path.endswith("." + ext):
            return "jpg" if ext == "jpeg" else ext
    return "png"


def resolve_source(spec: str, *, presets_path: str | Path | None = None, tms: bool = False,
                   attribution: str | None = None) -> TileSource:
    """A preset by name, or a URL template the department gives. Raises SourceRefused for a
    preset whose terms forbid offline copies, InvalidInputError for an unknown name or bad URL."""
    spec = spec.strip()
    if "://" in spec:
        validate_template(spec)
        host = urlsplit(spec).hostname or spec
        return TileSource(name=host, url=spec, scheme="tms" if tms else "xyz", format=_format_of(spec),
                          attribution=attribution if attribution is not None else host, offline=True)
    presets = load_presets(presets_path)
    source = presets.get(spec)
    if source is None:
        known = ", ".join(presets) or "—"
        raise InvalidInputError(f"--source {spec}: không có nguồn này; có: {known}; hoặc cho địa chỉ "
                                f"https://…/{{z}}/{{x}}/{{y}}.png / unknown source; known: {known}; or give a URL")
    source.check_offline_allowed()
    if attribution is not None:
        source = TileSource(**{**source.__dict__, "attribution": attribution})
    return source
