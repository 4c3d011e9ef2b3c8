from django.contrib import admin

from sticker_service.feedback.models import ClientVote, FeedbackCounter, FeedbackEvent


class ReadOnlyAdmin(admin.ModelAdmin):
    """Feedback is written by the API only; the admin shows it."""

    list_per_page = 100
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(FeedbackCounter)
class FeedbackCounterAdmin(ReadOnlyAdmin):
    list_display = ["query", "sticker", "positive", "negative", "updated_at"]
    list_select_related = ["query", "sticker"]
    search_fields = ["query__text", "sticker__filename"]
    list_filter = ["updated_at"]
    ordering = ["-updated_at"]


@admin.register(FeedbackEvent)
class FeedbackEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "query", "sticker", "vote"]
    list_select_related = ["query", "sticker"]
    search_fields = ["query__text", "sticker__filename"]
    list_filter = ["vote", "created_at"]
    date_hierarchy = "created_at"
    ordering = ["-id"]


@admin.register(ClientVote)
class ClientVoteAdmin(ReadOnlyAdmin):
    """Each client's latest vote per (query, sticker), what the ranking's boosts count (the client as its hash)."""

    list_display = ["updated_at", "query", "sticker", "vote", "client"]
    list_select_related = ["query", "sticker"]
    search_fields = ["query__text", "sticker__filename"]
    list_filter = ["vote", "updated_at"]
    date_hierarchy = "updated_at"
    ordering = ["-updated_at"]
