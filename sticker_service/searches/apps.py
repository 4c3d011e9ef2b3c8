from django.apps import AppConfig


class SearchesConfig(AppConfig):
    name = "sticker_service.searches"
    label = "searches"
    verbose_name = "Searches"
