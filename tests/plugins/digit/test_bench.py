"""InterHand2.6M end to end: a seeded checkpoint in the authors' released layout is converted,
then ``handzoo-bench --models digit-interhand --datasets interhand26m --weights ...`` scores it on
the official-layout stand-in (MPJPE all / single / interacting, MRRPE, handedness)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from handzoo.bench import cli
from handzoo.testing.datasets import write_interhand


@pytest.fixture(scope="module")
def interhand_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stand-in, with both roots of the interacting annotation valid (so MRRPE is defined)."""
    data = tmp_path_factory.mktemp("data")
    root = data / "InterHand2.6M"
    write_interhand(root, split="test", seed=3)
    path = root / "annotations" / "test" / "InterHand2.6M_test_data.json"
    doc = json.loads(path.read_text())
    for ann in doc["annotations"]:
        if ann["hand_type"] == "interacting":
            ann["joint_valid"] = [[1.0]] * 42
    path.write_text(json.dumps(doc))
    return data


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory, authors_state: dict) -> Path:
    """``db7cba8c1.pt``'s layout (``model.pose_reg.*``) from the seeded weights, converted."""
    from handzoo.hub.convert import convert_checkpoint

    d = tmp_path_factory.mktemp("ckpt")
    # module scope runs before the suite's per-test cache isolation: keep the cache here too
    mp = pytest.MonkeyPatch()
    mp.setenv("HANDZOO_CACHE", str(d / "cache"))
    ckpt = d / "db7cba8c1.pt"
    torch.save({"model." + k: v for k, v in authors_state.items()}, ckpt)
    try:
        result = convert_checkpoint("digit-interhand", ckpt, out=d / "digit-interhand.safetensors")
    finally:
        mp.undo()
    assert result.num_tensors == 1903 and not result.dropped_keys and not result.mano_derived_keys
    assert str(result.path).startswith(str(d))
    return result.out


def test_bench_scores_digit_on_interhand(interhand_root, converted, tmp_path, capsys) -> None:
    args = [
        "--models", "digit-interhand", "--datasets", "interhand26m", "--data-root", str(interhand_root),
        "--weights", f"digit-interhand={converted}", "--batch-size", "2", "--workers", "0",
        "--json", "--no-progress", "--out", str(tmp_path / "report"),
    ]  # fmt: skip
    assert cli.main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    (res,) = [r for r in doc["results"] if r["model"] == "digit-interhand"]
    assert res["dataset"] == "interhand26m" and res["weights_status"] == "local"
    m = res["metrics"]
    for key in ("MPJPE", "MPJPE-single", "MPJPE-interacting", "MRRPE"):
        assert m[key] is not None and np.isfinite(m[key]) and m[key] > 0, key
    # the MRRPE of the one interacting sample, recomputed from the model's own outputs
    from handzoo.datasets import load_dataset
    from handzoo.hub.load import load

    ds = load_dataset("interhand26m", root=interhand_root / "InterHand2.6M", split="test")
    inter = [ds[i] for i in range(len(ds)) if ds[i].meta["hand_type"] == "interacting"][0]
    model = load("digit-interhand", weights=converted)
    out = model(inter.image, boxes=[inter.bbox], sides=[inter.side], K=inter.K, root=[inter.joints3d[:, 0]])
    gt_rel = inter.joints3d[1, 0] - inter.joints3d[0, 0]
    pred_rel = out.joints3d[0, 1, 0].double().numpy() - out.joints3d[0, 0, 0].double().numpy()
    np.testing.assert_allclose(pred_rel, out.extras["rel_root"][0].double().numpy(), atol=1e-6)
    assert m["MRRPE"] == pytest.approx(1000 * float(np.linalg.norm(pred_rel - gt_rel)), rel=1e-4)


def test_bench_gives_interhand_root_depths(interhand_root) -> None:
    """InterHand2.6M's evaluation supplies the absolute root depth: the bench's query carries the wrists."""
    from handzoo.bench.inference import model_query
    from handzoo.datasets import load_dataset

    ds = load_dataset("interhand26m", root=interhand_root / "InterHand2.6M", split="test")
    batch = [(i, ds[i]) for i in range(len(ds))]
    q = model_query(batch)
    assert q.root is not None
    for (_, s), r in zip(batch, q.root):
        np.testing.assert_allclose(r, s.joints3d[:, 0])
    for _, s in batch:
        s.meta.pop("abs_depth")
    assert model_query(batch).root is None
