"""Multi-frame models in ``handzoo predict``: streaming over video with a ring buffer per hand track."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

import handzoo
from handzoo import cli
from handzoo.datasets.synthetic import SyntheticHands
from handzoo.errors import ConfigError
from handzoo.predict.stream import FrameHistory, frame_offsets

SIZE = 96


def test_frame_offsets_rule() -> None:
    assert [frame_offsets(t, 2, 4) for t in range(6)] == [(0, 0), (0, 1), (1, 2), (1, 3), (2, 4), (2, 4)]
    with pytest.raises(ConfigError, match="short < long"):
        FrameHistory(3, 3)


def test_history_tracks_hands_by_box() -> None:
    h = FrameHistory(1, 2)
    frames = [np.full((4, 4, 3), k, np.uint8) for k in range(4)]
    a, b = [0, 0, 10, 10], [50, 50, 70, 70]
    out0 = h.step(frames[0], [a, b], [0, 1])
    assert [t.track for t in out0] == [0, 1]
    out1 = h.step(frames[1], [np.add(b, 1), np.add(a, 1)], [1, 0])  # order swapped, boxes moved a little
    assert [t.track for t in out1] == [1, 0]
    assert [int(im[0, 0, 0]) for im in out1[1].images] == [1, 1, 0]  # t=1: (t, t - 0, t - 1)
    np.testing.assert_array_equal(out1[1].boxes, [np.add(a, 1), np.add(a, 1), a])  # each frame's own box
    out2 = h.step(frames[2], [np.add(a, 2)], [0])  # hand 1 left the picture: its track ends
    assert [int(im[0, 0, 0]) for im in out2[0].images] == [2, 1, 0] and out2[0].track == 0
    out3 = h.step(frames[3], [b, np.add(a, 3)], [1, 0])  # hand 1 comes back: a new track
    assert [t.track for t in out3] == [2, 0]
    assert [int(im[0, 0, 0]) for im in out3[1].images] == [3, 2, 1]  # t >= long: (t, t - 1, t - 2)
    assert [int(im[0, 0, 0]) for im in out3[0].images] == [3, 3, 3]


def test_video_streams_a_multi_frame_model(tmp_path, mf_model, monkeypatch, capsys) -> None:
    ds = SyntheticHands(n=5, seed=3, image_size=SIZE)
    video = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (SIZE, SIZE))
    for k in range(5):
        w.write(np.ascontiguousarray(ds[k].image[:, :, ::-1]))
    w.release()
    monkeypatch.setattr(handzoo, "load", lambda name, **kw: mf_model)
    out_dir = tmp_path / "out"
    argv = ["predict", str(video), "--model", "h2onet-openhand", "--out", str(out_dir), "--json"]
    assert cli.main(argv + ["--frame-offsets", "1", "2", "--batch-size", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 5 and summary["hands"] == 5 and summary["streaming_frame_offsets"] == [1, 2]
    cap = cv2.VideoCapture(str(out_dir / "clip.mp4"))
    decoded = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        decoded.append(frame)
    cap.release()
    assert len(decoded) == 5 and decoded[0].shape == (SIZE, 2 * SIZE, 3)  # overlay | 3D side view
    # the frames as predict read them, and the full-image box the default detector gives
    cap = cv2.VideoCapture(str(video))
    frames = [cap.read()[1][:, :, ::-1].copy() for _ in range(5)]
    cap.release()
    box = [0.0, 0.0, SIZE - 1.0, SIZE - 1.0]
    for t, (back_s, back_l) in enumerate([(0, 0), (0, 1), (1, 2), (1, 2), (1, 2)]):
        rec = json.loads((out_dir / "clip" / f"frame_{t:06d}.json").read_text())
        hand = rec["hands"][0]
        assert hand["extras"]["frame_offsets"] == [back_s, back_l] and hand["extras"]["track"] == 0
        ref = mf_model([frames[t], frames[t - back_s], frames[t - back_l]], boxes=[box] * 3)
        assert rec["boxes"] == [box]
        np.testing.assert_allclose(hand["joints3d"], ref.joints3d[0, 0].double().numpy(), atol=1e-5)
        np.testing.assert_allclose(hand["vertices"], ref.vertices[0, 0].double().numpy(), atol=1e-5)
        np.testing.assert_allclose(hand["joints2d"], ref.joints2d[0, 0].double().numpy(), atol=1e-4)
    # a still image is its own three frames
    img = tmp_path / "still.png"
    cv2.imwrite(str(img), np.ascontiguousarray(frames[2][:, :, ::-1]))
    assert cli.main(["predict", str(img), "--out", str(out_dir), "--json", "--no-overlay"]) == 0
    capsys.readouterr()
    rec = json.loads((out_dir / "still.json").read_text())
    ref = mf_model([frames[2]] * 3, boxes=[box] * 3)
    np.testing.assert_allclose(rec["hands"][0]["joints3d"], ref.joints3d[0, 0].double().numpy(), atol=1e-5)


def test_keypoint_detector_with_a_multi_frame_model(mf_model) -> None:
    from handzoo.predict.detectors import ModelKeypointDetector

    img = SyntheticHands(n=1, seed=5, image_size=SIZE)[0].image
    (found,) = ModelKeypointDetector(mf_model).detect([img])
    ref = mf_model([img] * 3, boxes=[[0.0, 0.0, SIZE - 1.0, SIZE - 1.0]] * 3)
    uv = ref.joints2d[0, 0].double().numpy()
    c = (uv.min(0) + uv.max(0)) / 2
    half = max(float((uv.max(0) - uv.min(0)).max()) * 1.5 / 2, 8.0)
    want = np.clip([c[0] - half, c[1] - half, c[0] + half, c[1] + half], 0, SIZE - 1)
    # the box around the 2D joints of the image taken as its own three frames
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes[0], want, atol=1e-4)
