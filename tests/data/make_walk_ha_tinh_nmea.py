"""Make tests/data/walk_ha_tinh.nmea: a synthetic 1 Hz NMEA 0183 log of an inspector's walk.

Run once (`python tests/data/make_walk_ha_tinh_nmea.py`); the output is committed and the tests
read the file, not this script. It is deterministic (fixed seed), so running it again gives the
same bytes. The checksums are computed here by XOR, independently of pynmea2 (which the app uses
to parse), so the log tests the parser rather than echoing it.

The walk (Hà Tĩnh city, along a street, 2025-03-14 from 01:30:00 UTC = 08:30 local time):
  A  epochs   1-6    cold start, no fix (GGA quality 0, RMC status V, GSA mode 1)
  B  epochs   7-26   standing at pole P1 18.343500 N 105.906000 E, good fix (HDOP 0.8-1.0)
  C  epochs  27-86   walking 78 m east-north-east at 1.3 m/s, good fix
  D  epochs  87-98   under tree canopy next to a building: HDOP 3.5-6, GST sigmas 9-16 m
  E  epochs  99-100  fix lost (quality 0)
  F  epochs 101-125  walking 30 m north, good fix
  G  epochs 126-140  standing at pole P2 (the walk's end point), good fix
Each epoch is RMC, GGA, GSA, GSV (2-3 sentences), GST; talker GP. Faults mixed in on purpose:
serial start-up noise before the first sentence, one GGA with a wrong checksum (epoch 40), one
RMC cut off mid-sentence (epoch 55), one line of binary garbage (after epoch 70).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from pathlib import Path

OUT = Path(__file__).with_name("walk_ha_tinh.nmea")
START = dt.datetime(2025, 3, 14, 1, 30, 0)
P1 = (18.343500, 105.906000)
M_PER_DEG_LAT = 110_574.0


def m_per_deg_lon(lat: float) -> float:
    return 111_320.0 * math.cos(math.radians(lat))


def offset(lat: float, lon: float, east_m: float, north_m: float) -> tuple[float, float]:
    return lat + north_m / M_PER_DEG_LAT, lon + east_m / m_per_deg_lon(lat)


def checksum(body: str) -> str:
    c = 0
    for ch in body:
        c ^= ord(ch)
    return f"{c:02X}"


def sentence(body: str) -> str:
    return f"${body}*{checksum(body)}"


def ddmm(value: float, lat: bool) -> tuple[str, str]:
    hemi = ("N" if value >= 0 else "S") if lat else ("E" if value >= 0 else "W")
    value = abs(value)
    deg = int(value)
    minutes = (value - deg) * 60
    return (f"{deg:02d}{minutes:09.6f}" if lat else f"{deg:03d}{minutes:09.6f}"), hemi


def main() -> None:
    rng = random.Random(20250314)
    # (prn, elevation, azimuth) of the GPS satellites above Hà Tĩnh that morning (made up).
    sky = [(2, 62, 40), (5, 18, 300), (7, 45, 120), (9, 71, 210), (13, 33, 80), (15, 12, 160),
           (18, 27, 250), (20, 55, 330), (23, 9, 20), (26, 40, 190), (29, 22, 100)]
    truth = []  # (phase, lat, lon, quality, sats, hdop, sigma_m)
    lat, lon = P1
    for _ in range(6):
        truth.append(("A", lat, lon, 0, 3, None, None))
    for _ in range(20):
        truth.append(("B", lat, lon, 1, rng.randint(9, 11), rng.uniform(0.8, 1.0), rng.uniform(1.4, 2.2)))
    heading = math.radians(68)  # east-north-east, clockwise from north
    for _ in range(60):
        lat, lon = offset(lat, lon, 1.3 * math.sin(heading), 1.3 * math.cos(heading))
        truth.append(("C", lat, lon, 1, rng.randint(8, 11), rng.uniform(0.8, 1.2), rng.uniform(1.5, 2.8)))
    for _ in range(12):
        lat, lon = offset(lat, lon, 0.4, 0.1)
        truth.append(("D", lat, lon, 1, rng.randint(5, 6), rng.uniform(3.5, 6.0), rng.uniform(9.0, 16.0)))
    for _ in range(2):
        truth.append(("E", lat, lon, 0, 3, None, None))
    for _ in range(25):
        lat, lon = offset(lat, lon, 0.0, 1.2)
        truth.append(("F", lat, lon, 1, rng.randint(8, 10), rng.uniform(0.9, 1.3), rng.uniform(1.6, 2.6)))
    for _ in range(15):
        truth.append(("G", lat, lon, 1, rng.randint(9, 11), rng.uniform(0.8, 1.0), rng.uniform(1.4, 2.0)))
    p2 = (lat, lon)

    lines = [
        "# Synthetic NMEA 0183 log, 1 Hz: an inspector's walk in Ha Tinh city, 2025-03-14 01:30 UTC.",
        "# Made by tests/data/make_walk_ha_tinh_nmea.py (deterministic; see its docstring for the",
        "# phases). Not recorded from a real receiver. Checksums computed independently of pynmea2.",
        f"# Truth: {len(truth)} epochs. P1 (epochs 7-26) {P1[0]:.6f} {P1[1]:.6f}; "
        f"P2 (epochs 126-140) {p2[0]:.6f} {p2[1]:.6f}.",
        "# Faults on purpose: start-up noise, a bad checksum (epoch 40 GGA), a truncated RMC",
        "# (epoch 55), a binary garbage line (after epoch 70); epochs 87-98 poor, 99-100 no fix.",
        "\x00\xff\x13$GPG\x7f",  # serial start-up noise
    ]
    # Error as a slowly wandering offset (AR(1)), as real receivers show, not white noise.
    err_e = err_n = 0.0
    for i, (phase, tlat, tlon, quality, sats, hdop, sigma) in enumerate(truth, start=1):
        t = START + dt.timedelta(seconds=i - 1)
        hhmmss = t.strftime("%H%M%S") + ".00"
        ddmmyy = t.strftime("%d%m%y")
        if sigma is not None:
            scale = sigma / 1.6
            err_e = 0.85 * err_e + rng.gauss(0, 0.5 * scale)
            err_n = 0.85 * err_n + rng.gauss(0, 0.5 * scale)
            mlat, mlon = offset(tlat, tlon, err_e, err_n)
        fixed = quality > 0
        used = [prn for prn, el, _ in sky if el >= (25 if phase == "D" else 8)][:sats] if fixed else []
        if fixed:
            la, ns = ddmm(mlat, True)
            lo, ew = ddmm(mlon, False)
            speed_kn = 0.0 if phase in "BG" else 1.3 * 1.943844
            course = {"C": 68.0, "D": 76.0, "F": 0.0}.get(phase, 0.0)
            rmc = f"GPRMC,{hhmmss},A,{la},{ns},{lo},{ew},{speed_kn:.2f},{course:.1f},{ddmmyy},,,A"
            alt = 6.2 + rng.uniform(-1.5, 1.5) * (3 if phase == "D" else 1)
            gga = (f"GPGGA,{hhmmss},{la},{ns},{lo},{ew},{quality},{len(used):02d},{hdop:.2f},"
                   f"{alt:.1f},M,-12.4,M,,")
            pdop, vdop = hdop * 1.6, hdop * 1.3
            gsa = f"GPGSA,A,3,{','.join(f'{p:02d}' for p in used)}{',' * (12 - len(used))},{pdop:.2f},{hdop:.2f},{vdop:.2f}"
            s_lat = sigma * rng.uniform(0.66, 0.74)
            s_lon = math.sqrt(max(sigma ** 2 - s_lat ** 2, 0.01))
            gst = (f"GPGST,{hhmmss},{sigma * 1.4:.1f},{max(s_lat, s_lon) * 1.05:.1f},"
                   f"{min(s_lat, s_lon) * 0.95:.1f},{rng.uniform(0, 180):.1f},{s_lat:.1f},{s_lon:.1f},"
                   f"{sigma * 1.8:.1f}")
        else:
            rmc = f"GPRMC,{hhmmss},V,,,,,,,{ddmmyy},,,N"
            gga = f"GPGGA,{hhmmss},,,,,0,00,99.99,,,,,,"
            gsa = "GPGSA,A,1,,,,,,,,,,,,,99.99,99.99,99.99"
            gst = None
        visible = sky if phase != "A" else sky[:3]
        gsv = []
        chunks = [visible[k:k + 4] for k in range(0, len(visible), 4)]
        for n, chunk in enumerate(chunks, start=1):
            sats_txt = ",".join(
                f"{prn:02d},{el:02d},{az:03d},{(rng.randint(32, 46) if prn in used else rng.randint(12, 24)) if phase not in 'AE' else rng.randint(8, 18):02d}"
                for prn, el, az in chunk)
            gsv.append(f"GPGSV,{len(chunks)},{n},{len(visible):02d},{sats_txt}")
        epoch = [sentence(rmc), sentence(gga), sentence(gsa)] + [sentence(g) for g in gsv]
        if gst:
            epoch.append(sentence(gst))
        if i == 40:  # one flipped digit in transit: the checksum no longer matches
            bad = epoch[1]
            k = bad.index(",", 7) + 3
            epoch[1] = bad[:k] + ("7" if bad[k] != "7" else "8") + bad[k + 1:]
        if i == 55:  # a sentence cut off when the cable moved
            epoch[0] = epoch[0][:31]
        lines += epoch
        if i == 70:
            lines.append("\x8f\x12\xa0\x01\xfe\x99\x00\x00\x7f garbage")
    # CRLF like a receiver sends; latin-1 so the garbage bytes are written as single bytes.
    OUT.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1", "replace"))
    print(f"{OUT}: {len(truth)} epochs, {len(lines)} lines; P2 = {p2[0]:.6f} {p2[1]:.6f}")


if __name__ == "__main__":
    main()
