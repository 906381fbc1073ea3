"""``handzoo hand --side left`` draws a left hand: the mirror image of the right one, palm side first."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from handzoo.cli import main
from handzoo.commands.hand_cmd import views_of
from handzoo.handmodels import hand_model
from handzoo.handmodels.viz import _view_dir, hand_display_frame


def _posed(side: str, flex_deg: float) -> np.ndarray:
    model = hand_model("openhand", side=side, dtype=torch.float64, closed_wrist=True)
    axes = torch.as_tensor(model.meta["flexion_axes"], dtype=torch.float64)[1:]
    _, joints = model(torch.zeros(1, 3, dtype=torch.float64), (axes * np.deg2rad(flex_deg)).reshape(1, 45), None)
    return joints[0].numpy()


def _handedness(j: np.ndarray) -> float:
    """Sign of (index knuckle - pinky knuckle) x (wrist -> middle knuckle) . (wrist -> thumb tip)."""
    return float(np.sign(np.cross(j[5] - j[17], j[9] - j[0]) @ (j[4] - j[0])))


@pytest.mark.parametrize("flex", [0.0, 60.0])
def test_left_hand_is_the_mirror_of_the_right(flex: float) -> None:
    right, left = _posed("right", flex), _posed("left", flex)
    np.testing.assert_allclose(left, right * np.array([-1.0, 1.0, 1.0]), atol=1e-12)
    assert _handedness(left) == -_handedness(right) != 0


@pytest.mark.parametrize("side", ["right", "left"])
def test_first_view_looks_at_the_palm(side: str) -> None:
    j = _posed(side, 30.0)
    frame = hand_display_frame(j)
    (palm_view, caption), (back_view, _) = views_of(side)
    assert caption == "palm side"
    for knuckle in (5, 9, 13, 17):  # the fingers curl towards the palm, i.e. towards the palm-side camera
        curl = (j[knuckle + 3] - j[knuckle]) @ frame.T
        assert _view_dir(*palm_view) @ curl > 0 > _view_dir(*back_view) @ curl


def test_command_draws_left_joints_palm_first(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    import handzoo.handmodels.viz as viz

    seen: dict[str, Any] = {}

    def capture(vertices: Any, faces: Any, path: Any, **kw: Any) -> str:
        seen.update(kw, vertices=vertices)
        return str(path)

    monkeypatch.setattr(viz, "save_hand_png", capture)
    assert main(["hand", "--side", "left", "--flex", "60", "--out", str(tmp_path / "fist.png")]) == 0
    joints = np.asarray(seen["joints"])
    assert _handedness(joints) == _handedness(_posed("left", 60.0)) == -_handedness(_posed("right", 60.0))
    assert seen["panel_titles"] == ["palm side", "back of the hand"] and "(left)" in seen["title"]
    assert list(seen["views"]) == [v for v, _ in views_of("left")]
