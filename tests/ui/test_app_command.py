"""`hatang-desktop DB --screenshot OUT.png`, run as users and scripts run it: a new process."""

import os
import subprocess
import sys

from PySide6.QtGui import QImage


def _run(*args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    return subprocess.run([sys.executable, "-m", "hatang_desktop.ui.app", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_screenshot_writes_png_of_window_size(sample_db_path, tmp_path):
    out = tmp_path / "shot.png"
    result = _run(sample_db_path, "--screenshot", out)
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1366, 768)


def test_screenshot_in_english_at_a_chosen_size(sample_db_path, tmp_path):
    out = tmp_path / "shot_en.png"
    result = _run(sample_db_path, "--lang", "en", "--screenshot", out, "--size", "1024x700")
    assert result.returncode == 0, result.stderr
    image = QImage(str(out))
    assert (image.width(), image.height()) == (1024, 700)


def test_non_database_file_exits_2_with_message(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"PK\x03\x04 this is a zip, not a database")
    out = tmp_path / "never.png"
    result = _run(bad, "--screenshot", out)
    assert result.returncode == 2
    assert "không phải tệp cơ sở dữ liệu SQLite" in result.stderr
    assert not out.exists()


def test_missing_file_exits_2(tmp_path):
    result = _run(tmp_path / "missing.db", "--screenshot", tmp_path / "x.png")
    assert result.returncode == 2
    assert "không tìm thấy tệp" in result.stderr


def _small_sample(monkeypatch, tmp_path):
    """The bundled sample, but small and in tmp_path: tests never write into the source tree."""
    import hatang_desktop.core.sample as sample
    import hatang_desktop.paths as paths

    real = sample.generate_sample
    target = tmp_path / "sample_db" / "ha_tinh_sample.db"
    target.parent.mkdir()
    calls = []

    def small(path, **kwargs):
        calls.append(path)
        return real(path, sites=200, seed=3, **kwargs)

    monkeypatch.setattr(paths, "bundled_sample_db", lambda: target)
    monkeypatch.setattr(sample, "generate_sample", small)
    return target, calls


def test_no_database_argument_creates_and_opens_the_sample(qapp, monkeypatch, tmp_path, capsys):
    from hatang_desktop.ui.app import main

    target, calls = _small_sample(monkeypatch, tmp_path)
    out = tmp_path / "first_run.png"
    assert main(["--screenshot", str(out), "--size", "800x600"]) == 0
    assert calls == [target] and target.exists()
    assert "Đang tạo cơ sở dữ liệu mẫu" in capsys.readouterr().err
    assert QImage(str(out)).width() == 800
    assert main(["--screenshot", str(out)]) == 0  # second run: opens it, makes nothing
    assert len(calls) == 1


def test_sample_creation_with_progress_dialog(qapp, monkeypatch, tmp_path):
    from hatang_desktop.ui.app import ensure_sample

    target, calls = _small_sample(monkeypatch, tmp_path)
    ensure_sample(target, console=False)
    assert calls == [target] and target.exists()


AFTER_SCREENSHOT = r"""
import sys, time
from PySide6.QtCore import QRunnable, QThreadPool
from hatang_desktop.ui import app

done = []


class Slow(QRunnable):   # a map job still running when the picture is taken
    def run(self):
        time.sleep(1.0)
        done.append(1)


real = app.take_screenshot


def shot(*args):
    real(*args)
    QThreadPool.globalInstance().start(Slow())


app.take_screenshot = shot
code = app.main(sys.argv[1:])
print("finished" if done else "still running", QThreadPool.globalInstance().activeThreadCount())
sys.exit(code)
"""


def test_the_screenshot_command_ends_after_the_map_jobs(sample_db_path, tmp_path):
    """A background job still running when the command ended failed in Python's teardown and
    PySide printed "Error calling Python override of QRunnable::run()" (seen on the national
    sample): the command now waits for them."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", AFTER_SCREENSHOT, str(sample_db_path), "--screenshot",
                             str(tmp_path / "shot.png")], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["finished", "0"]
    assert "Error calling" not in result.stderr
