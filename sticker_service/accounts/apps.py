from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "sticker_service.accounts"
    label = "accounts"
    verbose_name = "Accounts"
