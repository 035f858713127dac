"""Dashboard pages (mounted under /dashboard/ by portal/dashboard_urls.py)."""

urlpatterns: list = []
