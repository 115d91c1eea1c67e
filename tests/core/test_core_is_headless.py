import subprocess
import sys


def test_core_imports_no_qt():
    code = (
        "import sys, pkgutil, importlib, hatang_desktop.core as core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'hatang_desktop.core.'):\n"
        "    importlib.import_module(m.name)\n"
        "import hatang_desktop.cli\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
