"""Entry point of the bundled desktop app (PyInstaller runs this file, not the console script)."""

import sys

if __name__ == "__main__":
    if sys.argv[1:2] == ["--hatang-read-process"]:   # read_process.WORKER_ARG: the map's reading process
        from hatang_desktop.ui.read_process import worker_main

        sys.exit(worker_main(sys.argv[2:]))
    from hatang_desktop.ui.app import main

    sys.exit(main())
