"""Dexter+Object loader on its official-layout stand-in (data/<seq>/{color,depth,annotations}), and
``handzoo-bench --models 3dhand-rgb --datasets dexter-object --untrained`` scoring it end to end."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from handzoo.errors import AnnotationError, DatasetError, DatasetNotFoundError
from handzoo.testing.datasets import write_dexter_object
from handzoo.types import LEFT

TIPS = [4, 8, 12, 16, 20]


@pytest.fixture(scope="module")
def do_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    root = tmp_path_factory.mktemp("data") / "dexter+object"
    return root, write_dexter_object(root, frames=2, seed=1)


def _copy(do_root, tmp_path: Path) -> Path:
    dst = tmp_path / "dexter+object"
    shutil.copytree(do_root[0], dst)
    return dst


def test_reads_every_frame_in_the_colour_camera(do_root) -> None:
    from handzoo.datasets import DexterObject, load_dataset

    root, expected = do_root
    ds = DexterObject(root)
    assert len(ds) == len(expected) == 12 and ds.protocol == "dexter-object-3dhand" and ds.split == "test"
    for i, e in enumerate(expected):
        s = ds[i]
        assert s.meta["sequence"] == e["sequence"] and s.meta["frame"] == e["frame"]
        np.testing.assert_array_equal(s.image, e["image"])
        np.testing.assert_allclose(s.K, e["K"], rtol=1e-6)
        assert s.side.tolist() == [LEFT] and s.hand_valid.tolist() == e["hand_valid"]
        np.testing.assert_array_equal(s.joints_valid, e["joints_valid"])
        np.testing.assert_allclose(s.joints3d, e["joints3d"], atol=1e-6)
        np.testing.assert_allclose(s.meta["tips2d"], e["tips2d"], atol=1e-3)
        np.testing.assert_allclose(
            s.meta["tips2d_depth"][e["joints_valid"][0, TIPS]], e["tips2d_depth"][e["joints_valid"][0, TIPS]], atol=1e-3
        )
        assert s.joints2d is None  # only fingertips: no 21-joint 2D annotation
        if e["hand_valid"][0]:  # the box is the tight box of the annotated tips' pixels
            tips = e["tips2d"][np.isfinite(e["tips2d"]).all(1)]
            np.testing.assert_allclose(s.bbox[0], [*tips.min(0), *tips.max(0)], atol=1e-2)
        else:
            assert np.isnan(s.bbox).all()
    # frame mapping: line i of <seq>3D.txt is the i-th colour frame, Color_0001.bmp first
    assert ds[2].meta["image_path"].endswith("Grasp2/color/Color_0001.bmp")
    assert ds[2].meta["annotation_file"].endswith("Grasp2/annotations/Grasp23D.txt")
    # missing tips (z = 32001) are invalid: Grasp1 frame 1 has none, Grasp2 frame 0 lacks index and ring
    assert not ds[1].hand_valid[0] and not ds[1].joints_valid.any()
    assert ds[2].joints_valid[0, TIPS].tolist() == [True, False, True, False, True]
    # names in any spelling, the frames with annotations only, a sequence subset
    assert isinstance(load_dataset("Dexter+Object", root=root), DexterObject)
    assert len(DexterObject(root, annotated_only=True)) == 11
    assert len(DexterObject(root, sequences=("Rigid",))) == 2


def test_matches_the_protocols_reader_and_scores(do_root) -> None:
    from handzoo.datasets import DexterObject
    from handzoo.protocols import get_protocol
    from handzoo.protocols.pck3d import read_dexter_object_tips

    root, _ = do_root
    joints, valid = DexterObject(root).ground_truth()
    ref_joints, ref_valid = read_dexter_object_tips(root)
    np.testing.assert_allclose(joints, ref_joints, atol=1e-12)
    np.testing.assert_array_equal(valid, ref_valid)
    res = get_protocol("dexter-object-3dhand").evaluate(pred_joints=joints + 0.01, gt_joints=joints, joints_valid=valid)
    assert res.metrics["PCK@20"] == pytest.approx(1.0) and res.metrics["mean_error"] == pytest.approx(0.0, abs=1e-9)


def test_finds_the_folder_under_handzoo_data(do_root, monkeypatch) -> None:
    from handzoo.datasets import load_dataset

    monkeypatch.setenv("HANDZOO_DATA", str(do_root[0].parent))
    assert len(load_dataset("dexter-object")) == 12


def test_missing_files_name_the_file_and_the_download(do_root, tmp_path, monkeypatch) -> None:
    from handzoo.datasets import DexterObject, load_dataset

    root = _copy(do_root, tmp_path)
    (root / "data" / "Pinch" / "annotations" / "Pinch3D.txt").unlink()
    shutil.rmtree(root / "data" / "Rotate")
    with pytest.raises(DatasetNotFoundError) as exc:
        DexterObject(root)
    msg = str(exc.value)  # every missing piece at once, and where to get the dataset
    assert "data/Pinch/annotations/Pinch3D.txt" in msg and "data/Rotate/color" in msg
    assert "data/Rotate/annotations/Rotate3D.txt" in msg and "handtracker.mpi-inf.mpg.de" in msg
    (root / "data" / "Grasp1" / "color" / "Color_0002.bmp").write_bytes(b"")
    with pytest.raises(DatasetError, match="empty"):  # a broken frame is named when it is read
        DexterObject(root, sequences=("Grasp1",))[1]
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    with pytest.raises(DatasetNotFoundError) as exc:
        load_dataset("dexter-object")
    assert "dexter+object.htm" in str(exc.value)


def test_corrected_copy_bad_lines_and_missing_frames(do_root, tmp_path) -> None:
    from handzoo.datasets import DexterObject

    root = _copy(do_root, tmp_path)
    ann = root / "data" / "Grasp1" / "annotations"
    (ann / "Grasp13D.txt").rename(ann / "my_Grasp13D.txt")  # a redistribution's corrected copy alone
    ds = DexterObject(root, sequences=("Grasp1",))
    assert ds[0].meta["annotation_file"].endswith("my_Grasp13D.txt") and ds[0].hand_valid[0]
    lines = (ann / "my_Grasp13D.txt").read_text().splitlines()
    (ann / "my_Grasp13D.txt").write_text("\n".join([lines[0].replace(",", " x", 1), lines[1]]) + "\n")
    with pytest.raises(AnnotationError, match=r"my_Grasp13D.txt:1: fingertip 1"):
        DexterObject(root, sequences=("Grasp1",))
    (ann / "my_Grasp13D.txt").write_text("\n".join([lines[0], lines[1], lines[0]]) + "\n")
    with pytest.raises(DatasetNotFoundError, match="annotates 3 frames but .* holds 2 images"):
        DexterObject(root, sequences=("Grasp1",))


def test_bench_scores_3dhand_rgb_untrained(do_root, tmp_path, monkeypatch, capsys) -> None:
    """The CLI end to end on the stand-in: seeded random 3dhand-rgb on a MANO-format stand-in."""
    import torch

    import handzoo
    from handzoo.bench import cli
    from handzoo.bench.models import UNTRAINED_SEED
    from handzoo.datasets import DexterObject
    from handzoo.protocols import get_protocol
    from handzoo.testing.mano import write_mano_standin

    monkeypatch.setenv("HANDZOO_MANO_DIR", str(write_mano_standin(tmp_path / "mano")))
    root, expected = do_root
    args = [
        "--models", "3dhand-rgb", "--datasets", "dexter-object", "--data-root", str(root.parent), "--untrained",
        "--batch-size", "4", "--workers", "0", "--json", "--no-progress", "--out", str(tmp_path / "report"),
    ]  # fmt: skip
    assert cli.main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    (res,) = [r for r in doc["results"] if r["model"] == "3dhand-rgb"]
    assert res["dataset"] == "dexter-object" and res["protocol"] == "dexter-object-3dhand"
    assert res["weights_status"] == "untrained" and res["num_hands"] == 11  # Grasp1 frame 1 has no tip
    m = res["metrics"]
    for key in ("AUC_20_50", "AUC_0_50", "PCK@20", "PCK@50"):
        assert 0.0 <= m[key] <= 1.0, key
    curve = res["curves"]["pck3d"]
    assert len(curve["thresholds_mm"]) == 51 and curve["values"][20] == pytest.approx(m["PCK@20"])
    # the same numbers from the model built under the harness's seed and the protocol called directly
    torch.manual_seed(UNTRAINED_SEED)
    model = handzoo.load("3dhand-rgb", pretrained=False)
    ds = DexterObject(root)
    samples = [ds[i] for i in range(len(ds)) if ds[i].hand_valid[0]]
    preds = []
    for s in samples:
        out = model(s.image, boxes=[s.bbox], sides=[s.side], K=s.K)
        preds.append(out.joints3d[0, 0].double().numpy())
    ref = get_protocol("dexter-object-3dhand").evaluate(
        pred_joints=np.stack(preds),
        gt_joints=np.stack([s.joints3d[0] for s in samples]).astype(np.float64),
        joints_valid=np.stack([s.joints_valid[0] for s in samples]),
    )
    assert m["AUC_20_50"] == pytest.approx(ref.metrics["AUC_20_50"], abs=1e-6)
    assert m["mean_error"] == pytest.approx(ref.metrics["mean_error"], rel=1e-4)


def test_mutated_annotation_files_fail_cleanly(do_root, tmp_path) -> None:
    """Random byte edits of a 3D file: the loader opens it or raises a handzoo error naming the file."""
    from handzoo.datasets import DexterObject
    from handzoo.errors import HandzooError

    root = _copy(do_root, tmp_path)
    path = root / "data" / "Grasp2" / "annotations" / "Grasp23D.txt"
    good = path.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = set()
    for _ in range(150):
        data = bytearray(good)
        for _ in range(int(rng.integers(1, 6))):
            op = rng.integers(0, 3)
            pos = int(rng.integers(0, len(data)))
            if op == 0:
                data[pos] = int(rng.integers(0, 256))
            elif op == 1:
                del data[pos]
            else:
                data.insert(pos, int(rng.choice(list(b";,\n-e.0 \r\xff"))))
        path.write_bytes(bytes(data))
        try:
            ds = DexterObject(root, sequences=("Grasp2",))
            joints, valid = ds.ground_truth()
            assert joints.shape == (2, 21, 3) and np.isfinite(joints).all()
            outcomes.add("read")
        except HandzooError as exc:
            assert "Grasp23D.txt" in str(exc)
            outcomes.add(type(exc).__name__)
    assert "read" in outcomes and "AnnotationError" in outcomes


def test_fingerprint_follows_the_annotations(do_root, tmp_path) -> None:
    """The bench's cache key sees an edit of data/<seq>/annotations/<seq>3D.txt (three folders deep)."""
    from handzoo.bench.datasets import dataset_fingerprint
    from handzoo.datasets import DexterObject

    root = _copy(do_root, tmp_path)
    before = dataset_fingerprint(DexterObject(root), "dexter-object", "test", root)
    assert before == dataset_fingerprint(DexterObject(root), "dexter-object", "test", root)
    path = root / "data" / "Rigid" / "annotations" / "Rigid3D.txt"
    path.write_text(path.read_text() + "\n")  # a closing blank line: the same samples, other bytes
    assert dataset_fingerprint(DexterObject(root), "dexter-object", "test", root) != before
    assert DexterObject(root).fingerprint() != DexterObject(root, annotated_only=True).fingerprint()
