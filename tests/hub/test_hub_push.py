"""``handzoo push`` against the stand-in Hub: upload, generated card, round trip, MANO refusal."""

from __future__ import annotations

import hashlib

import pytest
import torch
from hub_tiny import TINY_VARIANT, TinyMethod, tiny_card

from handzoo.errors import WeightsError
from handzoo.hub.cards import parse_card
from handzoo.hub.convert import convert_checkpoint
from handzoo.hub.load import load
from handzoo.hub.push import push_weights
from handzoo.hub.validate import card_problems

REPO = "handzoo-test/tiny-demo"


def test_push_publishes_weights_and_card(install_tiny, standin_hub, original_checkpoint, tiny_model, monkeypatch):
    install_tiny()
    conv = convert_checkpoint(TINY_VARIANT, original_checkpoint)
    res = push_weights(TINY_VARIANT, REPO, token="hf_test")
    files = standin_hub.files(REPO)
    assert files["model.safetensors"] == conv.path.read_bytes()
    assert res.sha256 == conv.sha256 == hashlib.sha256(files["model.safetensors"]).hexdigest()
    card = parse_card(files["README.md"].decode())
    assert card_problems(card) == []
    assert card.hub == {
        "repo_id": REPO,
        "filename": "model.safetensors",
        "revision": res.revision,
        "sha256": res.sha256,
        "size": res.size,
    }
    assert "## Provenance" in card.body and conv.source_sha256 in card.body
    assert res.card_revision != res.revision and card.metadata["library_name"] == "handzoo"
    assert standin_hub.count("POST", "/api/validate-yaml") == 1

    # the generated card is a working card: a fresh cache downloads the pinned file
    install_tiny(cards=[card])
    monkeypatch.setenv("HANDZOO_CACHE", str(conv.path.parents[3] / "fresh"))
    model = load(TINY_VARIANT)
    for k, v in tiny_model.state_dict().items():
        assert torch.equal(model.state_dict()[k], v)


def test_push_refuses_mano_derived_tensors(install_tiny, standin_hub, tmp_path):
    install_tiny(cards=[tiny_card(with_mano_buffer=True)])
    model = TinyMethod(with_mano_buffer=True)
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file(dict(model.state_dict()), str(path))
    with pytest.raises(WeightsError, match="MANO-derived data \\(mano.shapedirs\\)") as exc:
        push_weights(TINY_VARIANT, REPO, weights=path, token="hf_test")
    assert "publish a file without them" in str(exc.value)
    assert standin_hub.requests == []


def test_push_refuses_keys_flagged_by_the_card(install_tiny, standin_hub, tiny_model, tmp_path):
    card = tiny_card()
    card = card.with_fields(weights={**card.weights, "mano_derived_keys": ["head.*"]})
    install_tiny(cards=[card])
    from safetensors.torch import save_file

    path = tmp_path / "w.safetensors"
    save_file(dict(tiny_model.state_dict()), str(path))
    with pytest.raises(WeightsError, match="2 tensor"):
        push_weights(TINY_VARIANT, REPO, weights=path, token="hf_test")
    assert standin_hub.requests == []


def test_push_needs_converted_weights(install_tiny, standin_hub):
    install_tiny()
    with pytest.raises(WeightsError, match="no converted weights") as exc:
        push_weights(TINY_VARIANT, REPO, token="hf_test")
    assert "handzoo convert tiny-demo model_best.pth" in str(exc.value)


def test_push_only_safetensors(install_tiny, standin_hub, original_checkpoint):
    install_tiny()
    convert_checkpoint(TINY_VARIANT, original_checkpoint)
    from handzoo.errors import ConfigError

    with pytest.raises(ConfigError, match="only .safetensors"):
        push_weights(TINY_VARIANT, REPO, filename="model.bin", token="hf_test")


def test_push_upload_failure_is_a_handzoo_error(install_tiny, original_checkpoint, monkeypatch):
    import huggingface_hub.constants as hf_constants

    from handzoo.testing.hub import free_port_url

    install_tiny()
    convert_checkpoint(TINY_VARIANT, original_checkpoint)
    monkeypatch.setenv("HF_ENDPOINT", free_port_url())
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", False)
    with pytest.raises(WeightsError, match="uploading tiny-demo"):
        push_weights(TINY_VARIANT, REPO, token="hf_test")
