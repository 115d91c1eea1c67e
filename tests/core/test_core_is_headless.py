import ast
import subprocess
import sys
from pathlib import Path

import hatang_desktop

CORE = Path(hatang_desktop.__file__).parent / "core"


def test_core_imports_no_qt():
    code = (
        "import sys, pkgutil, importlib, hatang_desktop.core as core, hatang_desktop.cli as cli\n"
        "for package in (core, cli):\n"
        "    for m in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        if m.name != 'hatang_desktop.cli.__main__':\n"
        "            importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def _command_line_code(path: Path) -> list[str]:
    """What makes a module a command: argparse, print(), sys.exit/exit(), sys.argv, sys.stdout."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
            if "argparse" in names:
                found.append(f"{node.lineno}: imports argparse")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("print", "exit"):
            found.append(f"{node.lineno}: {node.func.id}()")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "sys"
              and node.attr in ("exit", "argv", "stdout", "stderr")):
            found.append(f"{node.lineno}: sys.{node.attr}")
    return found


def test_core_holds_no_command_line_code():
    # The `hatang` command lives in hatang_desktop/cli: core returns values and raises, the
    # command prints them and chooses the exit code.
    offenders = {str(p.relative_to(CORE)): found for p in sorted(CORE.rglob("*.py")) if (found := _command_line_code(p))}
    assert offenders == {}
