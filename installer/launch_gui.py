"""Entry point of the bundled desktop app (PyInstaller runs this file, not the console script)."""

import sys

from hatang_desktop.ui.app import main

if __name__ == "__main__":
    sys.exit(main())
