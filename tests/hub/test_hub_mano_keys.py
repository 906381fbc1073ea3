"""MANO provenance: where an array came from decides, never its key name."""

from __future__ import annotations

import torch
from torch import nn

from handzoo.handmodels import hand_model
from handzoo.hub.mano_keys import authors_mano_keys, from_mano_file, mano_provenance


def test_authors_checkpoints_are_read_by_their_loaders_layout():
    keys = [
        "mano_layer.th_shapedirs",
        "module_a.mano_layer.faces",
        "smpl_layer.v_template",
        "th_betas",
        "hand.v_template",
        "hand.shapedirs",
        "J_regressor",
        "lbs_weights",
        "backbone.conv.weight",
        "mano_layer",  # a tensor named like the module, not inside it
    ]
    assert authors_mano_keys(keys) == [
        "mano_layer.th_shapedirs",
        "module_a.mano_layer.faces",
        "smpl_layer.v_template",
        "th_betas",
    ]
    assert authors_mano_keys(keys, ["backbone.*"]) == sorted(
        [
            "mano_layer.th_shapedirs",
            "module_a.mano_layer.faces",
            "smpl_layer.v_template",
            "th_betas",
            "backbone.conv.weight",
        ]
    )


def test_modules_say_where_their_arrays_came_from(tmp_path):
    from handzoo.testing import write_mano_standin

    assert not from_mano_file(hand_model("openhand"))
    mano = hand_model("mano", mano_dir=write_mano_standin(tmp_path))
    assert from_mano_file(mano)
    mano.mano_derived = False  # a module may say otherwise (e.g. arrays it re-derived itself)
    assert not from_mano_file(mano)
    marked = nn.Module()
    marked.mano_derived = True
    assert from_mano_file(marked) and not from_mano_file(nn.Linear(2, 2))
    smplx_like = type("MANO", (nn.Module,), {"__module__": "smplx.body_models"})()
    assert from_mano_file(smplx_like)


class _Net(nn.Module):
    def __init__(self, hand: nn.Module) -> None:
        super().__init__()
        self.hand = hand
        self.head = nn.Linear(4, 4)
        self.register_buffer("zeros", torch.zeros(778, 3))
        self.mano_derived_keys = ("head.bias",)


def test_provenance_of_a_built_model(tmp_path):
    from handzoo.testing import write_mano_standin

    net = _Net(hand_model("mano", mano_dir=write_mano_standin(tmp_path)))
    prov = mano_provenance(net, ["head.weight"])
    assert "hand.v_template" in prov.from_file and not any(k.startswith("head") for k in prov.from_file)
    assert prov.declared == ("head.bias", "head.weight")
    state = {"copy": net.hand.v_template.double(), "zeros": torch.zeros(778, 3), "x": torch.ones(778, 3)}
    assert prov.copies(state) == ["copy"]  # constant tensors are no evidence
    assert prov.flagged({"hand.v_template": net.hand.v_template, "head.bias": net.head.bias, **state}) == [
        "copy",
        "hand.v_template",
        "head.bias",
    ]
    open_net = _Net(hand_model("openhand"))
    open_net.mano_derived_keys = ()
    assert mano_provenance(open_net).keys == [] and mano_provenance(open_net).copies(open_net.state_dict()) == []
