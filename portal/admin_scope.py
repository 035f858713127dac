"""The admin, sealed: every registered ModelAdmin sees only the staff user's tenants.

``seal_admin_site`` gives every ModelAdmin of the site (and every inline it shows) the same
scoping, whatever its app declares (Art. 28(3)(b), Art. 32(4) GDPR):

* its rows (``get_queryset``, so change pages, actions, search and autocompletes of it) and
  the choices of its form fields, through ``portal.access.scope_queryset``;
* its list filters: a related-object filter offers only the objects the user may see, so no
  other tenant's name and no other tenant's user shows in a filter;
* its history (django-simple-history): the list and each historical row answer 404 outside
  the user's tenants, and no historical row can be reverted or edited — the views refuse
  anything but GET with 405, for the DPO too. History is an audit record.

The site seals each ModelAdmin as it is registered (``PortalAdminSite.register``), and
``PortalConfig.ready`` seals the whole site again once every app is loaded.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.http import Http404, HttpResponseNotAllowed

from portal.access import is_dpo, is_tenant_data, scope_history, scope_queryset

READ_METHODS = ("GET", "HEAD")

_sealed_classes: dict[tuple[type, type], type] = {}


class ScopedRelatedFilterMixin:
    """A related-object list filter that offers only what the user may see."""

    def field_choices(self, field, request, model_admin):
        choices = super().field_choices(field, request, model_admin)
        model = field.related_model
        if is_dpo(request.user) or not is_tenant_data(model):
            return choices
        visible = scope_queryset(request.user, model._default_manager.all())
        allowed = set(visible.values_list("pk", flat=True))
        return [(pk, label) for pk, label in choices if pk in allowed]


def _scoped_filter_class(filter_class: type) -> type:
    return _sealed_class(filter_class, ScopedRelatedFilterMixin)


def _scoped_list_filter(model, entry):
    """A ``list_filter`` entry whose related-object choices are scoped to the user."""
    if isinstance(entry, str):
        try:
            fields = get_fields_from_path(model, entry)
        except (FieldDoesNotExist, LookupError):
            return entry
        field = fields[-1]
        if field.is_relation and field.related_model is not None:
            return (entry, _scoped_filter_class(admin.RelatedFieldListFilter))
        return entry
    if isinstance(entry, (tuple, list)) and len(entry) == 2:
        name, filter_class = entry
        if isinstance(filter_class, type) and issubclass(
            filter_class, admin.RelatedFieldListFilter
        ):
            return (name, _scoped_filter_class(filter_class))
    return entry


def _scope_formfield(formfield, db_field, request):
    model = getattr(db_field, "related_model", None)
    queryset = getattr(formfield, "queryset", None)
    if model is not None and queryset is not None and is_tenant_data(model):
        formfield.queryset = scope_queryset(request.user, queryset)
    return formfield


class SealedFormFieldsMixin:
    """Foreign-key and many-to-many choices cut down to what the user may see."""

    def get_queryset(self, request):
        return scope_queryset(request.user, super().get_queryset(request))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        formfield = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return _scope_formfield(formfield, db_field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        formfield = super().formfield_for_manytomany(db_field, request, **kwargs)
        return _scope_formfield(formfield, db_field, request)


class SealedModelAdminMixin(SealedFormFieldsMixin):
    """Scoped rows, choices, filters and inlines; history read-only and scoped."""

    def get_list_filter(self, request):
        return [
            _scoped_list_filter(self.model, entry) for entry in super().get_list_filter(request)
        ]

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        for inline in inlines:
            _seal_instance(inline, SealedFormFieldsMixin)
        return inlines

    def get_history_queryset(self, request, history_manager, pk_name, object_id):
        queryset = super().get_history_queryset(request, history_manager, pk_name, object_id)
        return scope_history(request.user, queryset)

    def revert_disabled(self, request, obj=None):
        return True  # history is an audit record: nobody reverts it

    def history_view(self, request, object_id, extra_context=None):
        if request.method not in READ_METHODS:
            return HttpResponseNotAllowed(READ_METHODS)
        self._require_visible_history(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method not in READ_METHODS:
            return HttpResponseNotAllowed(READ_METHODS)
        self._require_visible_history(request, object_id, version_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def _require_visible_history(self, request, object_id, version_id=None) -> None:
        """404 unless the object (or, once deleted, its history) is the user's to see."""
        model = self.model
        object_id = unquote(object_id)
        exists = model._default_manager.filter(pk=object_id)
        visible = self.get_queryset(request).filter(pk=object_id)
        manager_name = getattr(model._meta, "simple_history_manager_attribute", None)
        try:
            if manager_name is None:
                if not visible.exists():
                    raise Http404
                return
            rows = scope_history(
                request.user,
                getattr(model, manager_name).filter(**{model._meta.pk.attname: object_id}),
            )
            if version_id is not None:
                rows = rows.filter(history_id=unquote(version_id))
            if not rows.exists() and (version_id is not None or not visible.exists()):
                raise Http404
            if exists.exists() and not visible.exists():
                raise Http404
        except (ValueError, TypeError, ValidationError) as exc:
            raise Http404 from exc


def _sealed_class(cls: type, mixin: type) -> type:
    key = (cls, mixin)
    if issubclass(cls, mixin):
        return cls
    if key not in _sealed_classes:
        _sealed_classes[key] = type(
            f"Sealed{cls.__name__}", (mixin, cls), {"__module__": cls.__module__}
        )
    return _sealed_classes[key]


def _seal_instance(instance, mixin: type) -> None:
    instance.__class__ = _sealed_class(type(instance), mixin)


def seal_model_admin(model_admin) -> None:
    _seal_instance(model_admin, SealedModelAdminMixin)


def is_sealed(model_admin) -> bool:
    return isinstance(model_admin, SealedModelAdminMixin)


def seal_admin_site(site=None) -> None:
    """Seal every ModelAdmin registered on ``site`` (the default admin site)."""
    site = site or admin.site
    for model_admin in site._registry.values():
        seal_model_admin(model_admin)
