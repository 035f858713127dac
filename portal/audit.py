"""Who did it: the actor behind every change, for django-simple-history.

Every project model declares ``history = audit_history()``. Each historical row records the
acting user (``history_user``) and a readable actor label (``history_actor``):

* web requests: the logged-in user (``user:alice``), set by ``ActorMiddleware``;
* API requests: the key's creator as user, and ``api_key:<prefix>`` as actor;
* Celery tasks and commands: the ``system`` user, and ``task:<name>`` as actor.

The actor lives in a context variable, so it is correct per thread and per task.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import models
from simple_history.models import HistoricalRecords

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    label: str


_current_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar(
    "portal_actor", default=None
)


def current_actor() -> Actor | None:
    return _current_actor.get()


def set_actor(actor: Actor | None) -> contextvars.Token:
    return _current_actor.set(actor)


def reset_actor(token: contextvars.Token) -> None:
    _current_actor.reset(token)


def actor_for_user(user) -> Actor:
    return Actor(user_id=user.pk, label=f"user:{user.get_username()}")


@contextlib.contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    token = set_actor(actor)
    try:
        yield actor
    finally:
        reset_actor(token)


def system_user():
    """The non-login user that tasks and commands act as."""
    user, _ = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"is_active": False, "first_name": "System", "last_name": "(automated)"},
    )
    return user


@contextlib.contextmanager
def acting_as_system(label: str) -> Iterator[Actor]:
    """Run a block (a Celery task, a command) as the system user."""
    with acting_as(Actor(user_id=system_user().pk, label=label)) as actor:
        yield actor


def _history_user(instance=None, request=None, **kwargs):
    actor = current_actor()
    if actor is not None and actor.user_id is not None:
        return get_user_model()(pk=actor.user_id)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def history_author(by=None) -> tuple[int | None, str]:
    """(user id, actor label) for historical rows written in bulk, as ``fill_history_actor``
    stamps them on rows written one by one: the acting task or key, else the logged-in user."""
    user = by if getattr(by, "pk", None) else None
    if user is None:
        user = _history_user(request=getattr(HistoricalRecords.context, "request", None))
    actor = current_actor()
    if actor is not None:
        return (user.pk if user is not None else actor.user_id), actor.label[:150]
    if user is not None:
        username = getattr(user, "username", None) or user.get_username()
        return user.pk, f"user:{username}"[:150]
    return None, ""


class HistoryActorFields(models.Model):
    """Extra columns on every historical table."""

    history_actor = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        abstract = True


def audit_history(**kwargs) -> HistoricalRecords:
    """The one way a project model gets its history table."""
    kwargs.setdefault("bases", [HistoryActorFields])
    kwargs.setdefault("get_user", _history_user)
    return HistoricalRecords(**kwargs)


def fill_history_actor(sender, history_instance, **kwargs) -> None:
    """pre_create_historical_record: stamp the actor label on the historical row."""
    if not hasattr(history_instance, "history_actor"):
        return
    actor = current_actor()
    if actor is not None:
        history_instance.history_actor = actor.label[:150]
    elif history_instance.history_user_id:
        user = history_instance.history_user
        history_instance.history_actor = f"user:{user.get_username()}"[:150]
