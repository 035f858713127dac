"""List pages of the dashboard: filters, tables and pagination that stay fast on big tables.

A list page is a declaration::

    class CallListView(TenantListView):
        model = Call
        filterset_class = CallFilterSet          # a TenantFilterSet
        list_select_related = ("recording",)     # what the rows show: no query per row
        columns = [Column("Started", "started_at", kind="datetime", link="dashboard:calls:detail"),
                   Column("Caller", "caller"), Column("Category", "category")]
        nav = "dashboard:calls:list"
        template_name = "dashboard/calls/list.html"  # includes dashboard/includes/table.html

The queryset is scoped to the tenant before anything else. ``WindowPaginator`` reads one row
more than a page to know whether there is a next one, so paging costs no ``COUNT(*)``; the
total is counted only up to ``count_cap`` rows (``LIMIT`` inside the count), and not at all when
the first page is not full. A list therefore costs a fixed number of queries whatever the size
of the table.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import django_filters
from django.http import Http404
from django.views.generic import ListView

from portal.dashboard import TenantDashboardMixin


class WindowPage(Sequence):
    """One page of a ``WindowPaginator`` (the parts of Django's ``Page`` that templates use)."""

    def __init__(self, object_list: list, number: int, per_page: int, has_next: bool):
        self.object_list = object_list
        self.number = number
        self.per_page = per_page
        self._has_next = has_next

    def __len__(self):
        return len(self.object_list)

    def __getitem__(self, index):
        return self.object_list[index]

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        return (self.number - 1) * self.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return (self.number - 1) * self.per_page + len(self.object_list)


class WindowPaginator:
    """Pages without counting: fetch ``per_page + 1`` rows; the extra row means "there is more"."""

    def __init__(self, object_list, per_page: int, count_cap: int = 1000):
        self.object_list = object_list
        self.per_page = per_page
        self.count_cap = count_cap

    def page(self, number) -> WindowPage:
        try:
            number = int(number)
        except (TypeError, ValueError):
            raise Http404("That page number is not a number.") from None
        if number < 1:
            raise Http404("Pages start at 1.")
        offset = (number - 1) * self.per_page
        rows = list(self.object_list[offset : offset + self.per_page + 1])
        if not rows and number > 1:
            raise Http404("That page is past the end of the list.")
        return WindowPage(rows[: self.per_page], number, self.per_page, len(rows) > self.per_page)

    def total(self, page: WindowPage) -> tuple[int, bool]:
        """(count, capped): exact when small, ``(count_cap, True)`` when there are more."""
        if page.number == 1 and not page.has_next():
            return len(page), False  # everything is on this page: no query
        # Without the ordering: counting needs no sort (a sorted subquery sorts every row).
        count = self.object_list.order_by()[: self.count_cap + 1].count()
        if count > self.count_cap:
            return self.count_cap, True
        return count, False


class TenantFilterSet(django_filters.FilterSet):
    """A FilterSet for a tenant's rows: its model-choice filters only offer the tenant's
    objects (the view passes ``request``; ``request.tenant`` is set by the dashboard mixin)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        tenant = getattr(self.request, "tenant", None)
        for flt in self.filters.values():
            queryset = getattr(flt, "queryset", None)
            if tenant is not None and hasattr(queryset, "for_tenant"):
                flt.queryset = queryset.for_tenant(tenant)


@dataclass(frozen=True)
class Column:
    """A column of ``dashboard/includes/table.html``.

    ``accessor`` is a dotted attribute path (``"created_by.username"``; a method is called) or
    a function of the row.
    ``kind``: ``text``, ``date``, ``datetime``, ``bool``, ``due`` (a due badge), ``badge``
    (``badge`` names a method or attribute returning ``(text, severity)``), ``code``.
    ``link`` is a URL name taking the row's ``pk``.
    """

    label: str
    accessor: str | Callable
    kind: str = "text"
    link: str = ""
    empty: str = "—"


class TenantListView(TenantDashboardMixin, ListView):
    """A list page of the tenant's rows with filters and count-free pagination."""

    filterset_class: type[django_filters.FilterSet] | None = None
    list_select_related: tuple[str, ...] = ()
    columns: list[Column] = []
    paginate_by = 50
    count_cap = 1000
    empty_title = "Nothing here yet"
    empty_text = ""

    def get_base_queryset(self):
        return self.scope(super().get_queryset())

    def get_queryset(self):
        queryset = self.get_base_queryset()
        if self.list_select_related:
            queryset = queryset.select_related(*self.list_select_related)
        self.filterset = None
        if self.filterset_class is not None:
            self.filterset = self.filterset_class(
                self.request.GET or None, queryset=queryset, request=self.request
            )
            queryset = self.filterset.qs
        return queryset

    def paginate_queryset(self, queryset, page_size):
        paginator = WindowPaginator(queryset, page_size, self.count_cap)
        page = paginator.page(self.request.GET.get(self.page_kwarg) or 1)
        self.total, self.total_capped = paginator.total(page)
        return paginator, page, page.object_list, page.has_other_pages()

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filtered = self.filterset is not None and any(
            self.request.GET.get(name) for name in self.filterset.form.fields
        )
        context.update(
            filter=self.filterset,
            filtered=filtered,
            columns=self.columns,
            total=self.total,
            total_capped=self.total_capped,
            empty_title=self.empty_title,
            empty_text=self.empty_text,
        )
        return context
