"""DIGIT trains on InterHand2.6M (an official-layout stand-in) through ``handzoo-train``.

The recipe ``digit-interhand`` reads whole images with ``handzoo.datasets``' loader (a ``scenes``
source), crops them as DIGIT does and renders the part labels from MANO's parts posed with each
sample's NeuralAnnot fit (placed as InterHand2.6M's own renderer places it), when MANO files are
configured (here the MANO-format stand-in, never MANO), else trains without the segmentation
term and says so.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from handzoo_digit.parts import crop_intrinsics
from handzoo_digit.preprocess import crop_matrices, expand_box, union_box
from handzoo_digit.training import DigitTrainTransform
from test_training_segm import SMALL_CROP, SMALL_DIGIT

from handzoo.testing import write_interhand, write_mano_standin
from handzoo.train.data import SceneSamples
from handzoo.types import LEFT, RIGHT


@pytest.fixture(scope="module")
def mano_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mano_standin(tmp_path_factory.mktemp("mano"))


def _mano(side: str, mano_dir: Path):
    from handzoo.handmodels import hand_model

    return hand_model("mano", side=side, mano_dir=mano_dir, dtype=torch.float64)  # flat_hand_mean=False, as smplx


@pytest.fixture(scope="module")
def interhand(tmp_path_factory: pytest.TempPathFactory, mano_dir: Path) -> Path:
    """The InterHand2.6M stand-in's train split: a right, a left and an interacting sample
    (whose left wrist is invalid), with NeuralAnnot MANO fits whose world translation puts the
    (stand-in) MANO root on the annotated world wrist, as a real fit nearly does."""
    root = tmp_path_factory.mktemp("InterHand2.6M")
    write_interhand(root, split="train", seed=3)
    adir = root / "annotations" / "train"
    joints = json.loads((adir / "InterHand2.6M_train_joint_3d.json").read_text())
    path = adir / "InterHand2.6M_train_MANO_NeuralAnnot.json"
    fits = json.loads(path.read_text())
    for capture, frames in fits.items():
        for frame, per in frames.items():
            world = np.asarray(joints[capture][frame]["world_coord"]) / 1000.0
            for side, wrist in (("right", 20), ("left", 41)):
                betas = torch.tensor(per[side]["shape"], dtype=torch.float64)[None]
                _, j = _mano(side, mano_dir)(
                    torch.zeros(1, 3, dtype=torch.float64), torch.zeros(1, 45, dtype=torch.float64), betas
                )
                per[side]["trans"] = (world[wrist] - j[0, 0].numpy()).tolist()  # root J0 does not move with the pose
    path.write_text(json.dumps(fits))
    return root


def test_scene_records_carry_what_the_part_labels_need(interhand: Path) -> None:
    src = SceneSamples("interhand26m", root=interhand, split="train", max_hands=2)
    assert len(src) == 3
    right, inter = src[0], src[2]
    assert right["n_hands"] == 1 and int(right["side"][0]) == RIGHT
    assert right["has_mano"].tolist() == [1, 0] and right["has_transl"].tolist() == [0, 0]
    assert right["has_vertices"].tolist() == [0, 0] and not right["flat_hand_mean"]  # MANO's mean pose added
    # the fit's world translation and the camera's extrinsics (metres) travel with the record
    assert right["has_transl_world"].tolist() == [1, 0] and right["world_to_camera"].shape == (3, 4)
    assert right["hand_model"] == "mano"
    assert inter["n_hands"] == 2 and inter["side"].tolist() == [RIGHT, LEFT]
    # the interacting sample's left wrist is invalid, so all its left joints are
    assert inter["joints_valid"][0].all() and not inter["joints_valid"][1].any()


def _posed_mano(rec: dict, h: int, mano_dir: Path) -> np.ndarray:
    """The sample's MANO mesh in the camera, placed on the annotated wrist (independent of the labeller)."""
    side = "right" if int(rec["side"][h]) == RIGHT else "left"
    t = lambda k: torch.as_tensor(rec[k][h], dtype=torch.float64)[None]  # noqa: E731
    v, j = _mano(side, mano_dir)(t("global_orient"), t("hand_pose"), t("betas"))
    return (v[0] - j[0, 0]).numpy() + rec["joints3d"][h, 0]


def test_world_fits_place_the_mesh_as_interhands_renderer_does(interhand: Path, mano_dir: Path) -> None:
    # InterHand2.6M's renderer: MANO in the world (pose, shape, trans), then camrot (X - campos)
    from handzoo_digit.parts import PartLabeller

    labeller = PartLabeller("mano", mano_dir)
    fits = json.loads((interhand / "annotations/train/InterHand2.6M_train_MANO_NeuralAnnot.json").read_text())
    src = SceneSamples("interhand26m", root=interhand, split="train", max_hands=2)
    checked = 0
    for i in range(len(src)):
        rec, sample = src[i], src.dataset[i]
        R, c = sample.meta["camrot"].astype(np.float64), sample.meta["campos"].astype(np.float64)
        for h in range(rec["n_hands"]):
            side = "right" if int(rec["side"][h]) == RIGHT else "left"
            fit = fits[str(sample.meta["capture"])][str(sample.meta["frame"])][side]
            pose = torch.tensor(fit["pose"], dtype=torch.float64)[None]
            v_world, _ = _mano(side, mano_dir)(
                pose[:, :3],
                pose[:, 3:],
                torch.tensor(fit["shape"], dtype=torch.float64)[None],
                torch.tensor(fit["trans"], dtype=torch.float64)[None],
            )
            expected = (v_world[0].numpy() * 1000.0 - c) @ R.T / 1000.0
            assert rec["has_transl_world"][h] == 1
            np.testing.assert_allclose(labeller.hand_vertices(rec, h).numpy(), expected, atol=1e-5)
            if rec["joints_valid"][h, 0] > 0:  # on the annotated wrist too (this stand-in's fits are exact there)
                np.testing.assert_allclose(_posed_mano(rec, h, mano_dir), expected, atol=1e-5)
            checked += 1
    assert checked == 4


def test_mano_part_labels_sit_on_the_sample_hands(interhand: Path, mano_dir: Path) -> None:
    src = SceneSamples("interhand26m", root=interhand, split="train", max_hands=2)
    tf = DigitTrainTransform(input_size=256, segm_size=128, hand_model="mano", mano_dir=mano_dir, augment=False)
    for i, (lo, hi) in ((0, (1, 16)), (1, (17, 32))):
        rec = src[i]
        out = tf(rec, i)
        assert float(out["segm_valid"]) == 1.0
        vals = out["segm"][out["segm"] > 0]
        assert vals.size > 100 and vals.min() >= lo and vals.max() <= hi
        # every vertex of the posed MANO stand-in projects (crop camera) onto a labelled pixel
        box = union_box(rec["bbox"][:1], rec["image"].shape[:2])
        trans, _ = crop_matrices(expand_box(np.asarray(box, np.float32)))
        uvw = _posed_mano(rec, 0, mano_dir) @ crop_intrinsics(rec["K"], trans, 0.5).T
        uv = np.round(uvw[:, :2] / uvw[:, 2:]).astype(int)
        inside = (uv >= 0).all(1) & (uv < 128).all(1)
        assert inside.mean() > 0.5
        assert (out["segm"][uv[inside, 1], uv[inside, 0]] > 0).mean() > 0.97
    # the interacting sample's left hand has no valid joint but its fit places it: both labelled
    inter = src[2]
    out = tf(inter, 2)
    assert float(out["segm_valid"]) == 1.0 and out["joint_valid"][21:].sum() == 0
    assert out["segm"].max() >= 17 and ((out["segm"] >= 1) & (out["segm"] <= 16)).any()
    # without the fit's translation that hand cannot be placed: no labels for the sample
    inter["has_transl_world"] = np.zeros(2, np.uint8)
    out = tf(inter, 2)
    assert float(out["segm_valid"]) == 0.0 and not out["segm"].any()
    assert out["hand_type"].tolist() == [1.0, 1.0]


@pytest.mark.slow
def test_digit_trains_on_interhand_with_mano_part_labels(interhand: Path, mano_dir: Path, tmp_path: Path) -> None:
    from handzoo.testing.train import short_run_args
    from handzoo.train.cli import main
    from handzoo.train.hooks import read_loss_curve

    iters, work = 6, tmp_path / "w"
    cfg_options = [
        f"train_data.source.root={interhand}",
        f"train_data.transform.mano_dir={mano_dir}",
        "train_data.shuffle=False",
        f"checkpoint_interval={iters}",
        "log_interval=1",
        SMALL_DIGIT,
        *SMALL_CROP,
    ]
    args = short_run_args(
        "digit-interhand", work, iters, batch_size=3, lr="1e-3", options=["--accumulate", "1"], cfg_options=cfg_options
    )
    assert main(args) == 0
    curve = read_loss_curve(work)
    loss = [r["loss"] for r in curve]
    assert [r["iter"] for r in curve] == list(range(1, iters + 1))
    assert np.isfinite(loss).all() and curve[0]["loss_segm"] > 0.3  # the part labels train
    assert loss[-1] < loss[0] and curve[-1]["loss_segm"] < curve[0]["loss_segm"], loss
    assert (work / f"iter_{iters}.pth").is_file()


def test_without_mano_files_the_recipe_trains_without_part_labels(
    interhand: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from handzoo.train.config import import_object, load_config

    monkeypatch.delenv("HANDZOO_MANO_DIR", raising=False)
    cfg = load_config("digit-interhand")
    assert cfg.train_data.source.dataset == "interhand26m" and cfg.train_data.transform.hand_model == "mano"
    tf_cfg = dict(cfg.train_data.transform)
    with pytest.warns(UserWarning, match="segmentation loss off"):
        tf = import_object(tf_cfg.pop("type"))(**tf_cfg)
    out = tf(SceneSamples("interhand26m", root=interhand, split="train", max_hands=2)[0], 0)
    assert float(out["segm_valid"]) == 0.0 and not out["segm"].any()
    # the rest trains (one hand: in either slot, the recipe mirrors half the crops)
    assert out["hand_type"].sum() == 1.0 and out["joint_valid"].sum() > 10


def test_parameters_of_another_hand_model_give_no_labels(interhand: Path, mano_dir: Path) -> None:
    # MANO fits do not pose the open hand, nor open-hand vertices or parameters MANO
    from handzoo_digit.parts import PartLabeller

    K = np.array([[300.0, 0, 63.5], [0, 300.0, 63.5], [0, 0, 1]])
    ih = SceneSamples("interhand26m", root=interhand, split="train", max_hands=2)[0]
    assert ih["hand_model"] == "mano" and PartLabeller("mano", mano_dir)(ih, K, (32, 32))[1]
    assert not PartLabeller("openhand")(ih, K, (32, 32))[1]
    synth = SceneSamples("synthetic", max_hands=2, split="tiny", n=1, seed=7, image_size=64)[0]
    assert synth["hand_model"] == "openhand" and PartLabeller("openhand")(synth, K, (32, 32))[1]
    assert not PartLabeller("mano", mano_dir)(synth, K, (32, 32))[1]
