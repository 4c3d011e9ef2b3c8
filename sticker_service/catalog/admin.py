from django.contrib import admin

from sticker_service.catalog.models import Sticker


@admin.register(Sticker)
class StickerAdmin(admin.ModelAdmin):
    list_display = ["filename", "title", "active", "width", "height", "first_seen_at", "synced_at"]
    list_filter = ["active", "synced_at"]
    search_fields = ["filename", "title"]
    readonly_fields = ["first_seen_at", "synced_at"]
    ordering = ["filename"]
    list_per_page = 100
    show_full_result_count = False
