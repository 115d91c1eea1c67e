"""Build hook: the shipped data that sits at the top of the repository goes into the package.

forms/, resources/ and the sample's README stay where they are (DESIGN.md); a wheel carries them
as hatang_desktop/_data/<folder>/..., where hatang_desktop.paths.data_dir finds them. An editable
install copies nothing: it reads the checkout's folders. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import os
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
PACKAGE = "hatang_desktop"
DATA = "_data"  # hatang_desktop/paths.py: DATA_PACKAGE_DIR
# folder -> the files of it that ship (glob patterns, "**" recursive). sample_db/ ships its README
# only: the database is built on first start (it is ~25 MB) and make_sample.py is a checkout tool.
SHIPPED = {
    "forms": ["**/*"],
    "resources": ["**/*"],
    "sample_db": ["README.md"],
}


def _shipped_files() -> list[tuple[str, Path]]:
    """(path inside the package, source file) for every shipped data file."""
    files = []
    for folder, patterns in SHIPPED.items():
        base = HERE / folder
        found = {p for pattern in patterns for p in base.glob(pattern)}
        for source in sorted(found):
            rel = source.relative_to(base)
            if not source.is_file() or any(part.startswith(".") or part == "__pycache__"
                                           for part in rel.parts):
                continue
            files.append(("/".join((DATA, folder, *rel.parts)), source))
    if not files:
        raise SystemExit(f"setup.py: no data found under {HERE} ({', '.join(SHIPPED)})")
    return files


class build_py_with_data(build_py):
    """build_py, plus the top-level data folders copied into the built package."""

    def _data_targets(self) -> list[tuple[str, str]]:
        package_dir = os.path.join(self.build_lib, *PACKAGE.split("."))
        return [(os.path.join(package_dir, *inside.split("/")), str(source))
                for inside, source in _shipped_files()]

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # the checkout's own folders are read in place
        for target, source in self._data_targets():
            self.mkpath(os.path.dirname(target))
            self.copy_file(source, target, preserve_mode=False)

    def get_outputs(self, include_bytecode=True):
        return list(super().get_outputs(include_bytecode)) + [t for t, _ in self._data_targets()]

    def get_output_mapping(self):
        # setuptools' strict editable mode links these outputs instead of copying them.
        mapping = dict(super().get_output_mapping())
        mapping.update(self._data_targets())
        return mapping


setup(cmdclass={"build_py": build_py_with_data})
