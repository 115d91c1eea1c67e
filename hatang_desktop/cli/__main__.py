"""`python -m hatang_desktop.cli`, as tests and benchmarks start the command."""

import sys

from .main import main

sys.exit(main())
