import re
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import include, path, re_path
from django.views.static import serve

from search_service.encoders.loader import readiness_check
from servicekit.docs import docs_urls
from servicekit.health import health_urls
from servicekit.metrics import metrics_urls

# No /admin/: search_service is internal, reached only by sticker_service with the service token, and has nothing
# to administer by hand (stickers come through POST /api/images/ and index_images). An admin login here would be a
# second door outside the token, with its own lockout to keep (issue 23 item 8); django.contrib.admin is not
# installed (settings).
urlpatterns = [
    *health_urls({"model": readiness_check}),  # 503 until the model and the database are ready
    *metrics_urls(),  # /metrics, for configured addresses or the metrics token only
    *docs_urls(),  # /api/schema/ and /api/docs/ (behind the service token like every /api/ path)
    path("api/", include("search_service.ranking.urls")),
    path("api/", include("search_service.stickers.urls")),
]

# Sticker images, served by this service when SEARCH_SERVE_MEDIA is on and SEARCH_MEDIA_URL is a path
# on it (development, small deployments); in production a CDN/bucket serves SEARCH_MEDIA_URL instead.
_media = urlsplit(settings.SEARCH_MEDIA_URL)


def sticker_media(request, path):
    return serve(request, path, document_root=settings.SEARCH_MEDIA_ROOT)


if settings.SEARCH_SERVE_MEDIA and not _media.netloc:
    urlpatterns.append(
        re_path(rf"^{re.escape(_media.path.lstrip('/'))}(?P<path>.+)$", sticker_media, name="sticker-media")
    )

handler400 = "servicekit.errors.handler400"
handler403 = "servicekit.errors.handler403"
handler404 = "servicekit.errors.handler404"
handler500 = "servicekit.errors.handler500"
