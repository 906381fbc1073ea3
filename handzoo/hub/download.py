"""Download a variant's published weights from the Hugging Face Hub into the handzoo cache.

``huggingface_hub.hf_hub_download`` fetches the file at the card's pinned revision into a private
work dir; the file is hashed and compared with the card's sha256 *before* it is moved into the
cache, so a tampered, truncated or interrupted download never becomes a cache entry. A metadata
request without retries and with a short timeout runs first: without network the call fails in
about a second instead of waiting through huggingface_hub's retry back-off.

Environment: ``HF_ENDPOINT`` (read at each call), ``HF_HUB_OFFLINE``, ``HANDZOO_HUB_TIMEOUT``
(seconds, default 10) for the metadata request.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

from handzoo.catalogue.cards import HubWeights, ModelCard
from handzoo.errors import ChecksumError, ConfigError, DownloadError, HandzooError, WeightsError
from handzoo.hub.advice import convert_command, weights_not_available
from handzoo.hub.cache import WEIGHTS_FILE, CacheEntry, place_entry, work_dir
from handzoo.hub.integrity import read_safetensors_header, sha256_file

__all__ = [
    "DEFAULT_ENDPOINT",
    "TIMEOUT_ENV",
    "check_hub_source",
    "hub_endpoint",
    "hub_offline",
    "hub_timeout",
    "download_weights",
]

DEFAULT_ENDPOINT = "https://huggingface.co"
TIMEOUT_ENV = "HANDZOO_HUB_TIMEOUT"
_TRUE = ("1", "true", "yes", "on")


def hub_offline() -> bool:
    """True when Hub access is disabled (``HF_HUB_OFFLINE``; the environment is read at each call)."""
    env = os.environ.get("HF_HUB_OFFLINE")
    if env is not None and env.strip():
        return env.strip().lower() in _TRUE
    constants = sys.modules.get("huggingface_hub.constants")
    return bool(constants is not None and getattr(constants, "HF_HUB_OFFLINE", False))


def hub_endpoint() -> str:
    """The Hub endpoint: ``HF_ENDPOINT`` or https://huggingface.co.

    Raises:
        ConfigError: ``HF_ENDPOINT`` is not an ``http(s)://host[:port]`` URL.
    """
    raw = os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT
    value = raw.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in value)
    except ValueError:
        ok = False
    if not ok:
        raise ConfigError(
            f"HF_ENDPOINT={raw[:100]!r} is not a Hub URL",
            hint="set it to http(s)://host[:port] (e.g. https://huggingface.co), or unset it",
        )
    return value


_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def check_hub_source(card: ModelCard, hub: HubWeights) -> None:
    """Check a card's ``weights.hub`` before any request, so a bad card fails at once, not after the download.

    Raises:
        WeightsError: naming the field at fault.
    """
    where = f"the card of {card.name}: weights.hub"
    hint = "fix the card (format: handzoo/hub/CARD_SCHEMA.md), or convert the authors' checkpoint"
    repo = hub.repo_id
    if not repo or not _REPO_ID.match(repo) or ".." in repo or repo.endswith((".", "-")) or "--" in repo:
        raise WeightsError(f"{where}.repo_id {repo!r} is not a Hub repository id (owner/name)", hint=hint)
    name = hub.filename
    if not name or name.startswith("/") or "\\" in name or any(part in ("", ".", "..") for part in name.split("/")):
        raise WeightsError(f"{where}.filename {name!r} is not a file path inside the repository", hint=hint)
    if not hub.revision or any(c.isspace() for c in hub.revision):
        raise WeightsError(f"{where}.revision is missing (pin a commit)", hint=hint)
    if not _SHA256.match(hub.sha256 or ""):
        what = "missing" if not hub.sha256 else f"{hub.sha256[:20]!r}, not 64 hex digits"
        raise WeightsError(f"{where}.sha256 is {what}: handzoo never downloads unpinned weights", hint=hint)


class _Stalled(Exception):
    """Raised from huggingface_hub's retry path when the response body stopped for the timeout."""


class _StallGuard(logging.Filter):
    """Turn huggingface_hub's "timed out ... trying to resume" retry into an immediate failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if "resume" in text and "timed out" in text.lower():
            raise _Stalled(text.splitlines()[0][:200])
        return True


@contextlib.contextmanager
def _bounded_body(timeout: float) -> Iterator[None]:
    """While downloading: a read that waits ``timeout`` s for bytes fails at once (no retry loop).

    huggingface_hub reads ``HF_HUB_DOWNLOAD_TIMEOUT`` at each request and retries a timed-out body
    five times; here the read timeout is ``timeout`` and the first timeout ends the download.
    """
    import huggingface_hub.constants as hf_constants

    log = logging.getLogger("huggingface_hub.file_download")
    guard = _StallGuard()
    old = hf_constants.HF_HUB_DOWNLOAD_TIMEOUT
    hf_constants.HF_HUB_DOWNLOAD_TIMEOUT = timeout
    log.addFilter(guard)
    try:
        yield
    finally:
        log.removeFilter(guard)
        hf_constants.HF_HUB_DOWNLOAD_TIMEOUT = old


def hub_timeout() -> float:
    """Seconds to wait for the Hub's metadata answer (``HANDZOO_HUB_TIMEOUT``, default 10)."""
    try:
        value = float(os.environ.get(TIMEOUT_ENV, "10"))
    except ValueError:
        return 10.0
    return max(0.05, value) if value == value and value != float("inf") else 10.0


def _status_code(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _download_error(card: ModelCard, hub: HubWeights, endpoint: str, exc: BaseException) -> HandzooError:
    if isinstance(exc, HandzooError):
        return exc
    where = f"{hub.repo_id}/{hub.filename} @ {hub.revision[:12]}"
    fallback = f"or convert the authors' checkpoint yourself: `{convert_command(card)}`"
    code = _status_code(exc)
    if code == 404:
        return DownloadError(
            f"{where} was not found on {endpoint} (HTTP 404)",
            hint=f"the card points at a repository, revision or file that does not exist there; {fallback}",
        )
    if code in (401, 403):
        return DownloadError(
            f"access to {where} on {endpoint} was refused (HTTP {code})",
            hint=f"log in with `hf auth login` if the repository is private or gated; {fallback}",
        )
    if code is not None:
        return DownloadError(f"the Hub answered HTTP {code} for {where}", hint=f"try again later; {fallback}")
    if isinstance(exc, _Stalled):
        return DownloadError(
            f"the download of {where} from {endpoint} stalled: no data for {hub_timeout():g} s",
            hint=f"try again (raise {TIMEOUT_ENV} on a slow network); {fallback}",
        )
    return DownloadError(
        f"cannot download the weights of {card.name} from {endpoint} ({_first_line(exc)})",
        hint=f"check your network connection and HF_ENDPOINT, then try again; {fallback}",
    )


def download_weights(card: ModelCard) -> CacheEntry:
    """Download the card's pinned safetensors file, verify its sha256 and place it in the cache.

    Returns:
        The new cache entry.

    Raises:
        WeightsNotAvailableError: the card lists no published weights.
        DownloadError: offline, unreachable Hub, HTTP error (404, 401, ...), incomplete transfer.
        ChecksumError: the downloaded bytes do not have the card's sha256 (nothing is cached).
        WeightsError: the file is not valid safetensors.
    """
    hub = card.hub
    if not hub:
        raise weights_not_available(card)
    if hub_offline():
        raise DownloadError(
            f"the weights of {card.name} are not in the local cache and Hub access is off (HF_HUB_OFFLINE=1)",
            hint=f"run once with network access (unset HF_HUB_OFFLINE), or convert the authors' checkpoint: "
            f"`{convert_command(card)}`",
        )
    check_hub_source(card, hub)
    if not str(hub.filename).endswith(".safetensors"):
        raise WeightsError(f"the card of {card.name} points at {hub.filename!r}: handzoo downloads only safetensors")
    endpoint = hub_endpoint()
    timeout = hub_timeout()
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url

    from handzoo._version import __version__

    ident = {"library_name": "handzoo", "library_version": __version__}
    url = hf_hub_url(hub.repo_id, hub.filename, revision=hub.revision, endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, timeout=timeout, endpoint=endpoint, retry_on_errors=False, **ident)
    except Exception as exc:
        raise _download_error(card, hub, endpoint, exc) from None
    if hub.size and meta.size and int(meta.size) != int(hub.size):
        raise ChecksumError(
            f"the Hub serves {meta.size} bytes for {hub.filename} but the card of {card.name} pins {hub.size}",
            hint="the repository content does not match the card; nothing was downloaded",
        )
    with work_dir() as wd:
        try:
            with _bounded_body(timeout):
                path = hf_hub_download(
                    hub.repo_id,
                    hub.filename,
                    revision=hub.revision,
                    cache_dir=wd / "hf",
                    endpoint=endpoint,
                    etag_timeout=timeout,
                    **ident,
                )
        except Exception as exc:
            raise _download_error(card, hub, endpoint, exc) from None
        blob = Path(path).resolve()
        digest = sha256_file(blob)
        if digest != hub.sha256:
            raise ChecksumError(
                f"the file downloaded for {card.name} has sha256 {digest[:12]}..., the card pins "
                f"{hub.sha256[:12]}...; it was discarded",
                hint="the download was corrupted or the repository was changed; try again, or report it",
            )
        read_safetensors_header(blob)
        staged = wd / WEIGHTS_FILE
        os.replace(blob, staged)
        source = {"kind": "hub", "endpoint": endpoint, "commit": meta.commit_hash, **hub}
        provenance = {"source": source, "handzoo_version": __version__, "created": _now()}
        return place_entry(card.name, staged, provenance, sha256=digest)


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
