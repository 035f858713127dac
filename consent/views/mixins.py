"""What the consent pages share beyond the dashboard's building blocks."""

from __future__ import annotations


class ObjectFormMixin:
    """A form view about one of the tenant's objects (with ``TenantObjectMixin``): the object
    is looked up first on every method, so another tenant's id is a 404 before any input is
    read."""

    def get(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        return super().post(request, *args, **kwargs)
