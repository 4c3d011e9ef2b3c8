from django.contrib import admin, messages

from sticker_service.searches.models import Query
from sticker_service.searches.services import set_queries_hidden


@admin.register(Query)
class QueryAdmin(admin.ModelAdmin):
    """Queries and how often they were searched; usage comes from searches only, so it is read-only. Admins can
    hide a query from suggestions and trending (and show it again) with the two actions, which need the change
    permission on queries (view rights show the list only)."""

    list_display = ["text", "usage_count", "distinct_clients", "hidden", "first_searched_at", "last_searched_at"]
    search_fields = ["text"]
    list_filter = ["hidden", "last_searched_at"]
    date_hierarchy = "last_searched_at"
    ordering = ["-usage_count", "text"]
    readonly_fields = ["text", "usage_count", "distinct_clients", "hidden", "first_searched_at", "last_searched_at"]
    list_per_page = 100
    show_full_result_count = False
    actions = ["hide_queries", "show_queries"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # the fields are read-only for everyone; hiding is an action

    def has_hide_permission(self, request) -> bool:
        return request.user.has_perm("searches.change_query")

    @admin.action(description="Hide from suggestions and trending", permissions=["hide"])
    def hide_queries(self, request, queryset) -> None:
        changed = set_queries_hidden(queryset.values_list("pk", flat=True), hidden=True)
        self.message_user(request, f"{changed} queries hidden from suggestions and trending.", messages.SUCCESS)

    @admin.action(description="Show again in suggestions and trending", permissions=["hide"])
    def show_queries(self, request, queryset) -> None:
        changed = set_queries_hidden(queryset.values_list("pk", flat=True), hidden=False)
        self.message_user(request, f"{changed} queries shown again in suggestions and trending.", messages.SUCCESS)
