"""Decoding and checking sticker images (uploads and indexed files alike)."""

from __future__ import annotations

import hashlib
import io
import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from typing import cast

from PIL import Image, UnidentifiedImageError

from servicekit.errors import DomainError

# Pillow decoders we accept; Image.open never tries any other (no EPS/PDF/... plugins on user data).
FORMAT_EXTENSIONS = {
    "PNG": (".png",),
    "JPEG": (".jpg", ".jpeg"),
    "WEBP": (".webp",),
    "GIF": (".gif",),
    "BMP": (".bmp",),
}
IMAGE_EXTENSIONS = frozenset(ext for exts in FORMAT_EXTENSIONS.values() for ext in exts)
_UPLOAD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


class InvalidImage(DomainError, ValueError):
    """The bytes are not an image we accept, or the upload's name does not fit it (message says why)."""

    code = "invalid_image"
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message, details={"fields": {"image": [message]}})


@dataclass
class DecodedImage:
    image: Image.Image  # fully decoded (first frame of an animation)
    format: str
    width: int
    height: int
    sha256: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_image(data: bytes, *, max_pixels: int, max_side: int | None = None) -> DecodedImage:
    """Decode ``data`` safely: only the formats above, at most ``max_pixels`` pixels, verified.

    ``max_side``: shrink the decoded image to fit that square (JPEGs decode at reduced scale directly);
    ``width``/``height`` stay the original's. Bounds the memory of a batch of large photos.
    """
    if not data:
        raise InvalidImage("The file is empty.")
    formats = list(FORMAT_EXTENSIONS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data), formats=formats)
            width, height = probe.size
            if width < 1 or height < 1 or width * height > max_pixels:
                raise InvalidImage(f"The image is {width}x{height} pixels; at most {max_pixels} pixels are accepted.")
            probe.verify()  # structure and checksums, without decoding
            image = Image.open(io.BytesIO(data), formats=formats)
            image_format = cast(str, image.format)  # set by Image.open: the format whose plugin read the file
            image.seek(0)
            if max_side and max(width, height) > max_side:
                image.draft(None, (max_side, max_side))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
            image.load()
            if max_side and max(image.size) > max_side:
                image.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
    except InvalidImage:
        raise
    except UnidentifiedImageError as exc:
        raise InvalidImage(f"Not an image in a supported format ({', '.join(formats)}).") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage("The image is too large once decoded (decompression bomb refused).") from exc
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise InvalidImage(f"The image is corrupt or truncated ({type(exc).__name__}).") from exc
    return DecodedImage(image=image, format=image_format, width=width, height=height, sha256=sha256_hex(data))


def check_upload_filename(name: str, image_format: str) -> str:
    """The upload's file name if it is a plain, safe name whose extension matches the image's format."""
    name = unicodedata.normalize("NFC", name or "")
    if not _UPLOAD_NAME.fullmatch(name) or ".." in name:
        raise InvalidImage(
            "The file name must be 1-200 characters of letters, digits, '.', '_' or '-', starting with a letter "
            "or digit (no paths)."
        )
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    allowed = FORMAT_EXTENSIONS.get(image_format, ())
    if extension not in allowed:
        raise InvalidImage(f"The file is a {image_format} image; its name must end with {' or '.join(allowed)}.")
    return name
