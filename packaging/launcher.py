"""Entry script of the frozen application: the same ``auterity`` command line (no arguments
opens the window)."""

from auterity_desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
