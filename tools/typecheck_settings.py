"""Django settings for type checking only (make lint): both services' settings and apps in one module, so that
mypy's Django plugin sees both services' models and settings in one registry and mypy runs once over both (the
two services' app labels are distinct). Never used to serve anything."""

from search_service.config import settings as _search
from search_service.config.settings import *  # noqa: F403
from sticker_service.config import settings as _sticker
from sticker_service.config.settings import *  # noqa: F403

INSTALLED_APPS = list(dict.fromkeys([*_sticker.INSTALLED_APPS, *_search.INSTALLED_APPS]))  # type: ignore[attr-defined]
