"""The one way a method turns ``hand_model=`` into its hand model."""

from __future__ import annotations

import pytest

from handzoo.errors import ConfigError
from handzoo.handmodels.method_hand import build_method_hand_model, hand_model_config, make_buffers_non_persistent


def test_name_gets_method_defaults_and_mano_only_defaults():
    cfg = hand_model_config(
        "MANO", method="M", defaults={"side": "right"}, mano_defaults={"tip_vertex_ids": [1, 2, 3, 4, 5]}, mano_dir="/m"
    )
    assert cfg == {"type": "mano", "side": "right", "tip_vertex_ids": (1, 2, 3, 4, 5), "mano_dir": "/m"}
    cfg = hand_model_config("openhand", method="M", mano_defaults={"tip_vertex_ids": (1, 2, 3, 4, 5)}, mano_dir="/m")
    assert cfg == {"type": "openhand"}


def test_config_settings_win_over_defaults():
    cfg = hand_model_config({"type": "openhand", "side": "left"}, method="M", defaults={"side": "right", "x": 1})
    assert cfg["side"] == "left" and cfg["x"] == 1


@pytest.mark.parametrize("bad", ["smplx", {"type": "nope"}, 3])
def test_unknown_hand_models_are_config_errors(bad):
    with pytest.raises(ConfigError, match="unknown hand model|must be a name"):
        hand_model_config(bad, method="M")


def test_builds_openhand_and_refuses_a_left_hand():
    hm = build_method_hand_model("openhand", method="M", defaults={"side": "right"})
    assert hm.side == "right" and hm.num_vertices > 0
    assert build_method_hand_model(hm, method="M") is hm
    left = build_method_hand_model({"type": "openhand", "side": "left"}, method="M", right_only=False)
    with pytest.raises(ConfigError, match="M needs a right-hand model"):
        build_method_hand_model(left, method="M")


def test_hand_arrays_leave_the_state_dict():
    hm = build_method_hand_model("openhand", method="M")
    assert list(hm.buffers()) and set(hm.state_dict()) - set(dict(hm.named_parameters()))
    make_buffers_non_persistent(hm)
    assert list(hm.buffers())  # still there for the forward
    assert set(hm.state_dict()) <= set(dict(hm.named_parameters()))  # but never saved
