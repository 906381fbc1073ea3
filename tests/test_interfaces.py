"""Core interfaces: detectors feed any method through the same input contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
import torch

from handzoo.errors import InputError
from handzoo.interfaces import Detections, HandDetector, Method
from handzoo.query import HandQuery, load_images
from handzoo.types import LEFT, RIGHT, HandOutput


class _CornerDetector(HandDetector):
    """One right hand in the top-left quarter and one left hand in the bottom-right one."""

    def detect(self, images: Any) -> list[Detections]:
        out = []
        for img in load_images(images):
            h, w = img.shape[:2]
            boxes = [[0, 0, w / 2, h / 2], [w / 2, h / 2, w - 1, h - 1]]
            out.append(Detections(boxes=boxes, sides=[RIGHT, LEFT], scores=[0.9, 0.8]))
        return out


class _EchoMethod(Method):
    """Returns each query hand's box centre as its wrist (to check what reaches preprocess)."""

    def preprocess(self, query: HandQuery) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
        rows = query.hand_index()
        centres = [(query.boxes[i][j][:2] + query.boxes[i][j][2:]) / 2 for i, j in rows]
        sides = query.hand_sides()
        return {"c": torch.tensor(np.array(centres))}, {"rows": rows, "q": query, "sides": sides}

    def forward(self, batch: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"c": batch["c"]}

    def postprocess(self, raw: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> HandOutput:
        q: HandQuery = meta["q"]
        j = torch.zeros(q.num_images, q.max_hands, 21, 3, dtype=torch.float64)
        side = torch.zeros(q.num_images, q.max_hands, dtype=torch.long)
        for k, (i, h) in enumerate(meta["rows"]):
            j[i, h, 0, :2] = raw["c"][k]
            side[i, h] = int(meta["sides"][i][h])
        return HandOutput(joints3d=j, side=side, score=torch.ones_like(side, dtype=torch.float64), valid=side >= 0)


def test_detections_feed_a_method():
    imgs = [np.zeros((40, 60, 3), np.uint8), np.zeros((20, 30, 3), np.uint8)]
    dets = _CornerDetector().detect(imgs)
    assert [len(d) for d in dets] == [2, 2] and dets[0].boxes.dtype == np.float64 and dets[0].sides.dtype == np.int64
    out = _EchoMethod()(imgs, boxes=[d.boxes for d in dets], sides=[d.sides for d in dets])
    assert out.joints3d.shape == (2, 2, 21, 3) and out.side.tolist() == [[RIGHT, LEFT], [RIGHT, LEFT]]
    assert out.joints3d[1, 1, 0, :2].tolist() == [22.0, 14.5]


def test_detections_validate_their_lengths():
    assert len(Detections()) == 0
    with pytest.raises(InputError, match="one side and one score per box"):
        Detections(boxes=np.zeros((2, 4)), sides=[0], scores=[1.0, 1.0])


def test_predict_validates_before_preprocess():
    with pytest.raises(InputError, match="sides="):
        _EchoMethod()(np.zeros((4, 4, 3), np.uint8), side="left")
