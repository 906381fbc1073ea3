"""Hub downloads with a bad card, a bad endpoint or a stalled server: a clean error, in bounded time."""

from __future__ import annotations

import hashlib
import time

import pytest
import torch
from hub_tiny import TINY_VARIANT, cache_files, tiny_card
from safetensors.torch import save

from handzoo.cli import main
from handzoo.errors import ConfigError, DownloadError, WeightsError
from handzoo.hub.cache import cache_dir, read_entry
from handzoo.hub.download import download_weights, hub_endpoint, hub_timeout

REPO = "handzoo-test/tiny-demo"


@pytest.fixture
def blob(tiny_model) -> bytes:
    return save(dict(tiny_model.state_dict()))


def _pin(hub, data: bytes, **changes) -> dict:
    rev = hub.add_file(REPO, "model.safetensors", data)
    pin = {
        "repo_id": REPO,
        "filename": "model.safetensors",
        "revision": rev,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    pin.update(changes)
    return {k: v for k, v in pin.items() if v is not None}


def assert_nothing_cached():
    assert read_entry(TINY_VARIANT) is None
    assert cache_files(cache_dir()) == []


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"repo_id": "a/../b"}, "repo_id"),
        ({"repo_id": ".."}, "repo_id"),
        ({"repo_id": "a b/c"}, "repo_id"),
        ({"repo_id": "a/b/c"}, "repo_id"),
        ({"filename": "../model.safetensors"}, "filename"),
        ({"sha256": None}, "sha256"),
        ({"sha256": "abc"}, "sha256"),
        ({"revision": None}, "revision"),
    ],
)
def test_bad_hub_fields_fail_before_any_request(standin_hub, blob, changes, field):
    card = tiny_card(hub=_pin(standin_hub, blob, **changes))
    n = len(standin_hub.requests)
    with pytest.raises(WeightsError, match=f"weights.hub.{field}"):
        download_weights(card)
    assert len(standin_hub.requests) == n  # nothing was downloaded
    assert_nothing_cached()


@pytest.mark.parametrize("endpoint", ["not a url", "ftp://example.org", "http://", "http://host:99999", "://x"])
def test_malformed_hf_endpoint(standin_hub, blob, monkeypatch, endpoint):
    card = tiny_card(hub=_pin(standin_hub, blob))
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    with pytest.raises(ConfigError, match="HF_ENDPOINT"):
        download_weights(card)
    with pytest.raises(ConfigError, match="HF_ENDPOINT"):
        hub_endpoint()
    assert_nothing_cached()


def test_stalled_body_fails_within_the_timeout(standin_hub, blob, monkeypatch):
    card = tiny_card(hub=_pin(standin_hub, blob))
    standin_hub.set_fault(REPO, "model.safetensors", "stall")
    monkeypatch.setenv("HANDZOO_HUB_TIMEOUT", "1")
    t0 = time.perf_counter()
    with pytest.raises(DownloadError, match="stalled"):
        download_weights(card)
    assert time.perf_counter() - t0 < 8  # was ~65 s: five retries of a 10 s read timeout
    assert_nothing_cached()
    standin_hub.set_fault(REPO, "model.safetensors", None)
    assert download_weights(card).path.read_bytes() == blob


@pytest.mark.parametrize("value", ["abc", "inf", "nan", "-3", ""])
def test_odd_timeouts_are_bounded(monkeypatch, value):
    monkeypatch.setenv("HANDZOO_HUB_TIMEOUT", value)
    t = hub_timeout()
    assert 0 < t <= 10


def test_cli_load_of_a_bad_endpoint_is_one_line(install_tiny, standin_hub, blob, monkeypatch, capsys, tmp_path):
    card = tiny_card(hub=_pin(standin_hub, blob))
    install_tiny([card])
    monkeypatch.setenv("HF_ENDPOINT", "not a url")
    monkeypatch.delenv("HANDZOO_DEBUG", raising=False)
    import handzoo

    with pytest.raises(ConfigError):
        handzoo.load(TINY_VARIANT)
    assert torch.is_tensor(torch.zeros(1))
    # through the CLI: converting is unaffected, errors stay one line
    assert main(["info", TINY_VARIANT]) == 0
    capsys.readouterr()
