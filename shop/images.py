"""Evidence photo uploads: image sniffing by magic bytes, header dimensions, file storage.

Only JPEG, PNG, WebP and GIF are accepted. The format comes from the bytes, never from
the client's Content-Type; the dimensions are read from the header without decoding.
"""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path
from typing import NamedTuple, Optional

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

# JPEG start-of-frame markers (they carry the dimensions); C4, C8 and CC are not frames.
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
JPEG_STANDALONE = {0x01, *range(0xD0, 0xD8)}


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


def dimensions(kind: str, data: bytes) -> Optional[tuple[int, int]]:
    """(width, height) from the header, or None when the header is broken."""
    try:
        size = _DIMENSION_READERS[kind](data)
    except (struct.error, IndexError, ValueError):
        return None
    if size is None or size[0] <= 0 or size[1] <= 0:
        return None
    return size


def _png_size(data: bytes) -> Optional[tuple[int, int]]:
    if data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def _gif_size(data: bytes) -> Optional[tuple[int, int]]:
    return struct.unpack("<HH", data[6:10])


def _webp_size(data: bytes) -> Optional[tuple[int, int]]:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        if data[23:26] != b"\x9d\x01\x2a":
            return None
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if chunk == b"VP8L":
        if data[20] != 0x2F:
            return None
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        width = int.from_bytes(data[24:27], "little") + 1
        height = int.from_bytes(data[27:30], "little") + 1
        return width, height
    return None


def _jpeg_size(data: bytes) -> Optional[tuple[int, int]]:
    pos = 2
    end = len(data)
    while pos < end:
        if data[pos] != 0xFF:
            return None
        while pos < end and data[pos] == 0xFF:  # fill bytes
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in JPEG_STANDALONE:
            continue
        if marker in (0xD9, 0xDA):  # end of image / start of scan before any frame
            return None
        (length,) = struct.unpack(">H", data[pos:pos + 2])
        if length < 2:
            return None
        if marker in JPEG_SOF:
            height, width = struct.unpack(">HH", data[pos + 3:pos + 7])
            return width, height
        pos += length
    return None


_DIMENSION_READERS = {"png": _png_size, "gif": _gif_size, "webp": _webp_size,
                      "jpeg": _jpeg_size}


def inspect_image(data: bytes) -> Optional[ImageInfo]:
    kind = sniff(data)
    if kind is None:
        return None
    size = dimensions(kind, data)
    if size is None:
        return None
    return ImageInfo(kind, size[0], size[1])


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
