from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "sticker_service.analytics"
    label = "analytics"
    verbose_name = "Analytics"
