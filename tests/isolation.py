"""The reusable tenant-isolation harness.

It walks every URL the project registers under ``/api/v1/`` and ``/dashboard/``. For each route
that takes an object id it creates an object of tenant B (through ``MODEL_FACTORIES``) and
requests it as tenant A with every method the route accepts: the answer must be 404 and must not
contain the object. For each list route it checks that B's object is not listed to A.

A new endpoint or page is covered the moment it is registered; a model reachable by URL without
a factory fails the suite, so nobody can forget it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

ID_KWARGS = ("pk", "id")


@dataclass
class Route:
    path: str  # with <pk> placeholders
    callback: object
    name: str | None

    @property
    def id_kwarg(self) -> str | None:
        for kwarg in ID_KWARGS:
            if f"<{kwarg}>" in self.path:
                return kwarg
        return None

    def url(self, pk) -> str:
        return self.path.replace(f"<{self.id_kwarg}>", str(pk))


def _simplify(regex: str) -> str:
    """``^calls/(?P<pk>[^/.]+)/$`` → ``calls/<pk>/``; ``<int:pk>`` → ``<pk>``."""
    text = regex.lstrip("^").rstrip("$").replace("\\Z", "")
    text = re.sub(r"\(\?P<(\w+)>[^)]*\)", r"<\1>", text)
    text = re.sub(r"<\w+:(\w+)>", r"<\1>", text)
    text = text.replace("\\.", ".").replace("\\", "")
    return text


def walk(patterns=None, prefix: str = "") -> list[Route]:
    patterns = get_resolver().url_patterns if patterns is None else patterns
    routes: list[Route] = []
    for pattern in patterns:
        part = _simplify(str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            routes.extend(walk(pattern.url_patterns, prefix + part))
        elif isinstance(pattern, URLPattern):
            routes.append(Route("/" + prefix + part, pattern.callback, pattern.name))
    return routes


def api_routes() -> list[Route]:
    return [r for r in walk() if r.path.startswith("/api/v1/")]


def dashboard_routes() -> list[Route]:
    return [r for r in walk() if r.path.startswith("/dashboard/")]


def route_model(route: Route):
    """The model a route serves: a viewset's queryset model, or a view's ``model``."""
    view_class = getattr(route.callback, "cls", None) or getattr(route.callback, "view_class", None)
    if view_class is None:
        return None
    queryset = getattr(view_class, "queryset", None)
    if queryset is not None:
        return queryset.model
    return getattr(view_class, "model", None)


def route_methods(route: Route) -> list[str]:
    actions = getattr(route.callback, "actions", None)
    if actions:
        allowed = getattr(route.callback.cls, "http_method_names", list(actions))
        return [m.upper() for m in actions if m in allowed and m not in ("head", "options")]
    view_class = getattr(route.callback, "view_class", None)
    if view_class is not None:
        return [
            m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
        ]
    return ["GET"]


def list_results(response) -> list:
    data = response.json()
    if isinstance(data, dict) and "results" in data:
        return data["results"]
    return data if isinstance(data, list) else []
