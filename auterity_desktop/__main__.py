"""`python -m auterity_desktop` behaves exactly like the `auterity` command."""

from auterity_desktop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
