from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination


class PortalPagination(PageNumberPagination):
    """Page numbers; a ``page_size`` that is not a whole number from 1 to 500 is refused (400)
    rather than silently replaced by the default."""

    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        values = request.query_params.getlist(self.page_size_query_param)
        if not values:
            return self.page_size
        raw = values[-1]
        if len(values) > 1 or not raw.isascii() or not raw.isdigit():
            raise self._invalid_page_size()
        size = int(raw)
        if not 1 <= size <= self.max_page_size:
            raise self._invalid_page_size()
        return size

    def _invalid_page_size(self):
        return exceptions.ValidationError(
            {self.page_size_query_param: [f"Give one whole number from 1 to {self.max_page_size}."]}
        )

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
            elif parameter["name"] == self.page_query_param:
                parameter["schema"].update(minimum=1)
        return parameters
