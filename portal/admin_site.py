from django.contrib import admin

from portal import workqueues


class PortalAdminSite(admin.AdminSite):
    site_header = "Call Privacy Portal — DPO workplace"
    site_title = "Call Privacy Portal"
    index_title = "Work queues"
    index_template = "admin/portal_index.html"

    def register(self, model_or_iterable, admin_class=None, **options):
        """Every ModelAdmin is sealed as it is registered (``portal.admin_scope``)."""
        from portal.admin_scope import seal_admin_site

        super().register(model_or_iterable, admin_class, **options)
        seal_admin_site(self)

    def index(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "work_queues": workqueues.queues_for(request)}
        return super().index(request, extra_context)
