"""EgoDexter loader on its official-layout stand-in (data/<seq>/{color,depth,annotation.txt,annotation.txt_3D.txt}),
and ``handzoo-bench --models 3dhand-rgb --datasets egodexter --untrained`` scoring it end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from handzoo.errors import AnnotationError, DatasetNotFoundError, SubmissionError
from handzoo.testing.datasets import write_egodexter
from handzoo.types import LEFT

TIPS = [4, 8, 12, 16, 20]


@pytest.fixture(scope="module")
def ed_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("data") / "EgoDexter"
    return root, write_egodexter(root, frames=2, seed=2)


def test_reads_every_frame_and_the_missing_markers(ed_root) -> None:
    from handzoo.datasets import EgoDexter, load_dataset

    root, expected = ed_root
    ds = EgoDexter(root)
    assert len(ds) == len(expected) == 8 and ds.protocol == "egodexter-3dhand"
    for i, e in enumerate(expected):
        s = ds[i]
        assert (s.meta["sequence"], s.meta["frame"]) == (e["sequence"], e["frame"])
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        assert s.side.tolist() == [LEFT] and s.hand_valid.tolist() == e["hand_valid"]
        np.testing.assert_array_equal(s.joints_valid, e["joints_valid"])
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
        np.testing.assert_allclose(s.meta["tips2d"], e["tips2d"], atol=1e-3)
        np.testing.assert_array_equal(s.meta["tips2d_depth"], e["tips2d_depth"])  # -1, -1 -> NaN
        assert s.joints2d is None
    assert ds[0].meta["image_path"].endswith("Desk/color/image_00000_color.png")
    # 0, 0, 0 (Desk 1), 0, -0, 0 (Fruits 0, middle tip), no line (Kitchen 1), an empty line (Rotunda 1)
    assert [bool(ds[i].hand_valid[0]) for i in range(8)] == [True, False, True, True, True, False, True, False]
    assert ds[2].joints_valid[0, TIPS].tolist() == [True, True, False, True, True]
    assert isinstance(load_dataset("ego_dexter", root=root), EgoDexter)
    annotated = EgoDexter(root, annotated_only=True)
    assert len(annotated) == 5 and [annotated[i].meta["sequence"] for i in range(5)] == [
        "Desk", "Fruits", "Fruits", "Kitchen", "Rotunda",
    ]  # fmt: skip
    joints, valid = annotated.ground_truth()
    assert joints.shape == (5, 21, 3) and valid.sum() == 5 * 5 - 1
    np.testing.assert_allclose(joints[4], expected[6]["joints3d"][0], atol=1e-6)


def test_missing_and_broken_files(ed_root, tmp_path) -> None:
    from handzoo.datasets import EgoDexter

    root = tmp_path / "EgoDexter"
    shutil.copytree(ed_root[0], root)
    (root / "data" / "Kitchen" / "annotation.txt_3D.txt").unlink()
    with pytest.raises(DatasetNotFoundError) as exc:
        EgoDexter(root)
    assert "data/Kitchen/annotation.txt_3D.txt" in str(exc.value) and "EgoDexter.htm" in str(exc.value)
    # the corrected copy some redistributions carry is read when the official file is absent
    fixed = root / "data" / "Kitchen" / "my_annotation.txt_3D.txt"
    shutil.copy(root / "data" / "Fruits" / "annotation.txt_3D.txt", fixed)  # two annotated lines
    kitchen = EgoDexter(root, sequences=("Kitchen",))
    assert kitchen[1].hand_valid[0] and kitchen[1].meta["annotation_file"] == str(fixed)
    (root / "data" / "Desk" / "annotation.txt_3D.txt").write_text("1, 2;\n")
    with pytest.raises(AnnotationError, match=r"annotation.txt_3D.txt:1: fingertip 1 is '1, 2'"):
        EgoDexter(root, sequences=("Desk",))


def test_bench_scores_3dhand_rgb_untrained(ed_root, tmp_path, monkeypatch, capsys) -> None:
    from handzoo.bench import cli
    from handzoo.testing.mano import write_mano_standin

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(write_mano_standin(tmp_path / "mano")))
    root, _ = ed_root
    args = [
        "--models", "3dhand-rgb", "--datasets", "egodexter", "--data-root", str(root.parent), "--untrained",
        "--batch-size", "4", "--workers", "0", "--json", "--no-progress", "--out", str(tmp_path / "report"),
    ]  # fmt: skip
    assert cli.main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    (res,) = [r for r in doc["results"] if r["model"] == "3dhand-rgb"]
    assert res["dataset"] == "egodexter" and res["protocol"] == "egodexter-3dhand"
    assert res["weights_status"] == "untrained" and res["num_hands"] == 5  # 8 frames, 5 annotated
    m = res["metrics"]
    for key in ("AUC_20_50", "AUC_0_50", "PCK@20", "PCK@30", "PCK@50"):
        assert 0.0 <= m[key] <= 1.0, key
    assert m["mean_error"] > 0
    curve = res["curves"]["pck3d"]
    assert len(curve["values"]) == 51 and curve["values"][50] == pytest.approx(m["PCK@50"])


def test_protocol_reads_the_official_folder_row_per_frame(ed_root, tmp_path) -> None:
    """``egodexter-3dhand`` scores against the release's files: one row per colour frame, as the loader."""
    from handzoo.datasets import EgoDexter
    from handzoo.protocols import get_protocol
    from handzoo.protocols.pck3d import read_egodexter_tips

    root, _ = ed_root
    joints, valid = read_egodexter_tips(root)
    ref_joints, ref_valid = EgoDexter(root).ground_truth()
    assert joints.shape == (8, 21, 3)  # Kitchen's file stops after frame 0: its frame 1 is an unannotated row
    np.testing.assert_allclose(joints, ref_joints, atol=1e-12)
    np.testing.assert_array_equal(valid, ref_valid)
    pred = joints + np.array([0.0, 0.0, 0.03])  # a 30 mm offset: removed by the fingertip-centroid alignment
    np.savez(tmp_path / "pred.npz", joints=pred)
    res = get_protocol("egodexter-3dhand").score_files(root, tmp_path / "pred.npz")
    assert res.num_samples == 8 and res.metrics["PCK@20"] == pytest.approx(1.0)
    np.savez(tmp_path / "short.npz", joints=pred[:5])
    with pytest.raises(SubmissionError, match="5 predicted hands for 8"):
        get_protocol("egodexter-3dhand").score_files(root, tmp_path / "short.npz")
