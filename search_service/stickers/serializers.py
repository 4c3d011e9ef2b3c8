from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from servicekit.validation import NoControlCharacters, QueryIntegerField

from .metadata import MAX_TAG, MAX_TAGS, MAX_TITLE, InvalidMetadata, clean_title, parse_tags
from .models import Sticker
from .storage import image_url


class CatalogueItemSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField(help_text="Where the image is served (absolute URL).")
    tags = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Sticker
        fields = ["filename", "title", "tags", "url", "width", "height"]
        read_only_fields = fields

    def get_url(self, sticker: Sticker) -> str:
        url = image_url(sticker.filename)
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None and url.startswith("/") else url


class CatalogueParamsSerializer(serializers.Serializer):
    page = QueryIntegerField(min_value=1, max_value=10**9, default=1)
    page_size = QueryIntegerField(min_value=1, max_value=1000, default=100)
    after = serializers.CharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=255,
        validators=[NoControlCharacters()],
        help_text="Keyset paging for full copies (sync_catalog): the stickers whose filename sorts after this one, "
        "in filename order, page_size of them (`page` is ignored; empty = from the start). Unlike page numbers, "
        "stickers added or deleted meanwhile never shift an unseen sticker onto a page already read; `next` "
        "carries the last filename.",
    )


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class ImageFileField(serializers.FileField):
    """An uploaded file; an empty one is refused (DRF's allow_empty_file=False), and the schema says so."""


class UploadSerializer(serializers.Serializer):
    image = ImageFileField(
        help_text="The image file (PNG, JPEG, WebP, GIF or BMP; not empty); its name becomes the sticker filename."
    )
    title = serializers.CharField(required=False, allow_blank=True, default="", max_length=MAX_TITLE)
    tags = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text=f"Comma-separated, at most {MAX_TAGS} tags of {MAX_TAG} characters.",
    )

    def validate_title(self, value: str) -> str:
        try:
            return clean_title(value)
        except InvalidMetadata as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_tags(self, value: str) -> list[str]:
        try:
            return parse_tags(value)
        except InvalidMetadata as exc:
            raise serializers.ValidationError(str(exc)) from exc
