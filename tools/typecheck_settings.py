"""Django settings for type checking only (make lint): both services' settings and apps in one module, so that
mypy's Django plugin sees both services' models and settings in one registry and mypy runs once over both (the
two services' app labels are distinct). Never used to serve anything."""

from search_service.config import settings as search
from search_service.config.settings import *  # noqa: F403 - every search_service setting, for the plugin
from sticker_service.config import settings as sticker
from sticker_service.config.settings import *  # noqa: F403 - every sticker_service setting, for the plugin

INSTALLED_APPS = list(dict.fromkeys([*sticker.INSTALLED_APPS, *search.INSTALLED_APPS]))
