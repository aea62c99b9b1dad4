"""Image decoding with clear refusals: every bad upload maps to one reason code, never a crash."""

from __future__ import annotations

import io
import threading
import warnings
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

DEFAULT_MAX_PIXELS = 40_000_000

# Modes PIL converts to RGB without losing meaning; 16-bit/float images would be clipped silently.
_SUPPORTED_MODES = frozenset({"1", "L", "LA", "P", "PA", "RGB", "RGBA", "RGBX", "CMYK", "YCbCr"})

# face_recognition sets ImageFile.LOAD_TRUNCATED_IMAGES = True when imported, which would turn a
# truncated upload into a half-grey picture. We switch it off around our own decode (under a lock,
# since it is a process-wide flag) so truncation is always reported.
_truncation_lock = threading.Lock()


class ImageError(ValueError):
    """An upload that cannot be used as a picture. `reason_code` is stable for API/MQTT replies:
    empty, not_an_image, corrupt_image, too_many_pixels, unsupported_mode."""

    def __init__(self, reason_code: str, message: str) -> None:
        super().__init__(f"{reason_code}: {message}")
        self.reason_code = reason_code
        self.message = message


def open_image(source: bytes | str | Path | BinaryIO, *, max_pixels: int) -> Image.Image:
    """Open an image and check its pixel count from the header alone: no pixel is decoded yet.

    The one place for the decompression-bomb rule (face photos here, print images in
    hub.services.printing.documents): a 21 KB PNG can declare 13,300×13,300 pixels, 1.7 GB once converted.
    Raises ImageError (empty, not_an_image, corrupt_image, too_many_pixels).
    """
    if isinstance(source, bytes):
        if not source:
            raise ImageError("empty", "no image data")
        source = io.BytesIO(source)
    with warnings.catch_warnings():
        # PIL warns (or raises) on big images by its own global limit; ours is the one that counts.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
        except Image.DecompressionBombError as exc:
            raise ImageError("too_many_pixels", f"image is larger than allowed ({exc})") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise ImageError("not_an_image", "data is not a recognised image format") from exc
    width, height = image.size
    if width <= 0 or height <= 0:
        image.close()
        raise ImageError("corrupt_image", f"invalid image size {width}x{height}")
    if width * height > max_pixels:
        image.close()
        raise ImageError("too_many_pixels", f"{width}x{height} = {width * height} pixels exceeds {max_pixels}")
    return image


def decode_image(data: bytes, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Decode JPEG/PNG/... bytes into an RGB uint8 array (H, W, 3) with EXIF orientation applied.

    The pixel count is checked from the header before any pixel is decoded, so a decompression
    bomb costs a few microseconds, not gigabytes.
    """
    image = open_image(data, max_pixels=max_pixels)
    if image.mode not in _SUPPORTED_MODES:
        raise ImageError("unsupported_mode", f"image mode {image.mode!r} is not supported")
    return _load_rgb(image)


def _load_rgb(image: Image.Image) -> np.ndarray:
    with _truncation_lock:
        previous = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            image.load()
        except Image.DecompressionBombError as exc:
            raise ImageError("too_many_pixels", str(exc)) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ImageError("corrupt_image", f"image data is corrupt or truncated ({exc})") from exc
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = previous
    try:
        oriented = ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError) as exc:  # a broken EXIF block must not kill the upload
        raise ImageError("corrupt_image", f"bad EXIF orientation data ({exc})") from exc
    rgb = oriented if oriented.mode == "RGB" else oriented.convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def load_image_file(path: str | Path, *, max_pixels: int = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read and decode an image file; same checks and codes as decode_image."""
    return decode_image(Path(path).read_bytes(), max_pixels=max_pixels)


def letterbox(rgb: np.ndarray, *, width: int = 640, height: int = 480) -> np.ndarray:
    """Fit a picture into a width×height camera-like frame (aspect kept, black bars)."""
    import cv2

    h, w = rgb.shape[:2]
    scale = min(width / w, height / h)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, size, interpolation=interp)
    frame = np.zeros((height, width, 3), np.uint8)
    top, left = (height - size[1]) // 2, (width - size[0]) // 2
    frame[top : top + size[1], left : left + size[0]] = resized
    return frame


def encode_jpeg(rgb: np.ndarray, *, quality: int = 90) -> bytes:
    """JPEG bytes of an RGB array: re-encoding also drops EXIF (GPS, device serials) from what is kept."""
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return out.getvalue()
