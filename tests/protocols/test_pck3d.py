"""3D PCK protocols of the 3D-hand paper: STB's official label layout, alignments, curves, files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from handzoo.errors import DatasetNotFoundError, SubmissionError
from handzoo.protocols import get_protocol
from handzoo.protocols.pck3d import (
    _STB_SK_ROT_VEC,
    _STB_SK_TRANS_MM,
    STB_TO_HANDZOO21,
    TIP_JOINTS,
    _rodrigues,
    read_stb_labels,
    stb_depth_to_color,
)


def _hands(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.04, (n, 21, 3)) + np.array([0.0, 0.0, 0.5])


def write_stb_standin(root, joints_by_seq: dict[str, np.ndarray]) -> None:
    """STB's layout: labels/<seq>_SK.mat with handPara (3, 21, N) mm in the depth camera, STB order."""
    from scipy.io import savemat

    (root / "labels").mkdir(parents=True, exist_ok=True)
    inv = np.argsort(STB_TO_HANDZOO21)  # handzoo21 -> STB order
    R = _rodrigues(np.asarray(_STB_SK_ROT_VEC))
    for seq, joints in joints_by_seq.items():
        stb = joints[:, inv] * 1000.0
        depth = stb @ R.T + np.asarray(_STB_SK_TRANS_MM)  # inverse of (x - T) @ R
        savemat(str(root / "labels" / f"{seq}_SK.mat"), {"handPara": depth.transpose(2, 1, 0)})


def test_stb_labels_round_trip(tmp_path) -> None:
    a, b = _hands(4, 1), _hands(3, 2)
    write_stb_standin(tmp_path, {"B1Counting": a, "B1Random": b})
    got = read_stb_labels(tmp_path)
    np.testing.assert_allclose(got, np.concatenate([a, b]), atol=1e-12)
    np.testing.assert_allclose(stb_depth_to_color(np.asarray(_STB_SK_TRANS_MM)[None]), np.zeros((1, 3)), atol=1e-12)
    with pytest.raises(DatasetNotFoundError):
        read_stb_labels(tmp_path, ("B2Counting",))


def test_root_alignment_curve_and_areas() -> None:
    gt = _hands(10)
    pred = gt + np.array([0.3, -0.1, 0.2])  # any translation is removed
    pred[:, 5] += np.array([0.0245, 0.0, 0.0])  # one joint 24.5 mm off in every hand
    res = get_protocol("stb-3dhand").evaluate(pred_joints=pred, gt_joints=gt)
    curve = np.array(res.curves["pck3d"]["values"])
    assert curve.shape == (51,)
    np.testing.assert_allclose(curve[1:25], 20 / 21)  # at 0 mm only exact zeros count (the root)
    np.testing.assert_allclose(curve[25:], 1.0)
    # trapezoid over 20..50 mm / 30: 4 mm at 20/21, one step from 20/21 to 1, 25 mm at 1
    expected = (4 * 20 / 21 + 0.5 * (20 / 21 + 1) + 25 * 1.0) / 30.0
    assert res.metrics["AUC_20_50"] == pytest.approx(expected, abs=1e-12)
    assert res.metrics["PCK@20"] == pytest.approx(20 / 21)
    assert res.num_samples == 10 and "size" not in " ".join(res.notes)


def test_scale_option_matches_the_reference_bone() -> None:
    gt = _hands(3)
    pred = (gt - gt[:, :1]) * 1.3 + 0.2
    plain = get_protocol("stb-3dhand").evaluate(pred_joints=pred, gt_joints=gt)
    scaled = get_protocol("stb-3dhand").evaluate(pred_joints=pred, gt_joints=gt, scale=True)
    assert scaled.metrics["PCK@20"] == pytest.approx(1.0) and plain.metrics["PCK@20"] < 1.0


def test_fingertip_centroid_alignment_and_validity() -> None:
    gt = _hands(6, 3)
    pred = gt + 0.1  # whole hand shifted: fingertips align exactly
    pred[:, 0] += 1.0  # non-tip joints do not count
    valid = np.zeros((6, 21), dtype=bool)
    valid[:, list(TIP_JOINTS)] = True
    for name in ("dexter-object-3dhand", "egodexter-3dhand"):
        res = get_protocol(name).evaluate(pred_joints=pred, gt_joints=gt, joints_valid=valid)
        np.testing.assert_allclose(res.curves["pck3d"]["values"][1:], 1.0)
    bent = pred.copy()
    bent[:, 4] += np.array([0.05, 0.0, 0.0])  # thumb tip 50 mm off: centroid moves 10 mm
    res = get_protocol("dexter-object-3dhand").evaluate(pred_joints=bent, gt_joints=gt, joints_valid=valid)
    assert res.metrics["PCK@30"] == pytest.approx(0.8) and res.metrics["PCK@50"] == pytest.approx(1.0)


def test_score_files_stb_layout_and_npz(tmp_path) -> None:
    gt = _hands(5, 4)
    write_stb_standin(tmp_path / "STB", {"B1Counting": gt[:3], "B1Random": gt[3:]})
    np.savez(tmp_path / "pred.npz", joints=gt + 0.01)
    res = get_protocol("stb-3dhand").score_files(tmp_path / "STB", tmp_path / "pred.npz")
    assert res.metrics["AUC_20_50"] == pytest.approx(1.0) and res.num_samples == 5
    (tmp_path / "DO").mkdir()
    (tmp_path / "DO" / "gt.json").write_text(json.dumps({"joints": gt.tolist()}))
    res = get_protocol("dexter-object-3dhand").score_files(tmp_path / "DO", tmp_path / "pred.npz")
    assert res.metrics["PCK@20"] == pytest.approx(1.0)
    np.savez(tmp_path / "bad.npz", joints=np.zeros((5, 20, 3)))
    with pytest.raises(SubmissionError):
        get_protocol("stb-3dhand").score_files(tmp_path / "STB", tmp_path / "bad.npz")
    with pytest.raises(DatasetNotFoundError):
        get_protocol("egodexter-3dhand").score_files(tmp_path / "nothing", tmp_path / "pred.npz")


def _write_do_standin(root, tips_cam_mm: dict[str, np.ndarray], missing: tuple[int, int] | None = None) -> None:
    """Dexter+Object layout: data/<seq>/annotations/<seq>3D.txt, depth frame (x left, y up), mm."""
    from handzoo.protocols.pck3d import _DO_DEPTH_TO_COLOR

    ext = np.asarray(_DO_DEPTH_TO_COLOR)
    for seq, cam in tips_cam_mm.items():
        depth = (cam - ext[:, 3]) @ np.linalg.inv(ext[:, :3]).T * np.array([-1.0, -1.0, 1.0])
        lines = []
        for f, frame in enumerate(depth):
            pts = []
            for t, p in enumerate(frame):
                if missing == (f, t):
                    p = np.array([0.0, 0.0, 32001.0])
                pts.append(f"{p[0]:.9f}, {p[1]:.9f}, {p[2]:.9f}")
            lines.append("; ".join(pts) + ";")
        folder = root / "data" / seq / "annotations"
        folder.mkdir(parents=True)
        (folder / f"{seq}3D.txt").write_text("\n".join(lines) + "\n")


def test_dexter_object_official_layout(tmp_path) -> None:
    from handzoo.protocols.pck3d import DEXTER_OBJECT_SEQUENCES, read_dexter_object_tips

    rng = np.random.default_rng(5)
    cams = {s: rng.normal(0, 40, (2, 5, 3)) + [0.0, 0.0, 500.0] for s in DEXTER_OBJECT_SEQUENCES}
    _write_do_standin(tmp_path, cams, missing=(1, 2))
    joints, valid = read_dexter_object_tips(tmp_path)
    assert joints.shape == (12, 21, 3) and valid.sum() == 12 * 5 - 6  # one missing tip per sequence
    np.testing.assert_allclose(joints[0][list(TIP_JOINTS)], cams["Grasp1"][0] / 1000.0, atol=1e-9)
    assert not valid[1, 12] and valid[1, 8]  # frame 1 of Grasp1: middle tip missing
    gt = joints.copy()
    np.savez(tmp_path / "pred.npz", joints=gt + 0.02)
    res = get_protocol("dexter-object-3dhand").score_files(tmp_path, tmp_path / "pred.npz")
    assert res.num_samples == 12 and res.metrics["PCK@20"] == pytest.approx(1.0)
    with pytest.raises(DatasetNotFoundError):
        read_dexter_object_tips(tmp_path, ("Grasp9",))
