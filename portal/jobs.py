"""Periodic jobs that work item by item (a tenant's rule, a delivery, a request): one item's
failure is logged and reported in the job's result, and never stops the items after it — one
tenant's bad data must not stop a job for every other tenant (Art. 5(1)(e) and Art. 32(1)(b):
the storage limit and the resilience of processing hold for all of them)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger("portal.jobs")


@dataclass
class JobFailures:
    job: str
    failed: list[dict[str, str]] = field(default_factory=list)

    def run(self, item: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``; on any error, log it, note it against ``item``, return None."""
        try:
            return fn(*args, **kwargs)
        except Exception as exc:
            logger.exception("%s: %s failed", self.job, item)
            self.failed.append({"item": item, "error": f"{type(exc).__name__}: {exc}"})
            return None

    def as_dict(self) -> dict[str, Any]:
        return {"failed": len(self.failed), "failures": self.failed}
