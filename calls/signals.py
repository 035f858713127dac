"""Signals the calls app sends, for apps that build on it to react without calls knowing them.

``hold_released``: a legal hold was released (sent after the transaction commits), with
``hold``. The requests app resumes the erasures the hold deferred (Art. 17(1)): once nothing
keeps the data any more, it is erased without undue delay.
"""

from django.dispatch import Signal

hold_released = Signal()
