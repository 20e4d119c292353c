"""The PySide6 desktop GUI. Everything Qt lives below this package; it reaches the service
layer only through ``auterity_desktop.platform.Platform``."""
