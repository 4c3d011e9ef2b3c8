from django.urls import path

from .views import SearchView, SimilarView

urlpatterns = [
    path("search/", SearchView.as_view(), name="search"),
    path("similar/", SimilarView.as_view(), name="similar"),
]
