"""The DPO's work queues on the admin home page.

Each app registers providers in its ``AppConfig.ready``; a provider takes the request and
returns queues already scoped to what the user may see. The admin home shows them in order of
urgency: ``danger`` (overdue, a breach clock running) first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

SEVERITY_ORDER = {"danger": 0, "warning": 1, "info": 2, "ok": 3}


@dataclass
class QueueItem:
    label: str
    url: str
    detail: str = ""
    severity: str = "info"


@dataclass
class WorkQueue:
    title: str
    count: int
    url: str
    severity: str = "info"
    items: list[QueueItem] = field(default_factory=list)
    order: int = 100


_providers: list[Callable] = []


def register(provider: Callable) -> Callable:
    if provider not in _providers:
        _providers.append(provider)
    return provider


def queues_for(request) -> list[WorkQueue]:
    queues: list[WorkQueue] = []
    for provider in _providers:
        queues.extend(provider(request))
    return sorted(
        queues, key=lambda q: (SEVERITY_ORDER.get(q.severity, 9) if q.count else 8, q.order)
    )
