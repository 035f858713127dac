"""Purposes: specific, each with a plain description and a default lawful basis (Art. 5(1)(b),
Art. 6(1)). There is no catch-all purpose, and a purpose's code never changes."""

from __future__ import annotations

import re

from django.db import transaction

from consent.models import LawfulBasis, Purpose
from consent.selectors import purpose_in_use
from portal.errors import BusinessRuleError
from portal.models import Tenant
from portal.services import full_clean_or_raise

# No catch-all purpose: a purpose must be specific (Art. 5(1)(b)). Compared without separators.
CATCH_ALL_CODES = frozenset(
    {
        "*",
        "all",
        "any",
        "anything",
        "everything",
        "general",
        "generic",
        "misc",
        "miscellaneous",
        "other",
        "others",
        "various",
        "allpurposes",
        "anypurpose",
    }
)
# The Art. 9(2) grounds a special-category purpose may rest on, by the Art. 6(1) basis they go
# with. Legitimate interests is none of them (Art. 9(1)).
ART9_GROUNDS: dict[str, str] = {
    LawfulBasis.CONSENT: "explicit consent — Art. 9(2)(a)",
    LawfulBasis.LEGAL_OBLIGATION: "obligations of employment and social security law — "
    "Art. 9(2)(b); substantial public interest laid down by law — Art. 9(2)(g)",
    LawfulBasis.VITAL_INTERESTS: "vital interests of a subject unable to consent — Art. 9(2)(c)",
    LawfulBasis.CONTRACT: "health or social care under a contract with a health professional — "
    "Art. 9(2)(h), 9(3)",
    LawfulBasis.PUBLIC_TASK: "substantial public interest — Art. 9(2)(g); public health — "
    "Art. 9(2)(i)",
}
BUNDLE_SEPARATORS = re.compile(r"[,;+&|\s]+")
BUNDLED_MESSAGE = (
    "One purpose per consent event: consent must be specific (Art. 6(1)(a), 7(2)). "
    "Record each purpose as its own event."
)


def purpose_code_validate(code: str) -> str:
    code = (code or "").strip().lower()
    if not code:
        raise BusinessRuleError("A purpose needs a code.", code="required", field="code")
    if re.sub(r"[-_\s]", "", code) in CATCH_ALL_CODES:
        raise BusinessRuleError(
            f"{code!r} is a catch-all: a purpose must be specific (Art. 5(1)(b)). Define one "
            "purpose per thing you do with the calls, e.g. 'quality_assurance', 'marketing'.",
            code="catch_all_purpose",
            field="code",
        )
    return code


def purpose_description_validate(description: str) -> str:
    description = (description or "").strip()
    if not description:
        raise BusinessRuleError(
            "Describe the purpose in plain words: subjects are told this text.",
            code="required",
            field="description",
        )
    return description


def lawful_basis_validate(value: str | None, *, field: str = "lawful_basis") -> str:
    if not value:
        raise BusinessRuleError(
            "Name the lawful basis (Art. 6(1)): one of " + ", ".join(LawfulBasis.values) + ".",
            code="required",
            field=field,
        )
    if value not in LawfulBasis.values:
        raise BusinessRuleError(
            f"{value!r} is not a lawful basis of Art. 6(1): use one of "
            + ", ".join(LawfulBasis.values)
            + ".",
            code="invalid_choice",
            field=field,
        )
    return value


def purpose_law_validate(purpose: Purpose) -> None:
    """The purpose's flags against its basis: Art. 9 and Art. 21(3)."""
    basis = purpose.default_lawful_basis
    if purpose.special_category and basis == LawfulBasis.LEGITIMATE_INTERESTS:
        raise BusinessRuleError(
            "A purpose processing special categories of data (Art. 9) cannot rest on legitimate "
            "interests: Art. 9(1) forbids it. Art. 9(2) allows: "
            + "; ".join(f"{b} ({ground})" for b, ground in ART9_GROUNDS.items())
            + ".",
            code="special_category_basis",
            field="default_lawful_basis",
        )
    if purpose.direct_marketing and purpose.compelling_grounds.strip():
        raise BusinessRuleError(
            "No grounds override an objection to direct marketing (Art. 21(3)): leave "
            "compelling_grounds empty for a direct-marketing purpose.",
            code="absolute_objection",
            field="compelling_grounds",
        )


@transaction.atomic
def purpose_create(
    *,
    tenant: Tenant,
    code: str,
    description: str,
    default_lawful_basis: str = LawfulBasis.CONSENT,
    is_active: bool = True,
    special_category: bool = False,
    direct_marketing: bool = False,
    compelling_grounds: str = "",
) -> Purpose:
    code = purpose_code_validate(code)
    if Purpose.objects.for_tenant(tenant).filter(code=code).exists():
        raise BusinessRuleError(
            f"A purpose {code!r} exists already.", code="duplicate", field="code", status_code=409
        )
    purpose = Purpose(
        tenant=tenant,
        code=code,
        description=purpose_description_validate(description),
        default_lawful_basis=lawful_basis_validate(
            default_lawful_basis, field="default_lawful_basis"
        ),
        is_active=is_active,
        special_category=bool(special_category),
        direct_marketing=bool(direct_marketing),
        compelling_grounds=(compelling_grounds or "").strip(),
    )
    purpose_law_validate(purpose)
    full_clean_or_raise(purpose, validate_constraints=False)
    purpose.save()
    return purpose


@transaction.atomic
def purpose_update(
    *,
    purpose: Purpose,
    code: str | None = None,
    description: str | None = None,
    default_lawful_basis: str | None = None,
    is_active: bool | None = None,
    special_category: bool | None = None,
    direct_marketing: bool | None = None,
    compelling_grounds: str | None = None,
) -> Purpose:
    """Change a purpose. Its code never changes: integrators and the ledger refer to it."""
    purpose = Purpose.objects.select_for_update().get(pk=purpose.pk)
    if code is not None and purpose_code_validate(code) != purpose.code:
        raise BusinessRuleError(
            "A purpose's code cannot change: the ledger and integrations refer to it. "
            "Deactivate this purpose and define a new one.",
            code="immutable",
            field="code",
        )
    if description is not None:
        purpose.description = purpose_description_validate(description)
    if default_lawful_basis is not None:
        purpose.default_lawful_basis = lawful_basis_validate(
            default_lawful_basis, field="default_lawful_basis"
        )
    if is_active is not None:
        purpose.is_active = is_active
    if special_category is not None:
        purpose.special_category = bool(special_category)
    if direct_marketing is not None:
        purpose.direct_marketing = bool(direct_marketing)
    if compelling_grounds is not None:
        purpose.compelling_grounds = compelling_grounds.strip()
    purpose_law_validate(purpose)
    full_clean_or_raise(purpose, validate_constraints=False)
    purpose.save()
    return purpose


@transaction.atomic
def purpose_delete(*, purpose: Purpose) -> None:
    """Delete a purpose nothing refers to; one in use is deactivated instead."""
    if purpose_in_use(purpose):
        raise BusinessRuleError(
            f"Purpose {purpose.code!r} is named by consent records or calls and cannot be "
            "deleted: deactivate it instead (is_active = false).",
            code="purpose_in_use",
            status_code=409,
        )
    purpose.delete()


def purpose_resolve(tenant: Tenant, purpose, *, for_giving: bool) -> Purpose:
    """The tenant's purpose named by ``purpose`` (a code or a Purpose), refusing bundles."""
    if isinstance(purpose, Purpose):
        if purpose.tenant_id != tenant.pk:
            raise BusinessRuleError(
                "The tenant has not defined this purpose.", code="unknown_purpose", field="purpose"
            )
        found = purpose
    else:
        if isinstance(purpose, (list, tuple, set, frozenset)):
            if len(purpose) != 1:
                raise BusinessRuleError(BUNDLED_MESSAGE, code="bundled_purposes", field="purpose")
            purpose = next(iter(purpose))
        if not isinstance(purpose, str) or not purpose.strip():
            raise BusinessRuleError(
                "Name the purpose (its code).", code="required", field="purpose"
            )
        parts = [p for p in BUNDLE_SEPARATORS.split(purpose.strip()) if p]
        if len(parts) > 1:
            raise BusinessRuleError(BUNDLED_MESSAGE, code="bundled_purposes", field="purpose")
        code = parts[0].lower()
        found = Purpose.objects.for_tenant(tenant).filter(code=code).first()
        if found is None:
            raise BusinessRuleError(
                f"The tenant has not defined a purpose {code!r}: define it first "
                "(/api/v1/purposes/).",
                code="unknown_purpose",
                field="purpose",
            )
    if for_giving and not found.is_active:
        raise BusinessRuleError(
            f"Purpose {found.code!r} has been deactivated: nothing is processed for it.",
            code="inactive_purpose",
            field="purpose",
        )
    return found
