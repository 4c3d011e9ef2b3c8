from django.apps import AppConfig


class AdaptersConfig(AppConfig):
    name = "search_service.adapters"
    label = "adapters"
    verbose_name = "Query adapters (trained from votes)"
