"""The Celery app. Without CELERY_BROKER_URL tasks run in-process (see settings)."""

import os

from celery import Celery
from celery.contrib.django.task import DjangoTask

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


class PortalTask(DjangoTask):
    """Every task runs as the system user, so history records who acted (``task:<name>``)."""

    def __call__(self, *args, **kwargs):
        from portal.audit import acting_as_system

        with acting_as_system(f"task:{self.name}"):
            return super().__call__(*args, **kwargs)


app = Celery("portal", task_cls=PortalTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
