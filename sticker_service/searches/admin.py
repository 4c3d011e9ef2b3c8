from django.contrib import admin

from searches.models import Query


@admin.register(Query)
class QueryAdmin(admin.ModelAdmin):
    """Queries and how often they were searched; usage comes from searches only, so it is read-only."""

    list_display = ["text", "usage_count", "first_searched_at", "last_searched_at"]
    search_fields = ["text"]
    list_filter = ["last_searched_at"]
    date_hierarchy = "last_searched_at"
    ordering = ["-usage_count", "text"]
    readonly_fields = ["text", "usage_count", "first_searched_at", "last_searched_at"]
    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
