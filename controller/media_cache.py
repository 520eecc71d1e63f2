"""Downloads <Play> URLs into a directory FreeSWITCH reads, and reuses them for a while."""

from __future__ import annotations

import hashlib
import os
import time
from urllib.parse import urlsplit, urlunsplit

import gevent.lock

from controller.webhooks import WebhookError, Webhooks

# What FreeSWITCH can play from our module set: sndfile (wav), mod_shout (mp3).
_EXTENSIONS = {".wav": ".wav", ".mp3": ".mp3"}
_CONTENT_TYPES = {
    "audio/wav": ".wav", "audio/x-wav": ".wav", "audio/wave": ".wav", "audio/vnd.wave": ".wav",
    "audio/mpeg": ".mp3", "audio/mp3": ".mp3", "audio/mpeg3": ".mp3", "audio/x-mpeg-3": ".mp3",
}


class MediaError(Exception):
    """A <Play> URL that cannot become something FreeSWITCH plays."""


def shown_url(url: str) -> str:
    """``url`` as messages and logs may show it: without its ``user:password@`` (BXML
    PlayAudio credentials travel in the URL until the download sends them as a header)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def media_extension(url: str, content_type: str) -> str:
    suffix = os.path.splitext(urlsplit(url).path)[1].lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    kind = content_type.split(";")[0].strip().lower()
    if kind in _CONTENT_TYPES:
        return _CONTENT_TYPES[kind]
    raise MediaError(
        f"{shown_url(url)}: unsupported media (Content-Type {kind or 'missing'}); "
        "use .wav or .mp3 (audio/wav, audio/mpeg)"
    )


class MediaCache:
    def __init__(self, webhooks: Webhooks, fs_directory: str, local_directory: str,
                 max_bytes: int, cache_seconds: float):
        self.webhooks = webhooks
        self.fs_directory = fs_directory
        self.local_directory = local_directory
        self.max_bytes = max_bytes
        self.cache_seconds = cache_seconds
        self._known: dict[str, tuple[str, float]] = {}
        self._locks: dict[str, gevent.lock.Semaphore] = {}

    def path_for(self, url: str) -> str:
        """The path FreeSWITCH should play for ``url``; downloads it if needed."""
        cached = self._known.get(url)
        if cached and time.monotonic() - cached[1] < self.cache_seconds:
            return cached[0]
        lock = self._locks.setdefault(url, gevent.lock.Semaphore())
        with lock:  # one download per URL even when many calls ask at once
            cached = self._known.get(url)
            if cached and time.monotonic() - cached[1] < self.cache_seconds:
                return cached[0]
            try:
                body, content_type = self.webhooks.download(url, self.max_bytes)
            except WebhookError as exc:
                raise MediaError(f"cannot download {shown_url(url)}: {exc.reason}") from None
            name = hashlib.sha256(url.encode()).hexdigest()[:32] + media_extension(
                url, content_type
            )
            os.makedirs(self.local_directory, exist_ok=True)
            local = os.path.join(self.local_directory, name)
            temporary = f"{local}.{os.getpid()}.part"
            with open(temporary, "wb") as handle:
                handle.write(body)
            os.replace(temporary, local)  # FreeSWITCH never sees half a file
            fs_path = os.path.join(self.fs_directory, name)
            self._known[url] = (fs_path, time.monotonic())
            return fs_path
