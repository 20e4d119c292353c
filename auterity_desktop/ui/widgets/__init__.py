"""Reusable widgets, item delegates and small Qt helpers that more than one page (or a
later editor) uses."""
