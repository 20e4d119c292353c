"""Who a CLI command acts as: the operating-system user at this computer, as an admin.

Whoever can run the command can already read the database file and the keyring, so asking
for a password would protect nothing; the OS user name still goes into every audit entry.
"""

from __future__ import annotations

import getpass

from auterity_desktop.services.security.permissions import ALL
from auterity_desktop.services.security.principal import Principal


def local_actor() -> Principal:
    return Principal(None, f"cli:{getpass.getuser()}", "admin", ALL)
