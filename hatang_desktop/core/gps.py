"""GPS positions from NMEA 0183: a serial receiver or a recorded log, parsed with pynmea2.

Headless (no Qt): the GPS dock (`ui/gps_panel.py`) runs these readers on a worker thread.

Reading
    `NmeaParser` turns lines into `Fix` objects, one per receiver epoch. A receiver sends a burst
    of sentences per epoch (RMC, GGA, GSA, GSV..., GST) in an order that differs between makes,
    so a fix is emitted when a sentence with a *new* time arrives (or at `flush()`), which costs
    one epoch (1 s at 1 Hz) of latency and works for every order. Lines failing the checksum,
    cut off or garbled are skipped and counted in `parser.stats` (never raised): a loose cable
    must not stop the survey, and a flipped digit must never move a pole 90 km.
    `read_log(path, pace=False)` replays a log file (optionally at the recorded pace);
    `read_serial(port, baudrate)` reads a receiver through pyserial. Both are generators; pass a
    `threading.Event` as `stop` to end them from another thread.

Accuracy
    `Fix.accuracy_m` is the horizontal 1-sigma error radius sqrt(sigma_lat^2 + sigma_lon^2) from
    the receiver's GST sentence when it sends one (`accuracy_source == "gst"`). Receivers without
    GST only give HDOP; then the accuracy is *estimated* as HDOP x UERE_M (5 m, a typical
    user-equivalent range error of a consumer single-frequency receiver) and
    `accuracy_source == "hdop"`; the UI says "ước tính" next to it.

Gating and averaging
    `check_fix(fix, max_accuracy_m)` raises `GpsRefused` (a Vietnamese message with the figures)
    when there is no fix or the accuracy is worse than the threshold (default 10 m).
    `Averager(n)` collects N fixes that pass the gate and returns their mean with its spread; fixes
    spreading beyond the threshold mean the receiver moves, and averaging stops (ReceiverMoving).

Storing with a record
    `Fix.metadata()` / `AveragedFix.metadata()` give the GNSS columns that sites, poles and
    findings carry since schema 3 (`GNSS_COLUMNS`): write them with the record's lat/lon.
    When a position is set by hand (map click, drag, typed), write `NO_GNSS` instead so stale
    accuracy figures never stay on a moved point.
"""

from __future__ import annotations

import datetime as dt
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pynmea2

from .errors import InvalidInputError
from .messages import Text
from .text import format_decimal, format_plain

UERE_M = 5.0
MOVING_SPEED_MPS = 0.5  # below this a receiver's course over ground is noise: no heading drawn
DEFAULT_MAX_ACCURACY_M = 10.0
DEFAULT_AVERAGE_N = 10

# GGA fix quality codes (NMEA 0183).
QUALITY_LABELS = {
    0: ("Không định vị được", "No fix"),
    1: ("GPS", "GPS"),
    2: ("DGPS", "DGPS"),
    3: ("PPS", "PPS"),
    4: ("RTK cố định", "RTK fixed"),
    5: ("RTK thả nổi", "RTK float"),
    6: ("Ước tính (dead reckoning)", "Estimated (dead reckoning)"),
    7: ("Nhập tay", "Manual input"),
    8: ("Mô phỏng", "Simulation"),
}
# Qualities that are not a measured position: never usable for a survey.
_NOT_MEASURED = {0, 6, 7, 8}

GNSS_COLUMNS = ("gnss_accuracy_m", "gnss_hdop", "gnss_satellites", "gnss_fix_time", "gnss_source",
                "gnss_fix_count")
NO_GNSS: dict[str, None] = {c: None for c in GNSS_COLUMNS}

_M_PER_DEG_LAT = 110_574.0
_KNOT_MPS = 1852.0 / 3600.0


class GpsRefused(InvalidInputError):
    """The position may not be used (no fix, or accuracy worse than the threshold)."""


class ReceiverMoving(GpsRefused):
    """Averaging stopped: the fixes spread beyond the accuracy threshold, so the receiver is
    being carried rather than held at one point, and their mean would be nowhere in particular."""


class GpsSourceError(InvalidInputError):
    """The NMEA source cannot be opened or read (missing file, serial port busy or gone)."""


@dataclass(frozen=True)
class Fix:
    """One receiver epoch. lat/lon are None when the receiver has no position."""
    lat: float | None
    lon: float | None
    quality: int
    satellites: int | None
    hdop: float | None
    accuracy_m: float | None
    accuracy_source: str | None  # "gst" measured by the receiver, "hdop" estimated
    time: dt.datetime | dt.time | None  # UTC; a time alone when no RMC gave the date
    source: str
    altitude_m: float | None = None
    satellites_in_view: int | None = None
    fix_mode: int | None = None  # GSA: 1 none, 2 2D, 3 3D
    pdop: float | None = None
    vdop: float | None = None
    speed_mps: float | None = None  # RMC speed over ground
    course_deg: float | None = None  # RMC true course, 0 north, clockwise

    @property
    def moving(self) -> bool:
        """Whether the receiver says it is moving: its course is meaningful only then (a
        receiver standing still reports a course that wanders at random)."""
        return self.speed_mps is not None and self.speed_mps >= MOVING_SPEED_MPS

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None and self.quality not in _NOT_MEASURED

    def time_text(self) -> str | None:
        if self.time is None:
            return None
        if isinstance(self.time, dt.datetime):
            return self.time.isoformat(timespec="seconds") + "Z"
        return self.time.isoformat(timespec="seconds")

    def metadata(self) -> dict:
        return {"gnss_accuracy_m": _round(self.accuracy_m, 2), "gnss_hdop": _round(self.hdop, 2),
                "gnss_satellites": self.satellites, "gnss_fix_time": self.time_text(),
                "gnss_source": self.source, "gnss_fix_count": 1}


@dataclass(frozen=True)
class AveragedFix:
    """The mean of N gated fixes. `spread_m` is the RMS distance of the fixes from their mean,
    `max_spread_m` the farthest one. `accuracy_m` is the larger of the fixes' mean accuracy and
    the spread: GNSS errors are correlated over seconds, so averaging a minute of fixes does not
    shrink the error by sqrt(N) and claiming so would overstate the result."""
    lat: float
    lon: float
    count: int
    spread_m: float
    max_spread_m: float
    accuracy_m: float
    hdop: float | None
    satellites: int | None  # the fewest used by any of the fixes
    first_time: str | None
    last_time: str | None
    source: str

    def metadata(self) -> dict:
        return {"gnss_accuracy_m": _round(self.accuracy_m, 2), "gnss_hdop": _round(self.hdop, 2),
                "gnss_satellites": self.satellites, "gnss_fix_time": self.last_time,
                "gnss_source": self.source, "gnss_fix_count": self.count}


@dataclass
class ParseStats:
    lines: int = 0
    sentences: int = 0  # parsed, of any type
    corrupt: int = 0  # bad checksum, cut off, not NMEA at all
    ignored: int = 0  # comments, blank lines, sentence types we do not use
    fixes: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason), the first few

    MAX_PROBLEMS = 20

    def note(self, line_no: int, reason: str) -> None:
        self.corrupt += 1
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append((line_no, reason))


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(float(value), digits)


def _float(value) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def quality_label(quality: int, lang: str = "vi") -> str:
    vi, en = QUALITY_LABELS.get(quality, (f"Mã {quality}", f"Code {quality}"))
    return vi if lang == "vi" else en


class _Epoch:
    """The sentences of one epoch, merged as they arrive."""

    def __init__(self, stamp: dt.time | None):
        self.stamp = stamp
        self.gga = self.rmc = self.gsa = self.gst = None
        self.in_view: dict[str, int] = {}  # per talker (GP, GL, GA, BD): GSV's count

    @property
    def empty(self) -> bool:
        return self.gga is None and self.rmc is None


class NmeaParser:
    """Lines in, fixes out. Feed lines with `feed()`; call `flush()` at the end of the input."""

    def __init__(self, source: str):
        self.source = source
        self.stats = ParseStats()
        self._epoch = _Epoch(None)
        self._date: dt.date | None = None

    def feed(self, line: str | bytes) -> Fix | None:
        """Take one line; return the previous epoch's fix when this line starts a new epoch."""
        self.stats.lines += 1
        if isinstance(line, bytes):
            line = line.decode("ascii", errors="replace")
        line = line.strip()
        if not line or line.startswith("#"):
            self.stats.ignored += 1
            return None
        start = line.find("$")
        if start < 0:
            self.stats.note(self.stats.lines, "không phải câu NMEA / not an NMEA sentence")
            return None
        try:
            msg = pynmea2.parse(line[start:], check=True)
        except pynmea2.ChecksumError as exc:
            reason = "thiếu checksum (câu bị cắt) / missing checksum (cut off)" if "missing" in str(exc) \
                else "sai checksum / checksum mismatch"
            self.stats.note(self.stats.lines, reason)
            return None
        except (pynmea2.ParseError, ValueError, TypeError, AttributeError) as exc:
            self.stats.note(self.stats.lines, f"câu NMEA hỏng / malformed sentence ({type(exc).__name__})")
            return None
        if start > 0:
            # Noise glued in front of a valid sentence (typical right after the port opens).
            self.stats.ignored += 1
        self.stats.sentences += 1
        return self._take(msg)

    def _take(self, msg) -> Fix | None:
        kind = getattr(msg, "sentence_type", "")
        if kind not in ("GGA", "RMC", "GSA", "GSV", "GST"):
            self.stats.ignored += 1
            return None
        stamp = None
        if kind in ("GGA", "RMC", "GST"):
            try:
                stamp = msg.timestamp
            except (ValueError, TypeError):
                stamp = None
        done = None
        if stamp is not None and self._epoch.stamp is not None and stamp != self._epoch.stamp:
            done = self._finish()
        if stamp is not None and self._epoch.stamp is None:
            self._epoch.stamp = stamp
        ep = self._epoch
        if kind == "GGA":
            ep.gga = msg
        elif kind == "RMC":
            ep.rmc = msg
            datestamp = getattr(msg, "datestamp", None)
            if isinstance(datestamp, dt.date):
                self._date = datestamp
        elif kind == "GSA":
            ep.gsa = ep.gsa or msg  # the first of a multi-constellation burst
        elif kind == "GSV":
            ep.in_view[getattr(msg, "talker", "")] = _int(msg.num_sv_in_view) or 0
        elif kind == "GST":
            ep.gst = msg
        return done

    def flush(self) -> Fix | None:
        """The fix of the last epoch, at the end of the input."""
        return self._finish()

    def _finish(self) -> Fix | None:
        ep, self._epoch = self._epoch, _Epoch(None)
        if ep.empty:
            return None
        fix = self._build(ep)
        self.stats.fixes += 1
        return fix

    def _build(self, ep: _Epoch) -> Fix:
        gga, rmc, gsa, gst = ep.gga, ep.rmc, ep.gsa, ep.gst
        lat = lon = None
        if gga is not None:
            quality = _int(gga.gps_qual) or 0
            if quality and gga.lat and gga.lon:
                lat, lon = gga.latitude, gga.longitude
            satellites = _int(gga.num_sats)
            hdop = _float(gga.horizontal_dil)
            altitude = _float(gga.altitude)
        else:
            # No GGA this epoch (lost to a bad checksum): RMC still carries the position.
            quality = 1 if rmc is not None and rmc.status == "A" else 0
            satellites = hdop = altitude = None
        if lat is None and quality and rmc is not None and rmc.status == "A" and rmc.lat and rmc.lon:
            lat, lon = rmc.latitude, rmc.longitude
        if quality == 0:
            lat = lon = None
        fix_mode = pdop = vdop = None
        if gsa is not None:
            fix_mode = _int(gsa.mode_fix_type)
            pdop, vdop = _float(gsa.pdop), _float(gsa.vdop)
            if hdop is None:
                hdop = _float(gsa.hdop)
            if satellites is None:
                satellites = sum(1 for i in range(1, 13) if getattr(gsa, f"sv_id{i:02d}", ""))
            if fix_mode == 1:
                quality, lat, lon = 0, None, None
        accuracy = accuracy_source = None
        if lat is not None:
            s_lat = _float(gst.std_dev_latitude) if gst is not None else None
            s_lon = _float(gst.std_dev_longitude) if gst is not None else None
            if s_lat is not None and s_lon is not None:
                accuracy, accuracy_source = math.hypot(s_lat, s_lon), "gst"
            elif hdop is not None:
                accuracy, accuracy_source = hdop * UERE_M, "hdop"
        when: dt.datetime | dt.time | None = ep.stamp
        if ep.stamp is not None and self._date is not None:
            when = dt.datetime.combine(self._date, ep.stamp.replace(tzinfo=None))
        elif isinstance(when, dt.time):
            when = when.replace(tzinfo=None)
        in_view = sum(ep.in_view.values()) if ep.in_view else None
        speed = course = None
        if rmc is not None and lat is not None:
            knots = _float(getattr(rmc, "spd_over_grnd", None))
            speed = None if knots is None else round(knots * _KNOT_MPS, 2)
            course = _float(getattr(rmc, "true_course", None))
            course = None if course is None else course % 360.0
        return Fix(lat=lat, lon=lon, quality=quality, satellites=satellites, hdop=hdop,
                   accuracy_m=accuracy, accuracy_source=accuracy_source, time=when, source=self.source,
                   altitude_m=altitude, satellites_in_view=in_view, fix_mode=fix_mode, pdop=pdop, vdop=vdop,
                   speed_mps=speed, course_deg=course)


def parse_lines(lines: Iterable[str | bytes], source: str, parser: NmeaParser | None = None) -> Iterator[Fix]:
    parser = parser or NmeaParser(source)
    for line in lines:
        fix = parser.feed(line)
        if fix is not None:
            yield fix
    last = parser.flush()
    if last is not None:
        yield last


def _seconds_between(a: Fix, b: Fix) -> float | None:
    if isinstance(a.time, dt.datetime) and isinstance(b.time, dt.datetime):
        return (b.time - a.time).total_seconds()
    if isinstance(a.time, dt.time) and isinstance(b.time, dt.time):
        day = dt.date(2000, 1, 1)
        return (dt.datetime.combine(day, b.time) - dt.datetime.combine(day, a.time)).total_seconds()
    return None


def read_log(path: str | Path, *, pace: bool = False, speed: float = 1.0,
             stop: threading.Event | None = None, parser: NmeaParser | None = None,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[Fix]:
    """Replay an NMEA log file. With `pace`, wait between fixes as long as the receiver did
    (divided by `speed`), so a recorded walk plays back like a live receiver."""
    path = Path(path)
    if not path.is_file():
        raise GpsSourceError(f"{path}: không tìm thấy tệp nhật ký NMEA", f"{path}: NMEA log file not found")
    parser = parser or NmeaParser(f"nmea-log:{path.name}")
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise GpsSourceError(f"{path}: không đọc được tệp ({exc.strerror})",
                             f"{path}: cannot read the file ({exc.strerror})") from None
    previous: Fix | None = None
    with handle:
        for fix in parse_lines(handle, parser.source, parser):
            if stop is not None and stop.is_set():
                return
            if pace and previous is not None:
                gap = _seconds_between(previous, fix)
                if gap is not None and 0 < gap < 60:
                    # Sleep in slices so a stop request is honoured within a fraction of a second.
                    remaining = gap / max(speed, 1e-6)
                    while remaining > 0 and not (stop is not None and stop.is_set()):
                        sleep(min(remaining, 0.2))
                        remaining -= 0.2
            previous = fix
            yield fix


LOG_SUFFIXES = (".nmea", ".nma", ".txt", ".log", ".ubx")


def is_log_source(text: str) -> bool:
    """Whether a remembered GPS source names an NMEA log file rather than a receiver's port
    (COM3, /dev/ttyUSB0, or a pyserial URL such as socket://host:port)."""
    text = text.strip()
    if not text or "://" in text or text.startswith("/dev/"):
        return False
    if text.upper().startswith("COM") and text[3:].isdigit():
        return False
    return Path(text).suffix.lower() in LOG_SUFFIXES or Path(text).is_file()


def list_serial_ports() -> list[tuple[str, str]]:
    """(device, description) of the serial ports present (COM3 on Windows, /dev/ttyUSB0 on Linux)."""
    from serial.tools import list_ports

    return [(p.device, p.description or p.device) for p in sorted(list_ports.comports(), key=lambda p: p.device)]


def read_serial(port: str, baudrate: int = 9600, *, stop: threading.Event | None = None,
                parser: NmeaParser | None = None, timeout_s: float = 1.0,
                opener: Callable[..., object] | None = None) -> Iterator[Fix]:
    """Fixes from a receiver on a serial port (USB GPS receivers show up as one), until `stop`.

    `port` is a device (COM3, /dev/ttyUSB0) or a pyserial URL such as `socket://192.168.1.5:11123`
    (phone apps that share their GPS as NMEA over TCP). `opener` replaces
    `serial.serial_for_url` (the tests pass a pyserial loop:// port they feed the shipped log
    into); no test runs against a real receiver."""
    import serial

    parser = parser or NmeaParser(f"serial:{port}")
    try:
        conn = (opener or serial.serial_for_url)(port, baudrate=baudrate, timeout=timeout_s)
    except (serial.SerialException, OSError, ValueError) as exc:
        raise GpsSourceError(f"{port}: không mở được cổng GPS ({exc})",
                             f"{port}: cannot open the GPS port ({exc})") from None
    with conn:
        while not (stop is not None and stop.is_set()):
            try:
                raw = conn.readline()
            except (serial.SerialException, OSError) as exc:
                raise GpsSourceError(f"{port}: mất kết nối với máy thu GPS ({exc})",
                                     f"{port}: lost the connection to the GPS receiver ({exc})") from None
            if not raw:
                continue  # timeout: nothing this second; check `stop` and wait again
            fix = parser.feed(raw)
            if fix is not None:
                yield fix


# -- gating and averaging ---------------------------------------------------------------------

def _fmt_m(value: float) -> str:
    return format_decimal(value, 1, "vi")


def refusal(fix: Fix | None, max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M) -> Text | None:
    """Why this fix may not be used (in both languages), or None when it may."""
    if fix is None:
        return Text("Chưa nhận được dữ liệu GPS: hãy chọn nguồn (cổng máy thu hoặc tệp nhật ký NMEA) "
                    "và bấm Bắt đầu.", "No GPS data yet: choose a source and press Start.")
    if not fix.has_position:
        return Text(f"Máy thu chưa định vị được ({quality_label(fix.quality)}, {fix.satellites or 0} vệ tinh): "
                    "hãy ra chỗ trống, tránh nhà cao và tán cây, rồi chờ thêm.", "The receiver has no fix yet.")
    if fix.accuracy_m is None:
        return Text("Không biết độ chính xác của vị trí GPS (máy thu không gửi HDOP).", "Accuracy unknown.")
    if fix.accuracy_m > max_accuracy_m:
        how = "" if fix.accuracy_source == "gst" else \
            f" (ước tính từ HDOP {format_plain(fix.hdop, 'vi')} × {format_plain(UERE_M, 'vi')} m)"
        return Text(f"Độ chính xác GPS {_fmt_m(fix.accuracy_m)} m{how} kém hơn ngưỡng {_fmt_m(max_accuracy_m)} m: "
                    "vị trí này không được dùng. Hãy ra chỗ trống, tránh tán cây và nhà cao, chờ thêm vệ tinh "
                    "hoặc dùng chế độ lấy trung bình.",
                    f"GPS accuracy {format_decimal(fix.accuracy_m, 1, 'en')} m is worse than the "
                    f"{format_plain(max_accuracy_m, 'en')} m threshold.")
    return None


def check_fix(fix: Fix | None, max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M) -> Fix:
    """The fix itself when it may be used; GpsRefused with the reason otherwise."""
    reason = refusal(fix, max_accuracy_m)
    if reason:
        raise GpsRefused(reason)
    return fix


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Short distances (tens of metres): an equirectangular approximation is exact enough."""
    mean_lat = math.radians((lat1 + lat2) / 2)
    dy = (lat2 - lat1) * _M_PER_DEG_LAT
    dx = (lon2 - lon1) * 111_320.0 * math.cos(mean_lat)
    return math.hypot(dx, dy)


class Averager:
    """Collect `n` fixes that pass the gate; `add()` returns the AveragedFix once it has them.

    Fixes that fail the gate are skipped and counted in `rejected` (a moment under a tree does
    not spoil the average); `reset()` starts over. A fix farther from the mean of those taken
    than the accuracy threshold means the receiver is moving: `add()` raises ReceiverMoving and
    the averager is spent (`moving` is True), since no point of a walk is the one to record."""

    def __init__(self, n: int = DEFAULT_AVERAGE_N, max_accuracy_m: float = DEFAULT_MAX_ACCURACY_M):
        if n < 1:
            raise ValueError("n must be at least 1")
        self.n, self.max_accuracy_m = n, max_accuracy_m
        self.fixes: list[Fix] = []
        self.rejected = 0
        self.last_refusal: str | None = None
        self.moving = False

    def reset(self) -> None:
        self.fixes.clear()
        self.rejected = 0
        self.last_refusal = None
        self.moving = False

    @property
    def done(self) -> bool:
        return len(self.fixes) >= self.n

    def add(self, fix: Fix) -> AveragedFix | None:
        if self.done:
            return self.result()
        reason = refusal(fix, self.max_accuracy_m)
        if reason:
            self.rejected += 1
            self.last_refusal = reason
            return None
        if self.moving:
            raise ReceiverMoving(moving_text(self._spread_m(), self.max_accuracy_m))
        self.fixes.append(fix)
        spread = self._spread_m()
        if spread > self.max_accuracy_m:
            self.moving = True
            raise ReceiverMoving(moving_text(spread, self.max_accuracy_m))
        return self.result() if self.done else None

    def _spread_m(self) -> float:
        """How far the farthest fix taken lies from their mean."""
        if len(self.fixes) < 2:
            return 0.0
        return average(self.fixes).max_spread_m

    def result(self) -> AveragedFix:
        if not self.fixes:
            raise GpsRefused("Chưa có lần đo GPS nào đạt yêu cầu để lấy trung bình.", "No good fix to average.")
        return average(self.fixes)


def moving_text(spread_m: float, max_accuracy_m: float) -> Text:
    return Text(f"Máy thu đang di chuyển: các lần đo lệch nhau tới {_fmt_m(spread_m)} m, vượt ngưỡng "
                f"{_fmt_m(max_accuracy_m)} m. Đã dừng lấy trung bình: hãy đứng yên tại điểm rồi bấm lại.",
                f"The receiver is moving: the fixes spread over {format_decimal(spread_m, 1, 'en')} m, beyond "
                f"the {format_plain(max_accuracy_m, 'en')} m threshold. Averaging stopped: stand still at the "
                "point and start again.")


def average(fixes: list[Fix]) -> AveragedFix:
    lat = sum(f.lat for f in fixes) / len(fixes)
    lon = sum(f.lon for f in fixes) / len(fixes)
    dists = [distance_m(lat, lon, f.lat, f.lon) for f in fixes]
    spread = math.sqrt(sum(d * d for d in dists) / len(dists))
    accs = [f.accuracy_m for f in fixes if f.accuracy_m is not None]
    hdops = [f.hdop for f in fixes if f.hdop is not None]
    sats = [f.satellites for f in fixes if f.satellites is not None]
    mean_acc = sum(accs) / len(accs) if accs else spread
    sources = sorted({f.source for f in fixes})
    return AveragedFix(lat=lat, lon=lon, count=len(fixes), spread_m=spread, max_spread_m=max(dists),
                       accuracy_m=max(mean_acc, spread), hdop=sum(hdops) / len(hdops) if hdops else None,
                       satellites=min(sats) if sats else None, first_time=fixes[0].time_text(),
                       last_time=fixes[-1].time_text(), source=", ".join(sources))


__all__ = ["Fix", "AveragedFix", "ParseStats", "NmeaParser", "parse_lines", "read_log", "read_serial",
           "list_serial_ports", "is_log_source", "refusal", "check_fix", "Averager", "average", "distance_m",
           "moving_text", "ReceiverMoving", "MOVING_SPEED_MPS", "GpsRefused", "GpsSourceError", "GNSS_COLUMNS",
           "NO_GNSS", "UERE_M",
           "DEFAULT_MAX_ACCURACY_M", "DEFAULT_AVERAGE_N", "quality_label", "QUALITY_LABELS"]
