"""The app on a real X display, as a user starts it: `hatang-desktop DB` as its own process with
Qt's xcb platform on Xvfb (not offscreen), driven by xdotool key presses and mouse clicks.

The rest of the UI tests run offscreen, which needs none of the xcb libraries: this is the test
that fails when the app would abort on a user's screen ("Could not load the Qt platform plugin
xcb"). Xvfb, xauth and xdotool come from `.ci/setup --test`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hatang_desktop.core.geo.projection import lonlat_to_mercator

# The installed app by default; the bundle's smoke test (installer/build_linux.sh) points this at
# the frozen one.
APP = os.environ.get("HATANG_DESKTOP_APP") or str(Path(sys.executable).parent / "hatang-desktop")
SCREEN = (1366, 768)
SITE_CODE = "HT-XCB-001"


def _need(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: run .ci/setup --test (it installs Xvfb, xauth and xdotool)")
    return path


@pytest.fixture
def display(tmp_path):
    """A throwaway X server on a free display number (Xvfb picks it and writes it to a pipe)."""
    xvfb = _need("Xvfb")
    _need("xdotool")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen([xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24",
                             "-nolisten", "tcp"], pass_fds=(write_fd,), stderr=subprocess.DEVNULL)
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    assert number, "Xvfb did not start"
    # Accepting connections before the app is started (once in CI under load the app found
    # none at the number Xvfb had just written: "could not connect to display :0").
    deadline = time.monotonic() + 15
    while xdo(f":{number}", "getdisplaygeometry", check=False) == "":
        assert proc.poll() is None and time.monotonic() < deadline, f"Xvfb on :{number} accepts no connection"
        time.sleep(0.1)
    try:
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def xdo(display: str, *args: str, check: bool = True) -> str:
    out = subprocess.run(["xdotool", *args], env={**os.environ, "DISPLAY": display}, capture_output=True,
                         text=True, timeout=30)
    if check:
        assert out.returncode == 0, f"xdotool {' '.join(args)}: {out.stderr}"
    return out.stdout.strip()


def wait_window(display: str, name: str, app: subprocess.Popen, timeout: float = 60, log: Path | None = None) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        said = log.read_text(errors="replace")[-2000:] if log is not None and log.exists() else ""
        assert app.poll() is None, f"the app ended with exit code {app.returncode} before '{name}' showed:\n{said}"
        found = xdo(display, "search", "--onlyvisible", "--name", name, check=False)
        if found:
            return found.splitlines()[0]
        time.sleep(0.2)
    raise AssertionError(f"no window named '{name}' after {timeout} s")


def screenshot(display: str, path: Path):
    from PIL import ImageGrab

    image = ImageGrab.grab(xdisplay=display)
    image.save(path)
    return image


def test_the_app_starts_on_a_real_display_and_adds_a_site(display, sample_db_path, tmp_path):
    data_dir = tmp_path / "userdata"
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb", "HATANG_DATA_DIR": str(data_dir),
           "HATANG_USER": "xcb-test"}
    log = tmp_path / "app.log"
    with log.open("wb") as out:
        app = subprocess.Popen([APP, str(sample_db_path)], env=env,
                               stdout=out, stderr=subprocess.STDOUT)
    try:
        main = wait_window(display, "Hạ tầng Desktop", app, log=log)
        time.sleep(1.5)  # the database loads in the background after the window shows
        shot = screenshot(display, tmp_path / "main.png")
        assert shot.size == SCREEN
        # A drawn window, not a blank screen: the map, the legend and the toolbars have many colours.
        assert len(shot.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 50

        # Ctrl+1 (add a site), a click on the map, the form: type the code, Tab to the operator,
        # pick the first one, Enter saves. Exactly the keys a user presses.
        xdo(display, "windowfocus", "--sync", main)
        xdo(display, "key", "ctrl+1")
        width, height = (int(v) for v in xdo(display, "getwindowgeometry", "--shell", main)
                         .split("WIDTH=")[1].replace("HEIGHT=", "").split()[:2])
        xdo(display, "mousemove", "--window", main, str(width // 2), str(height // 2), "click", "1")
        form = wait_window(display, "Thêm trạm BTS", app, timeout=20)
        xdo(display, "windowfocus", "--sync", form)
        xdo(display, "type", "--delay", "20", SITE_CODE)
        xdo(display, "key", "Tab", "Down", "Return")
        deadline = time.monotonic() + 20
        while xdo(display, "search", "--onlyvisible", "--name", "Thêm trạm BTS", check=False):
            assert time.monotonic() < deadline, "the site form did not close after Enter"
            time.sleep(0.2)
        screenshot(display, tmp_path / "after_add.png")

        # Saved at once, for any other program reading the file while the app stays open.
        with sqlite3.connect(f"file:{sample_db_path}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT operator_code, updated_by, lat, lon FROM sites WHERE site_code = ?",
                               (SITE_CODE,)).fetchone()
        assert row is not None, "the site typed into the form is not in the database"
        assert row[0] and row[1] == "xcb-test"
        x, y = lonlat_to_mercator(row[3], row[2])
        assert abs(x) > 0 and abs(y) > 0

        xdo(display, "windowfocus", "--sync", main)
        xdo(display, "key", "ctrl+q")
        assert app.wait(30) == 0, log.read_text(errors="replace")
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    output = log.read_text(errors="replace")
    assert "Could not load the Qt platform plugin" not in output
    assert "Traceback" not in output, output
    crashes = list((data_dir / "logs").glob("crash-*")) if (data_dir / "logs").exists() else []
    assert not crashes, crashes[0].read_text(errors="replace")
