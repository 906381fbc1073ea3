"""STB loader on an official-layout stand-in (labels/*.mat in the depth camera, images/<seq>/SK_color_i.png)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from handzoo.errors import DatasetNotFoundError
from handzoo.protocols.pck3d import _STB_SK_ROT_VEC, _STB_SK_TRANS_MM, STB_SK_COLOR_K, STB_TO_HANDZOO21, _rodrigues
from handzoo.types import LEFT


def _write_standin(root, seqs: dict[str, np.ndarray]) -> None:
    from scipy.io import savemat

    (root / "labels").mkdir(parents=True)
    inv = np.argsort(STB_TO_HANDZOO21)
    R = _rodrigues(np.asarray(_STB_SK_ROT_VEC))
    rng = np.random.default_rng(0)
    for seq, joints in seqs.items():
        depth = (joints[:, inv] * 1000.0) @ R.T + np.asarray(_STB_SK_TRANS_MM)
        savemat(str(root / "labels" / f"{seq}_SK.mat"), {"handPara": depth.transpose(2, 1, 0)})
        (root / "images" / seq).mkdir(parents=True)
        for i in range(joints.shape[0]):
            img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
            cv2.imwrite(str(root / "images" / seq / f"SK_color_{i}.png"), img)


def test_stb_reads_the_official_layout(tmp_path) -> None:
    from handzoo.datasets import STB, load_dataset

    rng = np.random.default_rng(1)
    joints = {s: rng.normal(0, 0.04, (2, 21, 3)) + [0.0, 0.0, 0.5] for s in ("B1Counting", "B1Random")}
    _write_standin(tmp_path, joints)
    ds = STB(tmp_path, split="test")
    assert len(ds) == 4 and ds.protocol == "stb-3dhand"
    s = ds[3]
    np.testing.assert_allclose(s.joints3d[0], joints["B1Random"][1], atol=1e-6)
    assert s.side.tolist() == [LEFT] and s.image.shape == (48, 64, 3)
    np.testing.assert_allclose(s.K, np.asarray(STB_SK_COLOR_K), atol=1e-3)
    assert s.meta["sequence"] == "B1Random" and s.meta["frame"] == 1
    assert isinstance(load_dataset("stb", root=tmp_path), STB)
    with pytest.raises(DatasetNotFoundError):
        STB(tmp_path, split="train")
