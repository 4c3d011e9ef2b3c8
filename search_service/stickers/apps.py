from django.apps import AppConfig


class StickersConfig(AppConfig):
    name = "search_service.stickers"
    label = "stickers"
    verbose_name = "Stickers and their embeddings"

    def ready(self) -> None:
        from search_service.core.metrics import StickersIndexedCollector
        from servicekit.metrics import register_scrape_collector

        register_scrape_collector(StickersIndexedCollector())
