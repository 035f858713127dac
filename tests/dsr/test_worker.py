"""The access flow with a real Celery worker consuming a real Redis broker (CI sets
TEST_REDIS_URL): API → verify → approve in the admin → the worker builds the package → download.
"""

import os
import threading
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_prerun
from django.db import OperationalError

from dsr.models import AccessPackage, DataSubjectRequest
from portal.celery import app as celery_app
from tests.dsr import flow

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not REDIS_URL, reason="set TEST_REDIS_URL to run against a real broker"),
    pytest.mark.django_db(transaction=True),
]


def drop_connection_pool() -> None:
    """Forget broker connections made for another broker (App.close would also unregister
    the app, and tasks imported later would not find it)."""
    producers = celery_app.amqp._producer_pool
    if producers is not None:
        producers.force_close_all()
    celery_app.amqp._producer_pool = None
    if celery_app._pool is not None:
        celery_app._pool.force_close_all()
    celery_app._pool = None


@pytest.fixture
def redis_worker(settings):
    """A worker thread on a queue of its own, so parallel test runs never take each other's
    tasks; the app sends to the broker (not in-process) for the duration of the test."""
    queue = f"test-dsr-{uuid.uuid4().hex[:12]}"
    keys = ("broker_url", "task_always_eager", "task_default_queue", "result_backend")
    previous = {key: celery_app.conf[key] for key in keys}
    settings.CELERY_TASK_ALWAYS_EAGER = False
    drop_connection_pool()
    celery_app.conf.update(
        broker_url=REDIS_URL,
        task_always_eager=False,
        task_default_queue=queue,
        result_backend=None,
    )
    try:
        with start_worker(
            celery_app,
            pool="solo",
            queues=[queue],
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=30,
        ) as worker:
            yield worker
    finally:
        celery_app.conf.update(previous)
        drop_connection_pool()


def wait_for(condition, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = condition()
        except OperationalError:  # SQLite's shared in-memory test database: a table is locked
            result = None
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError("the worker did not finish in time")


def test_access_package_built_by_a_real_worker_on_redis(
    redis_worker, subject, api_a, client, dpo_user
):
    builders = []

    def record_thread(sender=None, **kwargs):
        if sender is not None and sender.name == "dsr.tasks.package_build":
            builders.append(threading.current_thread())

    task_prerun.connect(record_thread, weak=False)
    created = flow.open_via_api(api_a)
    flow.verify_and_approve_in_admin(client, dpo_user, created["id"])
    # The approval only queued the work: the worker thread builds the package.
    package = wait_for(
        lambda: AccessPackage.objects.filter(request_id=created["id"], status="ready").first()
    )
    request = wait_for(
        lambda: DataSubjectRequest.objects.filter(pk=created["id"], status="completed").first()
    )
    task_prerun.disconnect(record_thread)
    assert builders and threading.main_thread() not in builders  # built by the worker thread
    assert request.packages.count() == 1
    content = flow.download(api_a, created["id"])
    assert package.size_bytes == len(content)
    flow.check_package(content, subject, created["id"])
