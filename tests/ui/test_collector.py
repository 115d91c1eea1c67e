"""The app's garbage-collection policy (ui/collector.py): full passes walk only what was made
after the window was built, and never run on a worker thread."""

import gc
import threading

from hatang_desktop.ui import collector


def test_after_the_freeze_a_full_pass_walks_only_new_objects(qapp):
    startup = [[i] for i in range(50_000)]   # what imports and the window leave alive
    try:
        collector.freeze_startup()
        assert gc.get_freeze_count() >= len(startup)
        made_later = [[i] for i in range(1_000)]
        tracked = len(gc.get_objects())
        assert tracked < len(startup), tracked   # a pass walks these, not the startup's 50k
        del made_later
    finally:
        gc.unfreeze()


def test_no_automatic_collection_once_installed(qapp):
    was = gc.isenabled()
    gc.enable()
    try:
        collector.install(qapp)
        assert not gc.isenabled()   # collections come from the GUI thread's timer alone
        collected_on = []
        gc.callbacks.append(lambda phase, _info: collected_on.append(threading.current_thread().name)
                            if phase == "start" else None)
        try:
            worker = threading.Thread(target=lambda: [[[]] for _ in range(200_000)], name="worker")
            worker.start()
            worker.join()
        finally:
            gc.callbacks.pop()
        assert "worker" not in collected_on
    finally:
        qapp._hatang_gc.timer.stop()
        del qapp._hatang_gc
        if was:
            gc.enable()
        else:
            gc.disable()
