from django.apps import AppConfig


class StickersConfig(AppConfig):
    name = "stickers"
    verbose_name = "Stickers and their embeddings"
