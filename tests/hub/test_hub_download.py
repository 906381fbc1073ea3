"""Hub download through a stand-in server: verified, atomic, fast to fail, offline from the cache."""

from __future__ import annotations

import hashlib
import json
import os
import time

import pytest
import torch
from hub_tiny import TINY_VARIANT, cache_files, tiny_card
from safetensors.torch import save

from handzoo.errors import ChecksumError, DownloadError, WeightsNotAvailableError
from handzoo.hub.cache import cache_dir, read_entry
from handzoo.hub.download import download_weights
from handzoo.hub.load import resolve_weights
from handzoo.hub.status import weights_status
from handzoo.testing.hub import free_port_url

REPO = "handzoo-test/tiny-demo"


@pytest.fixture
def blob(tiny_model) -> bytes:
    return save(dict(tiny_model.state_dict()))


def publish(hub, data: bytes, filename: str = "model.safetensors", sha: str | None = None):
    rev = hub.add_file(REPO, filename, data)
    pin = {"repo_id": REPO, "filename": filename, "revision": rev, "sha256": sha or hashlib.sha256(data).hexdigest()}
    return tiny_card(hub=pin)


def assert_nothing_cached():
    root = cache_dir()
    assert read_entry(TINY_VARIANT) is None
    assert cache_files(root) == [], cache_files(root)


def test_download_verifies_and_caches(standin_hub, blob):
    card = publish(standin_hub, blob)
    assert weights_status(card) == "published"
    entry = download_weights(card)
    assert entry.path.read_bytes() == blob
    prov = json.loads((entry.path.parent / "provenance.json").read_text())
    assert prov["source"]["kind"] == "hub" and prov["source"]["revision"] == card.hub["revision"]
    assert prov["sha256"] == card.hub["sha256"] and prov["source"]["commit"] == card.hub["revision"]
    assert weights_status(card) == "cached"
    assert "library_name" not in prov  # provenance is ours, not huggingface_hub's
    assert not (cache_dir() / "tmp").exists() or not any((cache_dir() / "tmp").iterdir())


def test_cache_hit_makes_no_request(standin_hub, blob):
    card = publish(standin_hub, blob)
    first = resolve_weights(card)
    n = len(standin_hub.requests)
    assert resolve_weights(card) == first
    assert len(standin_hub.requests) == n


def test_user_agent_names_handzoo(standin_hub, blob, monkeypatch):
    card = publish(standin_hub, blob)
    seen = []
    import huggingface_hub.utils._headers as headers

    real = headers._http_user_agent
    monkeypatch.setattr(headers, "_http_user_agent", lambda **kw: seen.append(kw.get("library_name")) or real(**kw))
    download_weights(card)
    assert "handzoo" in seen


def test_offline_works_from_the_cache(standin_hub, blob, monkeypatch):
    card = publish(standin_hub, blob)
    path = resolve_weights(card)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    n = len(standin_hub.requests)
    assert resolve_weights(card) == path
    assert len(standin_hub.requests) == n


def test_offline_without_cache_fails_fast(standin_hub, blob, monkeypatch):
    card = publish(standin_hub, blob)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.perf_counter()
    with pytest.raises(DownloadError) as exc:
        resolve_weights(card)
    assert time.perf_counter() - t0 < 2
    assert "HF_HUB_OFFLINE" in str(exc.value) and "handzoo convert tiny-demo model_best.pth" in str(exc.value)
    assert standin_hub.requests == []
    assert_nothing_cached()


def test_unreachable_hub_fails_fast(blob, monkeypatch):
    import huggingface_hub.constants as hf_constants

    card = tiny_card(hub={"repo_id": REPO, "filename": "model.safetensors", "revision": "a" * 40, "sha256": "b" * 64})
    monkeypatch.setenv("HF_ENDPOINT", free_port_url())
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match="cannot download"):
        resolve_weights(card)
    assert time.perf_counter() - t0 < 2
    assert_nothing_cached()


def test_silent_server_times_out(standin_hub, blob, monkeypatch):
    card = publish(standin_hub, blob)
    standin_hub.set_fault(REPO, "model.safetensors", "hang")
    monkeypatch.setenv("HANDZOO_HUB_TIMEOUT", "0.5")
    t0 = time.perf_counter()
    with pytest.raises(DownloadError):
        download_weights(card)
    assert time.perf_counter() - t0 < 3
    assert_nothing_cached()


def test_sha256_mismatch_leaves_nothing(standin_hub, blob):
    card = publish(standin_hub, blob, sha="0" * 64)
    with pytest.raises(ChecksumError, match="discarded"):
        download_weights(card)
    assert_nothing_cached()
    assert weights_status(card) == "published"


def test_corrupt_transfer_is_rejected(standin_hub, blob):
    card = publish(standin_hub, blob)
    standin_hub.set_fault(REPO, "model.safetensors", "corrupt")
    with pytest.raises(ChecksumError):
        download_weights(card)
    assert_nothing_cached()


def test_truncated_transfer_is_rejected(standin_hub, blob):
    card = publish(standin_hub, blob)
    standin_hub.set_fault(REPO, "model.safetensors", "truncate")
    with pytest.raises((DownloadError, ChecksumError)):
        download_weights(card)
    assert_nothing_cached()


def test_interrupted_transfer_leaves_nothing(standin_hub, blob):
    card = publish(standin_hub, blob)
    standin_hub.set_fault(REPO, "model.safetensors", "interrupt")
    with pytest.raises(DownloadError, match="503"):
        download_weights(card)
    assert_nothing_cached()
    standin_hub.set_fault(REPO, "model.safetensors", None)
    assert download_weights(card).path.read_bytes() == blob  # a later attempt succeeds


def test_keyboard_interrupt_mid_download_leaves_nothing(standin_hub, blob, monkeypatch):
    import huggingface_hub

    card = publish(standin_hub, blob)

    def interrupted(repo_id, filename, *, cache_dir, **kwargs):
        part = os.path.join(cache_dir, "blobs", "x.incomplete")
        os.makedirs(os.path.dirname(part))
        with open(part, "wb") as f:
            f.write(blob[:100])
        raise KeyboardInterrupt

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", interrupted)
    with pytest.raises(KeyboardInterrupt):
        download_weights(card)
    assert_nothing_cached()


@pytest.mark.parametrize("what", ["file", "repo", "revision"])
def test_404_is_a_download_error(standin_hub, blob, what):
    card = publish(standin_hub, blob)
    hub = dict(card.hub)
    if what == "file":
        hub["filename"] = "other.safetensors"
    elif what == "repo":
        hub["repo_id"] = "nobody/nothing"
    else:
        hub["revision"] = "c" * 40
    with pytest.raises(DownloadError, match="404") as exc:
        download_weights(tiny_card(hub=hub))
    assert "handzoo convert" in str(exc.value)
    assert_nothing_cached()


def test_server_error_is_a_download_error(standin_hub, blob):
    card = publish(standin_hub, blob)
    standin_hub.set_fault(REPO, "model.safetensors", "error500")
    with pytest.raises(DownloadError, match="500"):
        download_weights(card)
    assert_nothing_cached()


def test_tampered_cache_is_detected(standin_hub, blob):
    card = publish(standin_hub, blob)
    path = resolve_weights(card)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match="modified or corrupted"):
        resolve_weights(card)


def test_card_update_replaces_a_stale_download(standin_hub, blob, tiny_model):
    old = publish(standin_hub, blob)
    resolve_weights(old)
    with torch.no_grad():
        tiny_model.head.bias.add_(1)
    new_blob = save(dict(tiny_model.state_dict()))
    new = publish(standin_hub, new_blob)
    assert weights_status(new) == "published"
    assert resolve_weights(new).read_bytes() == new_blob
    assert weights_status(new) == "cached" and weights_status(old) == "published"


def test_unpublished_card_names_the_authors_file():
    card = tiny_card()
    assert weights_status(card) == "convert-needed"
    with pytest.raises(WeightsNotAvailableError) as exc:
        resolve_weights(card)
    msg = str(exc.value)
    assert "https://example.org/tiny/model_best.pth" in msg and "`handzoo convert tiny-demo model_best.pth`" in msg
    no_original = tiny_card(original=None)
    with pytest.raises(WeightsNotAvailableError, match="pretrained=False"):
        resolve_weights(no_original)


def test_work_dirs_of_dead_processes_are_swept():
    import subprocess
    import sys

    from handzoo.hub.cache import work_dir

    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = cache_dir() / "tmp" / f"{proc.stdout.strip()}-deadbeef"
    dead.mkdir(parents=True)
    (dead / "x.incomplete").write_bytes(b"partial")
    mine = cache_dir() / "tmp" / f"{os.getpid()}-other"
    mine.mkdir()
    with work_dir() as wd:
        assert wd.is_dir() and not dead.exists() and mine.exists()
    assert not wd.exists()
