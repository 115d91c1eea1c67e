"""Entry point of the bundled `hatang` command, shipped beside the desktop app."""

import sys

from hatang_desktop.cli import main

if __name__ == "__main__":
    sys.exit(main())
