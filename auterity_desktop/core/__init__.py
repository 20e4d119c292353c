"""Qt-free building blocks shared by every service: errors, lifecycle, events, caching,
pooling, recovery, metrics, logging and the database.

Submodules are imported explicitly (``from auterity_desktop.core.errors import ...``) so
that importing one piece never drags in SQLAlchemy or anything else heavy.
"""
