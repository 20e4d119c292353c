"""Domain services (workflows, AI, analytics, integrations, messaging, security, monitoring).

Qt-free and async. Each domain lives in its own subpackage; nothing here may import PySide6,
qasync or pyqtgraph (import-linter enforces it and a test imports this package in a fresh
interpreter to prove it).
"""
