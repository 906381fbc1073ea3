"""Drop-in gaps with the official scripts: strict number parsing, H2ONet's score and mesh root,
InterHand's per-joint MPJPE and InterNet's own rel_root_depth shape, FreiHAND's placeholder curves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from protocol_golden import assert_close, load_golden, write_fh_files

from handzoo.errors import AnnotationError, InputError, SubmissionError
from handzoo.protocols import get_protocol
from handzoo.protocols.dexycb_mesh import H2ONET_VERTS_ROOT_FILE
from handzoo.protocols.interhand import INTERHAND_JOINT_NAMES
from handzoo.protocols.io import read_fh_prediction
from handzoo.protocols.score_cli import main

GT_KEYS = ("joint_cam", "joint_valid", "hand_type", "hand_type_valid", "focal", "princpt", "abs_depth")


def _fh_dir(d: dict, tmp: Path, scenario: str = "noise") -> Path:
    return write_fh_files(tmp, d["gt_xyz"], d["gt_verts"], d[f"pred_xyz_{scenario}"], d[f"pred_verts_{scenario}"])


# -- strict JSON numbers -----------------------------------------------------------------------
def test_reader_gives_the_numbers_of_json(fh_inputs, tmp_path: Path) -> None:
    pred = _fh_dir(fh_inputs, tmp_path)
    xyz, verts = read_fh_prediction(pred, len(fh_inputs["gt_xyz"]))
    ref = json.loads(pred.read_text())
    assert np.array_equal(xyz, np.asarray(ref[0])) and np.array_equal(verts, np.asarray(ref[1]))


@pytest.mark.parametrize("token", ['"0.1"', "true", "false", "null"])
def test_strings_and_booleans_are_not_coordinates(fh_inputs, tmp_path: Path, token: str) -> None:
    """numpy turns "0.1" and true into numbers; the official scripts crash on strings: reject both."""
    pred = _fh_dir(fh_inputs, tmp_path)
    text = pred.read_text()
    i = text.index("[[[[") + 4
    j = text.index(",", i)
    pred.write_text(text[:i] + token + text[j:])
    with pytest.raises(SubmissionError, match=r"sample 0 .*line 1 column 5"):
        get_protocol("freihand").score_files(tmp_path, pred)


def test_ground_truth_strings_rejected(fh_inputs, tmp_path: Path) -> None:
    pred = _fh_dir(fh_inputs, tmp_path)
    gt = tmp_path / "evaluation_xyz.json"
    data = json.loads(gt.read_text())
    data[2][3][1] = "0.5"
    gt.write_text(json.dumps(data))
    with pytest.raises(AnnotationError, match="evaluation_xyz.json: sample 2"):
        get_protocol("freihand").score_files(tmp_path, pred)


def test_interhand_json_strings_rejected(interhand_inputs, tmp_path: Path) -> None:
    d = interhand_inputs
    np.savez(tmp_path / "interhand_gt.npz", **{k: d[k] for k in GT_KEYS})
    cam = d["joint_cam"].tolist()
    cam[1][5][2] = "12.5"
    (tmp_path / "pred.json").write_text(json.dumps({"joint_cam": cam}))
    with pytest.raises(SubmissionError, match="strings, booleans"):
        get_protocol("interhand").score_files(tmp_path, tmp_path / "pred.json")


# -- FreiHAND / HO-3D ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["freihand", "ho3d-v2"])
def test_non_mano_meshes_get_the_official_placeholder_curves(fh_inputs, tmp_path: Path, name: str) -> None:
    d = fh_inputs
    res = get_protocol(name).evaluate(
        pred_joints=d["pred_xyz_noise"], gt_joints=d["gt_xyz"], pred_verts=d["pred_verts_noise"][:, :50],
        gt_verts=d["gt_verts"],
    )  # fmt: skip
    for key in ("mesh", "mesh_al"):
        assert res.curves[key] == {"thresholds_mm": [0.0, 1000.0], "values": [-1.0, -1.0]}
    assert res.scores["mesh_al_auc3d"] == -1.0


def test_joints_only_submission_is_scored_and_noted(fh_inputs, tmp_path: Path) -> None:
    d = fh_inputs
    pred = write_fh_files(tmp_path, d["gt_xyz"], d["gt_verts"], d["pred_xyz_noise"], np.zeros((len(d["gt_xyz"]), 0, 3)))
    pred.write_text(json.dumps([d["pred_xyz_noise"].tolist(), [[] for _ in d["gt_xyz"]]]))
    res = get_protocol("freihand").score_files(tmp_path, pred)
    assert any("crashes" in n for n in res.notes)
    assert res.scores["f_al_score_5"] == 0.0 and res.scores["mesh_mean3d"] == -100.0


# -- H2ONet ---------------------------------------------------------------------------------------
def _h2o_reference(gj, pj, gv, pv, root) -> dict[str, float]:
    """H2ONet's per-sample evaluation, written from its definition (reference for the test)."""
    from scipy.linalg import orthogonal_procrustes

    def align(g, p):
        t1, t2 = g.mean(0), p.mean(0)
        a, b = g - t1, p - t2
        s1 = np.linalg.norm(a) + 1e-8
        a, b = a / s1, b / (np.linalg.norm(b) + 1e-8)
        r, s = orthogonal_procrustes(a, b)
        return np.dot(b, r.T) * s * s1 + t1

    out = [[], [], [], []]
    for i in range(len(gj)):
        pvi, pji = pv[i] - pj[i][0], pj[i] - pj[i][0]
        gvi, gji = gv[i] - root[i], gj[i] - gj[i][0]
        for k, (p, g) in enumerate(((pji, gji), (align(gji, pji), gji), (pvi, gvi), (align(gvi, pvi), gvi))):
            out[k].append(np.sqrt(np.sum((p * 1000 - g * 1000) ** 2, 1)).mean())
    m = [float(np.mean(x)) for x in out]
    return {"mpjpe": m[0], "pa_mpjpe": m[1], "mpvpe": m[2], "pa_mpvpe": m[3], "score": m[1] + m[3]}


def test_h2onet_mesh_root_and_score(dexycb_inputs, tmp_path: Path) -> None:
    d = dexycb_inputs
    gj, pj = d["gt"] / 1000, d["pred_noise"] / 1000
    gv, pv = d["gt_verts"], d["pred_verts_noise"]
    root = gj[:, 0] + np.random.default_rng(0).normal(scale=0.004, size=(len(gj), 3))  # MANO-layer wrist
    ref = _h2o_reference(gj, pj, gv, pv, root)
    proto = get_protocol("dexycb-h2onet")
    res = proto.evaluate(pred_joints=pj, gt_joints=gj, pred_verts=pv, gt_verts=gv, gt_verts_root=root)
    for k, v in ref.items():
        assert_close(res.scores[k], v, k)
    assert res.scores["score"] == res.scores["pa_mpjpe"] + res.scores["pa_mpvpe"]
    assert not res.notes
    plain = proto.evaluate(pred_joints=pj, gt_joints=gj, pred_verts=pv, gt_verts=gv)
    assert plain.scores["mpvpe"] != res.scores["mpvpe"] and any("MANO layer" in n for n in plain.notes)
    # the same through the files, (N, 21, 3) MANO-layer joints accepted
    pred = write_fh_files(tmp_path, gj, gv, pj, pv)
    joints = np.concatenate([root[:, None], gj[:, 1:]], 1)
    (tmp_path / H2ONET_VERTS_ROOT_FILE).write_text(json.dumps(joints.tolist()))
    assert_close(proto.score_files(tmp_path, pred).scores["mpvpe"], ref["mpvpe"], "files mpvpe")
    (tmp_path / H2ONET_VERTS_ROOT_FILE).write_text(json.dumps((root * 1000).tolist()))  # millimetres
    with pytest.raises(AnnotationError, match="from the annotated wrist"):
        proto.score_files(tmp_path, pred)
    with pytest.raises(InputError, match="expected"):
        proto.evaluate(pred_joints=pj, gt_joints=gj, pred_verts=pv, gt_verts=gv, gt_verts_root=root[:3])


def test_h2onet_score_key_matches_golden(dexycb_inputs) -> None:
    d = dexycb_inputs
    gold = load_golden("dexycb_h2onet")["scenarios"]["large"]
    res = get_protocol("dexycb-h2onet").evaluate(
        pred_joints=d["pred_large"] / 1000, gt_joints=d["gt"] / 1000, pred_verts=d["pred_verts_large"],
        gt_verts=d["gt_verts"],
    )  # fmt: skip
    assert_close(res.scores["score"], gold["score"], "score")


# -- InterHand2.6M --------------------------------------------------------------------------------
def _per_joint_reference(d: dict, cam: np.ndarray) -> dict[str, list[float]]:
    """Per-joint MPJPE lists per group, the official loop written out (reference for the test)."""
    sh: list[list[float]] = [[] for _ in range(42)]
    ih: list[list[float]] = [[] for _ in range(42)]
    for n in range(len(cam)):
        valid = d["joint_valid"][n].astype(bool).copy()
        valid[:21] &= valid[20]
        valid[21:] &= valid[41]
        p, g = cam[n].copy(), d["joint_cam"][n].copy()
        for sl, r in ((slice(0, 21), 20), (slice(21, 42), 41)):
            p[sl] = p[sl] - p[r]
            g[sl] = g[sl] - g[r]
        for j in range(42):
            if valid[j]:
                (ih if int(d["hand_type"][n]) == 2 else sh)[j].append(float(np.sqrt(np.sum((p[j] - g[j]) ** 2))))
    mean = lambda xs: float(np.mean(xs)) if xs else float("nan")  # noqa: E731
    return {
        "all": [mean(a + b) for a, b in zip(sh, ih)],
        "single": [mean(a) for a in sh],
        "interacting": [mean(b) for b in ih],
    }


@pytest.mark.parametrize("shape", ["(N,)", "(N, 1)"])
def test_interhand_per_joint_and_rel_root_depth_shape(interhand_inputs, tmp_path: Path, shape: str) -> None:
    from handzoo.protocols.interhand import internet_to_camera

    d = interhand_inputs
    np.savez(tmp_path / "interhand_gt.npz", **{k: d[k] for k in GT_KEYS})
    rr = d["rel_root_depth"].reshape(-1)
    np.savez(
        tmp_path / "pred.npz",
        joint_coord=d["joint_coord"],
        rel_root_depth=rr if shape == "(N,)" else rr[:, None],  # InterNet's own output is (N, 1)
        inv_trans=d["inv_trans"],
        hand_type=d["hand_prob"],
    )
    res = get_protocol("interhand").score_files(tmp_path, tmp_path / "pred.npz")
    for k, v in load_golden("interhand")["scores"].items():
        assert_close(res.scores[k], v, k)
    cam, _ = internet_to_camera(d["joint_coord"], rr, d["inv_trans"], d["focal"], d["princpt"], d["abs_depth"])
    ref = _per_joint_reference(d, np.asarray(cam))
    for group, values in ref.items():
        for name, v in zip(INTERHAND_JOINT_NAMES, values):
            assert_close(res.scores[f"mpjpe_{group}_{name}"], v, f"{group} {name}")
    assert len(INTERHAND_JOINT_NAMES) == 42 and INTERHAND_JOINT_NAMES[20] == "r_wrist"


def test_dexycb_blank_line_named_by_the_cli(dexycb_inputs, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from protocol_golden import write_joint_txt

    d = dexycb_inputs
    write_joint_txt(tmp_path / "joint_3d.txt", d["ids"], d["gt"], extra=False)
    res = write_joint_txt(tmp_path / "results.txt", d["ids"], d["pred_noise"], extra=False)
    lines = res.read_text().splitlines()
    res.write_text("\n".join(lines[:3] + ["   "] + lines[3:]) + "\n")
    argv = ["--protocol", "dexycb", "--gt-dir", str(tmp_path), "--pred", str(res), "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert "results.txt line 4 is blank" in capsys.readouterr().err
