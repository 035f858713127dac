"""Celery tasks of the consent app.

None yet: consent is recorded and withdrawn as it arrives (``consent.services``). Periodic
consent work belongs here, beside the other apps' ``tasks.py``.
"""
