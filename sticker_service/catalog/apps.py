from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "sticker_service.catalog"
    label = "catalog"
    verbose_name = "Sticker catalogue"
