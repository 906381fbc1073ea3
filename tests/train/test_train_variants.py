"""Every ``*-openhand`` recipe trains through ``handzoo-train`` on CPU and its loss falls.

Each test runs the variant's own config (its network, losses, training transform and stages)
for a few iterations on two tiny synthetic samples, with small networks where the recipe lets
the architecture be overridden, and checks that the loss falls; stage-wise recipes are checked
in every stage.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handzoo.testing.train import shards_source, short_run_args
from handzoo.train.cli import main
from handzoo.train.config import load_config
from handzoo.train.hooks import read_loss_curve


def _run(variant: str, shards: Path, work_dir: Path, iters: int, *options: str, lr: str | None = None) -> list[dict]:
    cfg_options = [
        shards_source(shards),
        "train_data.transform.augment=False",
        "train_data.shuffle=False",
        f"checkpoint_interval={iters}",
        "log_interval=1",
        "param_scheduler=None",
        *options,
    ]
    assert main(short_run_args(variant, work_dir, iters, lr=lr, cfg_options=cfg_options)) == 0
    curve = read_loss_curve(work_dir)
    assert [r["iter"] for r in curve] == list(range(1, iters + 1))
    return curve


def _falls(rows: list[dict]) -> bool:
    """The mean loss of the last two iterations is below the first iteration's."""
    return sum(r["loss"] for r in rows[-2:]) / 2 < rows[0]["loss"]


def _recipe_stage(variant: str, index: int, begin: int) -> dict:
    stage = dict(load_config(variant).stages[index])
    stage["begin"] = begin
    return stage


@pytest.mark.slow
def test_h2onet_sf_openhand_falls_in_both_stages(tiny_shards: Path, tmp_path: Path) -> None:
    # stage 2 with the recipe's own switch (lr 1e-4, new optimiser moments), from iteration 6
    s2 = _recipe_stage("h2onet-sf-openhand", 1, 5)
    assert s2["lr"] == pytest.approx(1e-4) and s2["reset_optimizer"]
    stages = f"stages=[{{'begin': 0, 'loss': 'stage1'}}, {s2!r}]"
    curve = _run("h2onet-sf-openhand", tiny_shards, tmp_path / "w", 10, stages, lr="5e-3")
    stage1, stage2 = curve[:5], curve[5:]
    assert "glob_rot" not in stage1[-1] and "glob_rot" in stage2[0]
    assert _falls(stage1), [r["loss"] for r in curve]
    assert _falls(stage2), [r["loss"] for r in curve]
    assert stage2[0]["lr"] == pytest.approx(1e-4)


@pytest.mark.slow
def test_h2onet_openhand_multi_frame_falls_in_both_stages(tiny_shards: Path, tmp_path: Path) -> None:
    # from random weights (the recipe starts from single-frame weights): stage 1 at 1e-3 for 8
    # iterations, then the recipe's own stage-2 switch
    s2 = _recipe_stage("h2onet-openhand", 1, 8)
    stages = f"stages=[{{'begin': 0, 'loss': 'stage1'}}, {s2!r}]"
    curve = _run(
        "h2onet-openhand", tiny_shards, tmp_path / "w", 12, stages, "train_data.transform.occlude=0.0", lr="1e-3"
    )
    stage1, stage2 = curve[:8], curve[8:]
    assert "occ" in stage1[0] and "normal_w_gr" in stage2[0]  # the multi-frame terms
    assert _falls(stage1), [r["loss"] for r in curve]
    assert _falls(stage2), [r["loss"] for r in curve]


@pytest.mark.slow
def test_h2onet_mf_transform_gives_three_frames_and_occlusion_labels(tiny_shards: Path) -> None:
    import numpy as np
    from handzoo_h2onet.training import H2ONetMFTrainTransform

    from handzoo.train.data import ShardSamples

    rec = ShardSamples(tiny_shards)[0]
    out = H2ONetMFTrainTransform(occlude=1.0, seed=3)(rec, 0)
    assert {f"img_{i}" for i in range(3)} <= set(out)
    assert out["img_0"].shape == (3, 128, 128) and out["joints_img"].shape == (3, 21, 2)
    assert out["gt_occ"].shape == (3, 6) and set(np.unique(out["gt_occ"])) <= {0, 1}
    assert out["gt_verts3d_wo_gr"].shape[0] == 3
    # frames differ (own crops), the 3D targets do not (the hand holds its pose)
    assert not np.allclose(out["joints_img"][0], out["joints_img"][2])
    np.testing.assert_allclose(out["gt_joints3d_w_gr"][0], out["gt_joints3d_w_gr"][2])


@pytest.mark.slow
def test_hand4whole_hand_openhand_falls(tiny_shards: Path, tmp_path: Path) -> None:
    small = (
        "model.kwargs={'hand_model': 'openhand', "
        "'backbone': {'type': 'TimmBackbone', 'name': 'resnet10t', 'out_indices': [4]}}"
    )
    curve = _run("hand4whole-hand-openhand", tiny_shards, tmp_path / "w", 8, small)  # the recipe's lr
    assert {"joint_img", "joint_proj", "mano_pose", "mano_shape", "joint_cam"} <= set(curve[0])
    assert _falls(curve), [r["loss"] for r in curve]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["3dhand-rgb-openhand", "3dhand-rgb2d-openhand"])
def test_3dhand_openhand_falls_in_pretraining_and_training(variant: str, tiny_shards: Path, tmp_path: Path) -> None:
    stem = ", 'stem': {'type': 'ThreeDHandStem', 'in_channels': 24}" if "rgb2d" in variant else ""
    small = (
        "model.kwargs={'hand_model': 'openhand', "
        f"'backbone': {{'type': 'ThreeDHandResNet', 'name': 'resnet18'{stem}}}}}"
    )
    train = _recipe_stage(variant, 1, 5)
    assert train["loss"] == "train" and train["reset_optimizer"]
    stages = f"stages=[{{'begin': 0, 'loss': 'pretrain'}}, {train!r}]"
    curve = _run(variant, tiny_shards, tmp_path / "w", 10, small, stages, lr="1e-3")
    pretrain, training = curve[:5], curve[5:]
    assert {"pose_pca", "betas", "rot", "trans", "scale"} <= set(pretrain[0])
    assert {"joints2d", "joints3d", "prior"} <= set(training[0])
    assert _falls(pretrain), [r["loss"] for r in curve]
    assert _falls(training), [r["loss"] for r in curve]


def test_3dhand_targets_pose_the_hand_where_the_image_shows_it(tiny_shards: Path) -> None:
    import numpy as np
    import torch
    from handzoo_3dhand.mesh import decode_hand
    from handzoo_3dhand.training import ThreeDHandTrainTransform

    from handzoo.train.data import ShardSamples
    from handzoo.types import RIGHT

    tf = ThreeDHandTrainTransform(augment=False)
    src = ShardSamples(tiny_shards)
    rec = next(src[i] for i in range(len(src)) if int(src[i]["side"]) == RIGHT)
    out = tf(rec, 0)
    p = torch.as_tensor(out["params"])[None]
    d = decode_hand(tf.hand_model, p[:, 0], p[:, 1:3], p[:, 3:6], p[:, 6:12], p[:, 12:22], with_mano=False)
    # the weak-perspective fit of the (6-PCA-component) hand lands within a few crop pixels
    assert np.abs(d["joints2d"][0].numpy() - out["joints2d"]).mean() < 6.0


def _smhr_args(variant: str, hands: int) -> list[str]:
    two = 1.0 if hands == 2 else 0.0
    return [
        "train_data.source={'type': 'scenes', 'dataset': 'synthetic', 'split': 'tiny', 'n': 2, 'seed': 7, "
        f"'image_size': 64, 'two_hand_prob': {two}, 'max_hands': {hands}}}",
        "model.kwargs.input_size=64",
        "model.kwargs.backbone={'type': 'SMHRResNetTrunk', 'name': 'resnet18'}",
        "train_data.transform.input_size=64",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("variant", "hands"), [("smhr-multihand-openhand", 2), ("smhr-freihand-openhand", 1)])
def test_smhr_openhand_falls_in_both_weakly_supervised_stages(
    variant: str, hands: int, tiny_shards: Path, tmp_path: Path
) -> None:
    # whole 64 px images with `hands` hands each, streamed from the generator; the recipe's stage
    # 2 (adds the silhouette term, lr 5e-5) from iteration 6
    s1, s2 = _recipe_stage(variant, 0, 0), _recipe_stage(variant, 1, 5)
    assert "silhouette" in s2["loss"] and "silhouette" not in s1["loss"] and s2["lr"] == pytest.approx(5e-5)
    stages = f"stages=[{s1!r}, {s2!r}]"
    curve = _run(variant, tiny_shards, tmp_path / "w", 10, *_smhr_args(variant, hands), stages, lr="1e-3")
    stage1, stage2 = curve[:5], curve[5:]
    assert ("handedness_focal" in stage1[0]) == (hands == 2)
    assert {"center_focal", "reprojection", "bone_direction", "pose_prior"} <= set(stage1[0])
    assert "silhouette" in stage2[0] and "silhouette" not in stage1[-1]
    assert _falls(stage1), [r["loss"] for r in curve]
    assert _falls(stage2), [r["loss"] for r in curve]


def test_smhr_targets_put_a_unit_peak_at_each_hand_centre() -> None:
    import numpy as np
    from handzoo_smhr.training import SMHRTrainTransform

    from handzoo.train.data import SceneSamples

    rec = SceneSamples("synthetic", max_hands=2, split="tiny", n=1, seed=7, image_size=64, two_hand_prob=1.0)[0]
    assert rec["n_hands"] == 2
    out = SMHRTrainTransform(input_size=64, max_hands=2, seed=1)(rec, 0)
    m = 16
    assert out["hm"].shape == (1, m, m) and out["handmap"].shape == (2, m, m)
    flat = out["hm"].reshape(-1)
    assert np.all(flat[out["ind"]] == 1.0) and out["hand_mask"].tolist() == [1.0, 1.0]
    # each hand's peak is in its side's handedness map (0 = left, 1 = right)
    for i, s in zip(out["ind"], out["side"]):
        assert out["handmap"][0 if s == 1 else 1].reshape(-1)[i] == 1.0
    # the centre cell is the mean of the hand's 2D joints (network pixels / 4)
    c = out["joints2d"].mean(1) / 4
    np.testing.assert_array_equal(
        out["ind"], np.clip(c[:, 1].astype(int), 0, m - 1) * m + np.clip(c[:, 0].astype(int), 0, m - 1)
    )
    assert out["skin_mask"].shape == (64, 64) and out["faces"].ndim == 2


@pytest.mark.slow
def test_digit_on_openhand_scenes_falls(tiny_shards: Path, tmp_path: Path) -> None:
    # DIGIT's network on the open-hand generator's two-hand images, part labels rendered from
    # the open hand's parts
    source = (
        "train_data.source={'type': 'scenes', 'dataset': 'synthetic', 'split': 'tiny', 'n': 2, 'seed': 7, "
        "'image_size': 96, 'two_hand_prob': 1.0, 'max_hands': 2}"
    )
    small = [  # a 128 px crop (the recipe's is 256): heatmaps and part labels at the same strides
        "model.kwargs.input_size=128",
        "model.kwargs.heatmap_size=32",
        "train_data.transform.input_size=128",
        "train_data.transform.heatmap_size=32",
        "train_data.transform.segm_size=64",
    ]
    curve = _run("digit-interhand-openhand", tiny_shards, tmp_path / "w", 8, source, *small)  # the recipe's lr
    assert {"loss_joint", "loss_rel_root_depth", "loss_hand_type", "loss_bone"} <= set(curve[0])
    assert curve[0]["loss_segm"] > 0.5  # part labels rendered for every crop: the term trains
    assert _falls(curve), [r["loss"] for r in curve]


def test_hand4whole_rotated_crops_turn_the_3d_targets_with_the_image(tiny_shards: Path) -> None:
    import numpy as np
    import torch
    from handzoo_hand4whole.training import Hand4WholeTrainTransform

    from handzoo.registry import build
    from handzoo.train.data import ShardSamples

    src = ShardSamples(tiny_shards)
    tf = Hand4WholeTrainTransform(rotation_deg=45.0, rotation_prob=1.0, colour=0.0, seed=2)
    hm = build("hand_models", {"type": "openhand", "side": "right"})
    for i in range(len(src)):
        out = tf(src[i], i)
        # wrist-relative 3D joints and the crop's 2D joints point the same way (up to perspective)
        d3 = out["joint_cam"][1:, :2]
        d2 = out["joint_img"][1:, :2] - out["joint_img"][:1, :2]
        cos = (d3 * d2).sum(1) / (np.linalg.norm(d3, axis=1) * np.linalg.norm(d2, axis=1))
        assert np.median(cos) > 0.95, (i, cos)
        # and the target pose reproduces the target joints (global rotation included)
        pose = torch.as_tensor(out["mano_pose"], dtype=torch.float32)[None]
        _, j = hm(pose[:, :3], pose[:, 3:], torch.as_tensor(out["mano_shape"])[None])
        j = (j - j[:, :1])[0].numpy()
        np.testing.assert_allclose(j, out["joint_cam"], atol=2e-3)
