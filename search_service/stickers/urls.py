from django.urls import path

from .views import ImageDetailView, ImageListView

urlpatterns = [
    path("images/", ImageListView.as_view(), name="images"),
    path("images/<path:filename>/", ImageDetailView.as_view(), name="image-detail"),
]
