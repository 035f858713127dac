"""Writes for consent (one module per subject, all importable from here):

* ``purposes`` — purposes (no catch-all, codes never change);
* ``notices`` — privacy-notice versions (evidence once shown);
* ``ledger`` — giving and withdrawing, and the current state behind the consent check;
* ``sms`` — SMS consent notices;
* ``restrictions`` — restriction and objection of processing (Art. 18, 21);
* ``suppression`` — what outlives an erasure (by the number's tombstone);
* ``sms`` also reads inbound SMS: STOP withdraws consent given by SMS (Art. 7(3)).
"""

from consent.services.ledger import (
    CONSENT_METHODS,
    METHODS_BY_BASIS,
    consent_give,
    consent_withdraw,
)
from consent.services.notices import (
    notice_create,
    notice_delete,
    notice_digest,
    notice_resolve,
    notice_update,
)
from consent.services.purposes import (
    BUNDLED_MESSAGE,
    CATCH_ALL_CODES,
    lawful_basis_validate,
    purpose_code_validate,
    purpose_create,
    purpose_delete,
    purpose_description_validate,
    purpose_law_validate,
    purpose_resolve,
    purpose_update,
)
from consent.services.restrictions import (
    processing_restriction_lift,
    processing_restriction_place,
)
from consent.services.sms import sms_inbound_receive, sms_notice_render, sms_notice_send
from consent.services.suppression import (
    SUPPRESSION_EXPLANATION,
    suppression_record,
    suppressions_for,
)

__all__ = [
    "SUPPRESSION_EXPLANATION",
    "BUNDLED_MESSAGE",
    "CATCH_ALL_CODES",
    "CONSENT_METHODS",
    "METHODS_BY_BASIS",
    "consent_give",
    "consent_withdraw",
    "lawful_basis_validate",
    "notice_create",
    "notice_delete",
    "notice_digest",
    "notice_resolve",
    "notice_update",
    "processing_restriction_lift",
    "processing_restriction_place",
    "purpose_code_validate",
    "purpose_law_validate",
    "purpose_create",
    "purpose_delete",
    "purpose_description_validate",
    "purpose_resolve",
    "purpose_update",
    "sms_inbound_receive",
    "sms_notice_render",
    "sms_notice_send",
    "suppression_record",
    "suppressions_for",
]
