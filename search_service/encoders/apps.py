from django.apps import AppConfig


class EncodersConfig(AppConfig):
    name = "search_service.encoders"
    label = "encoders"
    verbose_name = "Encoders (the model)"
