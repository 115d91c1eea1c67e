"""Build the bundled sample database, sample_db/ha_tinh_sample.db.

The same as `hatang sample sample_db/ha_tinh_sample.db --force`: Hà Tĩnh (code 42), 3,600 sites,
seed 2025. The file is built rather than committed (it is ~25 MB and fully determined by the code
and resources/); the app builds it on first start when it is missing, and the installer builds
it into the bundle.
"""

from __future__ import annotations

import sys

from hatang_desktop.core.sample import generate_sample
from hatang_desktop.paths import shipped_sample_db as bundled_sample_db


def main() -> int:
    path = bundled_sample_db()
    counts = generate_sample(path, overwrite=True,
                             progress=lambda stage, f: print(f"{f:4.0%} {stage}", file=sys.stderr))
    print(f"{path}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
