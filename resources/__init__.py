"""Icons and themes shipped with the application (read with importlib.resources)."""
