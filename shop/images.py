"""Evidence photo uploads: image sniffing by magic bytes, decoding with Pillow, file storage.

Only JPEG, PNG, WebP and GIF are accepted. The format comes from the bytes, never from
the client's Content-Type; Pillow decodes the image to prove it is one.
"""

from __future__ import annotations

import io
import os
import struct
import tempfile
from pathlib import Path
from typing import NamedTuple, Optional

from PIL import Image
from sqlalchemy.engine import make_url

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# Oversized bodies up to this size are read and discarded so that the client reliably
# receives the 413; beyond it the connection is closed after the answer.
DRAIN_LIMIT_BYTES = 32 * 1024 * 1024

CONTENT_TYPES = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp",
                 "gif": "image/gif"}
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "gif": "gif"}
EXTENSION_BY_TYPE = {CONTENT_TYPES[kind]: EXTENSIONS[kind] for kind in CONTENT_TYPES}

# Recognisable non-images, for a helpful 415 message.
KNOWN_OTHER = (
    (b"%PDF", "PDF 文档"),
    (b"PK\x03\x04", "压缩包或 Office 文档"),
    (b"BM", "BMP 图片"),
    (b"II*\x00", "TIFF 图片"),
    (b"MM\x00*", "TIFF 图片"),
)
HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")

# Larger images are refused before decoding (a small file can declare a huge canvas).
MAX_PIXELS = 40_000_000
PIL_FORMATS = {"JPEG": "jpeg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


class ImageInfo(NamedTuple):
    kind: str  # jpeg / png / webp / gif
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.kind]


def sniff(data: bytes) -> Optional[str]:
    """The image format from the magic bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def describe_other(data: bytes) -> str:
    """What a rejected file seems to be, in Chinese (for the 415 message)."""
    if len(data) >= 12 and data[4:8] == b"ftyp":
        if data[8:12] in HEIF_BRANDS:
            return "HEIC/HEIF 图片"
        return "视频文件"
    for magic, text in KNOWN_OTHER:
        if data.startswith(magic):
            return text
    return "非图片文件"


def inspect_image(data: bytes) -> Optional[ImageInfo]:
    """Format and size of a real image, or None.

    Pillow decodes every pixel: a valid header followed by junk, a truncated file or a
    decompression bomb is not an image.
    """
    kind = sniff(data)
    if kind is None:
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if (PIL_FORMATS.get(image.format or "") != kind or width <= 0 or height <= 0
                    or width * height > MAX_PIXELS):
                return None
            image.load()
    except (OSError, ValueError, SyntaxError, struct.error, Image.DecompressionBombError):
        return None
    return ImageInfo(kind, width, height)


# ---------------------------------------------------------------- storage


def default_upload_dir(db_url: str) -> Path:
    """Next to the SQLite file (var/shop.sqlite -> var/shop_uploads), else ./var/uploads."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        database = Path(url.database).resolve()
        return database.with_name(f"{database.stem}_uploads")
    return Path("var/uploads").resolve()


def storage_path(upload_dir: Path, sha256: str, extension: str) -> Path:
    """Content-addressed location: <dir>/<first two hex digits>/<sha256>.<ext>."""
    return upload_dir / sha256[:2] / f"{sha256}.{extension}"


def store(upload_dir: Path, sha256: str, extension: str, data: bytes) -> Path:
    """Write the bytes once (atomically); identical content is stored only once."""
    path = storage_path(upload_dir, sha256, extension)
    if path.exists() and path.stat().st_size == len(data):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as temp_file:
            temp_file.write(data)
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
