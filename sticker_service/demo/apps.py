from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "sticker_service.demo"
    label = "demo"
    verbose_name = "Demo page"
