"""The gateway's route table: which controller answers which path prefix.

``register_route(prefix, controller)`` is the catalogue's name. A path goes to the longest
registered prefix that matches it at a segment boundary — ``/api/v1/workflows`` answers
``/api/v1/workflows/42/status`` but not ``/api/v1/workflowsX`` — so a more specific
controller can be mounted under a general one.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from auterity_desktop.core.errors import ErrorCode, ServiceError

_PREFIX = re.compile(r"^(/[A-Za-z0-9._~-]+)+$|^/$")


class RouteMatch(NamedTuple):  # a tuple: built on every request, so cheap to make
    prefix: str
    controller: Any
    rest: str  # the path after the prefix, starting with "/" (or "" for the prefix itself)


class RouteTable:
    def __init__(self) -> None:
        self._routes: dict[str, Any] = {}
        self._longest_first: list[str] = []

    @staticmethod
    def normalise(prefix: str) -> str:
        if not isinstance(prefix, str) or not prefix.startswith("/"):
            raise ServiceError(
                ErrorCode.INVALID_INPUT, "A route prefix starts with '/'", {"prefix": repr(prefix)}
            )
        cleaned = prefix.rstrip("/") or "/"
        if not _PREFIX.match(cleaned):
            raise ServiceError(
                ErrorCode.INVALID_INPUT,
                "A route prefix is '/'-separated segments of letters, digits, '.', '_', '~' or '-'",
                {"prefix": prefix},
            )
        return cleaned

    def register_route(self, prefix: str, controller: Any) -> str:
        """Mount ``controller`` at ``prefix``; ``CONFLICT`` if the prefix is taken."""
        cleaned = self.normalise(prefix)
        if cleaned in self._routes:
            raise ServiceError(
                ErrorCode.CONFLICT, f"A controller is already mounted at {cleaned}",
                {"prefix": cleaned},
            )  # fmt: skip
        self._routes[cleaned] = controller
        self._longest_first = sorted(self._routes, key=len, reverse=True)
        return cleaned

    def unregister_route(self, prefix: str) -> None:
        self._routes.pop(self.normalise(prefix), None)
        self._longest_first = sorted(self._routes, key=len, reverse=True)

    def match(self, path: str) -> RouteMatch:
        """The controller for ``path``; ``NOT_FOUND`` when no prefix matches."""
        if path[:1] == "/" and path[1:2] != "/" and "?" not in path:
            clean = path  # what a server hands over: nothing to tidy
        else:
            clean = "/" + path.split("?", 1)[0].lstrip("/")
        for prefix in self._longest_first:
            if prefix == "/":
                return RouteMatch(prefix, self._routes[prefix], clean if clean != "/" else "")
            if clean == prefix or clean.startswith(prefix + "/"):
                return RouteMatch(prefix, self._routes[prefix], clean[len(prefix) :])
        raise ServiceError(
            ErrorCode.NOT_FOUND, f"No route for {clean[:200]}", {"path": clean[:200]}
        )

    @property
    def prefixes(self) -> list[str]:
        return sorted(self._routes)
