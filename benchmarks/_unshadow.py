"""``benchmarks/queue.py`` shares its name with the standard library's ``queue``, which
asyncio's thread pools and aiosqlite import. A script run from this folder has the folder
first on the import path, so every benchmark imports this module before anything else: it
takes the folder off the path."""

import sys
from pathlib import Path

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
