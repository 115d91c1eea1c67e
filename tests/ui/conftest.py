"""UI tests run on Qt's offscreen platform: no display needed, same pixels."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest  # noqa: E402

from hatang_desktop.ui import strings  # noqa: E402


@pytest.fixture(autouse=True)
def _garbage_on_the_gui_thread():
    """As the app does (ui/app.py): no automatic cyclic collection, which could run in a worker
    thread and destroy a previous test's widgets there (a deadlock on the GIL seen in CI); the
    garbage is collected here, on the GUI thread, after each test.

    What is alive when the test starts (the modules, the app, the session's fixtures: ~160k
    objects in a fresh worker, more after a few hundred tests) is frozen first, so the collection
    after the test walks only what the test made: a full walk cost ~0.1-0.3 s of CPU per test,
    over 700 UI tests. Frozen objects are left to no collector at all, so none of them can be
    destroyed on a worker thread either."""
    import gc

    was = gc.isenabled()
    gc.disable()
    gc.freeze()
    yield
    gc.collect()
    if was:
        gc.enable()


@pytest.fixture(scope="session", autouse=True)
def _app_fonts(qapp):
    """The shipped fonts (DejaVu) as every real start loads them (ui/app.py), so a form's widths
    do not depend on whether an earlier test in the same process happened to load them."""
    from hatang_desktop.ui.app import load_fonts

    assert load_fonts(qapp), "the shipped fonts did not load"


@pytest.fixture(autouse=True)
def _vietnamese():
    strings.set_language("vi")
    yield
    strings.set_language("vi")


@pytest.fixture(autouse=True)
def _own_settings(tmp_path_factory):
    """Settings (the last basemap) go to a temp folder, never to the user's real ones."""
    from PySide6.QtCore import QSettings

    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                      str(tmp_path_factory.mktemp("settings")))


@pytest.fixture
def window(qtbot, sample_db_path):
    import pyqtgraph as pg

    from hatang_desktop.ui.main_window import MainWindow

    pg.setConfigOptions(antialias=True)
    w = MainWindow()
    qtbot.addWidget(w)
    w.load_database(sample_db_path)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    w.canvas.zoom_full()
    return w
