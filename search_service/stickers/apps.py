from django.apps import AppConfig


class StickersConfig(AppConfig):
    name = "search_service.stickers"
    label = "stickers"
    verbose_name = "Stickers and their embeddings"

    def ready(self) -> None:
        from servicekit.metrics import register_scrape_collector

        from .metrics import StickersIndexedCollector

        register_scrape_collector(StickersIndexedCollector())
