"""The tenant dashboard's consent pages (mounted under /dashboard/consent/ by consent/urls.py).

Thin views over the services and selectors the API uses: the same rules and messages.
Everyone reads; agents and up record consent and withdrawals and send SMS consent notices
(the API's roles for ``POST /api/v1/consents/`` and ``/consent/sms-notices/``); admins and
owners define purposes and publish privacy notices (the API's ``write_role`` there).

* ``ledger`` — the ledger, one event, a subject's page, recording by hand, the withdraw button;
* ``purposes`` and ``notices`` — their lists, pages and forms;
* ``sms`` — sending an SMS consent notice;
* ``overview`` — the overview's "Consent rate per purpose" panel.
"""
