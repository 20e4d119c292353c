"""Entry script of the frozen application: the same ``auterity`` command line (no arguments
opens the window).

``multiprocessing.freeze_support()`` comes first, before anything heavy is imported: the
process-mining workers are started with ``spawn``, which runs this executable again with
multiprocessing's own arguments; the call turns such a process into the worker (or the
resource tracker) and exits it when its work is done.

The bundle leaves Pillow out (see auterity.spec): fpdf2 then warns once, on import, that it
could not add images to a PDF, which the reports never do.
"""

import multiprocessing
import os
import sys
import warnings


def main() -> int:
    multiprocessing.freeze_support()
    warnings.filterwarnings("ignore", "Pillow could not be imported", UserWarning)
    if sys.stdout is None or sys.stderr is None:  # a windowed executable (Windows, macOS)
        devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - for the whole run
        sys.stdout = sys.stdout or devnull
        sys.stderr = sys.stderr or devnull

    from auterity_desktop.cli import main as cli_main

    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
