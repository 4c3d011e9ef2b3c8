from django.apps import AppConfig


class CounterConfig(AppConfig):
    name = "sticker_service.counter"
    label = "counter"
    verbose_name = "Digit counter"
