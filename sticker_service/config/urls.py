from django.contrib import admin
from django.urls import path

from servicekit.docs import docs_urls
from servicekit.health import health_urls
from servicekit.metrics import metrics_urls
from sticker_service.analytics.views import AnalyticsView, EventsView
from sticker_service.core.search_client import check_ready as search_service_ready
from sticker_service.counter.views import CounterView
from sticker_service.demo.views import demo_page
from sticker_service.feedback.views import FeedbackView
from sticker_service.search_proxy.views import SearchView, SimilarView
from sticker_service.searches.views import SuggestView, TrendingView

urlpatterns = [
    path("", demo_page, name="demo"),  # the demo page (HTML + JS over the public API)
    # search_service down: /readyz 200 "degraded" (feedback, analytics, counter still work); database down: 503.
    *health_urls({"search_service": search_service_ready}, optional=frozenset({"search_service"})),
    *metrics_urls(),  # /metrics, for configured addresses or the metrics token only
    path("admin/", admin.site.urls),
    path("api/search/", SearchView.as_view(), name="search"),
    path("api/similar/", SimilarView.as_view(), name="similar"),
    path("api/suggest/", SuggestView.as_view(), name="suggest"),
    path("api/trending/", TrendingView.as_view(), name="trending"),
    path("api/feedback/", FeedbackView.as_view(), name="feedback"),
    path("api/analytics/", AnalyticsView.as_view(), name="analytics"),
    path("api/analytics/events/", EventsView.as_view(), name="analytics-events"),
    path("api/counter/", CounterView.as_view(), name="counter"),
    *docs_urls(),  # /api/schema/ and /api/docs/
]

handler400 = "servicekit.errors.handler400"
handler403 = "servicekit.errors.handler403"
handler404 = "servicekit.errors.handler404"
handler500 = "servicekit.errors.handler500"
