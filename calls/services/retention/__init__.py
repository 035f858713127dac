"""Retention and deletion of calls, and the legal holds that stop it, in one place.

* ``rules``: the retention rules per tenant and category, and the sweep that applies them
  (storage limitation, Art. 5(1)(e); a minimum period, Art. 17(3)(b)/(e));
* ``holds``: legal holds (Art. 17(3)): what is held at a moment, placing and releasing holds;
* ``deletion``: the one guard ``call_deletion_blockers`` and the one deletion ``call_delete``,
  files removed from storage (every version) after commit.
"""
