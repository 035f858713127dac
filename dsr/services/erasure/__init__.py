"""Erasure (Art. 17): approval, execution, deferral, history scrubbing, the residual-data scan,
certificates and tombstones. See docs/erasure.md.

The request machinery calls three functions and nothing else for erasure:

* ``erasure_approval_check`` — who may approve an erasure request (four-eyes);
* ``erasure_approved`` — called in the approving transaction (by a person or by the tenant's
  policy ``auto_approve_erasure``): the erasure task starts once it commits;
* ``erasure_discovery_action`` — what discovery says will happen to an item.

The work itself:

* ``items`` — what an erasure finds and how each item is erased or deferred;
* ``execution`` — the task's run, resuming, deferred items, stuck work;
* ``scan`` — the residual-data scan (database, history, storage);
* ``certificate`` — the erasure certificate;
* ``tombstones`` — re-applying erasures after a backup restore.
"""

from dsr.services.erasure.approval import (
    erasure_approval_check,
    erasure_approved,
    erasure_discovery_action,
)

__all__ = ["erasure_approval_check", "erasure_approved", "erasure_discovery_action"]
