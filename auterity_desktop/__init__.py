"""Auterity Desktop: the operations console of the Auterity workflow-automation platform.

Importing the package must stay cheap and Qt-free: the CLI, the REST API and the tests
import it without a display, and the GUI's start-up time depends on it.
"""

__version__ = "0.1.0"
APP_NAME = "Auterity Desktop"
APP_ID = "auterity-desktop"

__all__ = ["APP_ID", "APP_NAME", "__version__"]
