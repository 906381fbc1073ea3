"""Tiny stand-ins of the real datasets, written in their official layouts with known values.

The real datasets cannot be shipped or downloaded in tests, so each ``write_*`` function writes a
handful of samples the way the dataset's own release does (file names, folder structure, JSON /
pickle / YAML / NPZ contents, coordinate frames, units and joint orders), and returns what a
correct loader must yield, already in handzoo conventions (``handzoo21`` order, metres, OpenCV
frame). The raw files are produced from those expected values with the datasets' own documented
conventions, written out here independently of the loaders' code (the joint-order lists below are
the published ones, not :mod:`handzoo.geometry.joint_orders`).

Used by handzoo's loader and benchmark tests; plugin authors can use them the same way (see
:mod:`handzoo.testing`).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from handzoo.datasets.dexycb import DEXYCB_SERIALS  # the eight camera folder names

__all__ = [
    "expected_image",
    "random_hand",
    "write_freihand",
    "write_ho3d",
    "write_dexycb",
    "write_dexycb_handoccnet",
    "write_interhand",
    "write_rhd",
    "write_dexter_object",
    "write_egodexter",
]

# handzoo21 joint i is raw joint ORDER[i] (published orders)
HO3D_TO_H21 = [0, 13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20]  # ho3d vis_HO3D.py
INTERHAND_TO_H21 = [20, 3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12, 19, 18, 17, 16]  # skeleton.txt
RHD_TO_H21 = [0, 4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9, 16, 15, 14, 13, 20, 19, 18, 17]  # RHD README


def _to_raw(h21: np.ndarray, order: list[int]) -> np.ndarray:
    """Inverse of ``h21 = raw[..., order, :]``."""
    raw = np.zeros_like(h21)
    raw[..., order, :] = h21
    return raw


def random_hand(rng: np.random.Generator, depth: float = 0.6) -> np.ndarray:
    """(21, 3) joints of a plausible hand size in front of the camera (OpenCV frame, metres)."""
    root = np.array([rng.uniform(-0.05, 0.05), rng.uniform(-0.05, 0.05), depth + rng.uniform(-0.1, 0.1)])
    return root + rng.normal(0, 0.04, (21, 3)) * np.array([1.0, 1.0, 0.3])


def _K(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    f = rng.uniform(0.8, 1.5) * max(w, h)
    return np.array(
        [[f, 0, w / 2 + rng.uniform(-2, 2)], [0, f * rng.uniform(0.98, 1.02), h / 2 + rng.uniform(-2, 2)], [0, 0, 1]]
    )


def _image(rng: np.random.Generator, path: Path, w: int, h: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img = cv2.GaussianBlur(img, (3, 3), 0)  # JPEG-friendly content
    params = [cv2.IMWRITE_JPEG_QUALITY, 95] if path.suffix == ".jpg" else []
    ok, buf = cv2.imencode(path.suffix, img, params)
    assert ok
    path.write_bytes(buf.tobytes())


def expected_image(path: str | Path) -> np.ndarray:
    """The RGB pixels a loader must return for a written image (decoded like the loaders)."""
    bgr = cv2.imdecode(np.fromfile(str(path), np.uint8), cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    return np.ascontiguousarray(bgr[:, :, ::-1])


def _project(j: np.ndarray, K: np.ndarray) -> np.ndarray:
    uvw = j @ K.T
    return uvw[..., :2] / uvw[..., 2:]


# --------------------------------------------------------------------------------------- FreiHAND


def write_freihand(
    root: str | Path, n: int = 3, split: str = "training", versions: int = 1, seed: int = 0, size: int = 32
) -> list[dict[str, Any]]:
    """FreiHAND: ``<split>_{K,xyz,mano,scale,verts}.json`` + ``<split>/rgb`` (+ ``mask`` for training).

    ``versions`` image versions are written with the official numbering ``id + v * n``.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    out = []
    Ks, xyz, manos, scales, verts = [], [], [], [], []
    for i in range(n):
        K = _K(rng, size, size)
        j = random_hand(rng)
        v = j[:7] + rng.normal(0, 0.01, (7, 3))
        theta = rng.normal(0, 0.3, 61)
        Ks.append(K.tolist())
        xyz.append(j.tolist())
        manos.append([theta.tolist()])
        scales.append(float(np.linalg.norm(j[10] - j[9])))
        verts.append(v.tolist())
        images = []
        for ver in range(versions):
            p = root / split / "rgb" / f"{i + ver * n:08d}.jpg"
            _image(rng, p, size, size)
            images.append(expected_image(p))
        mask = None
        if split == "training":
            m = np.zeros((size, size), np.uint8)
            m[size // 4 : size // 2, size // 4 : 3 * size // 4] = 255
            mp = root / split / "mask" / f"{i:08d}.jpg"
            mp.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(mp), m)
            mask = m
        out.append(
            {
                "images": images,
                "K": K,
                "side": [0],
                "joints3d": j[None],
                "joints2d": _project(j, K)[None],
                "vertices": v[None],
                "global_orient": theta[:3],
                "hand_pose": theta[3:48],
                "betas": theta[48:58],
                "uv_root": theta[58:60],
                "mano_scale": theta[60],
                "scale": scales[-1],
                "mask": mask,
            }
        )
    for name, data in (("K", Ks), ("xyz", xyz), ("mano", manos), ("scale", scales), ("verts", verts)):
        (root / f"{split}_{name}.json").write_text(json.dumps(data))
    return out


# --------------------------------------------------------------------------------------- HO-3D


def write_ho3d(root: str | Path, version: str = "v3", split: str = "train", seed: int = 0) -> list[dict[str, Any]]:
    """HO-3D: ``<split>.txt`` + ``<split>/<seq>/{rgb,meta}``; OpenGL-frame joints in HO-3D order.

    Training: two sequences, three frames, the last frame without hand annotation (``None``).
    Evaluation: root joint and hand box only.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    ext = ".jpg" if version == "v3" else ".png"
    items = [("ABF10", "0000"), ("ABF10", "0001"), ("MC1", "0007")]
    gl = np.diag([1.0, -1.0, -1.0])
    out = []
    for k, (seq, fid) in enumerate(items):
        K = _K(rng, 40, 30)
        p = root / split / seq / "rgb" / f"{fid}{ext}"
        _image(rng, p, 40, 30)
        j = random_hand(rng)
        anno: dict[str, Any] = {"camMat": K, "objName": "006_mustard_bottle", "objRot": rng.normal(size=(3, 1))}
        exp: dict[str, Any] = {"image": expected_image(p), "K": K, "side": [0], "sequence": seq, "frame": fid}
        if split == "train":
            if k == 2:
                anno.update(handJoints3D=None, handPose=None, handBeta=None, handTrans=None)
                exp.update(hand_valid=[False], joints3d=None)
            else:
                raw = _to_raw(j, HO3D_TO_H21) @ gl.T  # OpenCV -> OpenGL, HO-3D order
                pose = rng.normal(0, 0.3, 48)
                anno.update(
                    handJoints3D=raw, handPose=pose, handBeta=rng.normal(0, 1, 10), handTrans=rng.normal(0, 0.1, 3)
                )
                exp.update(
                    hand_valid=[True],
                    joints3d=j[None],
                    joints2d=_project(j, K)[None],
                    hand_pose=pose[3:],
                    joints_opengl=raw,
                )
        else:
            bb = np.array([5.0, 6.0, 25.0, 28.0])
            anno.update(handJoints3D=(gl @ j[0]), handBoundingBox=bb)
            exp.update(hand_valid=[True], joints3d=None, bbox=bb, root_joint=j[0])
        mp = root / split / seq / "meta" / f"{fid}.pkl"
        mp.parent.mkdir(parents=True, exist_ok=True)
        with open(mp, "wb") as f:
            pickle.dump(anno, f, protocol=2)
        out.append(exp)
    (root / f"{split}.txt").write_text("\n".join(f"{s}/{f}" for s, f in items) + "\n")
    return out


# --------------------------------------------------------------------------------------- DexYCB


def _yaml(path: Path, data: dict) -> None:
    import yaml

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))


def write_dexycb(root: str | Path, seed: int = 0) -> list[dict[str, Any]]:
    """DexYCB (NVlabs layout) with frames only in two s0-test sequences.

    Ten subject folders of 100 sequences each (``num_frames`` 0 except subject 2 / sequence 4,
    two frames, right hand, and subject 3 / sequence 9, one frame, left hand, whose second camera
    has no hand: all joints -1). Returns the ``s0_test`` samples in the toolkit's order.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    subjects = [
        f"2020{m:02d}{d:02d}-subject-{i + 1:02d}"
        for i, (m, d) in enumerate(
            [(7, 9), (8, 13), (8, 20), (9, 3), (9, 8), (9, 18), (9, 28), (10, 2), (10, 15), (10, 22)]
        )
    ]
    Ks = {}
    for s in DEXYCB_SERIALS:
        K = _K(rng, 40, 30)
        Ks[s] = K
        _yaml(
            root / "calibration" / "intrinsics" / f"{s}_640x480.yml",
            {"color": {"fx": float(K[0, 0]), "fy": float(K[1, 1]), "ppx": float(K[0, 2]), "ppy": float(K[1, 2])}},
        )
    betas = {"calib_a": rng.normal(0, 1, 10), "calib_b": rng.normal(0, 1, 10)}
    for name, b in betas.items():
        _yaml(root / "calibration" / f"mano_{name}" / "mano.yml", {"betas": b.tolist()})
    populated = {(2, 4): (2, "right", "calib_a"), (3, 9): (1, "left", "calib_b")}
    for si, subj in enumerate(subjects):
        for qi in range(100):
            seq = root / subj / f"20200101_{qi:06d}"
            nf, side, calib = populated.get((si, qi), (0, "right", "calib_a"))
            _yaml(
                seq / "meta.yml",
                {"num_frames": nf, "mano_sides": [side], "mano_calib": [calib], "ycb_ids": [1], "ycb_grasp_ind": 0},
            )
    out = []
    for (si, qi), (nf, side, calib) in sorted(populated.items()):
        seq = f"{subjects[si]}/20200101_{qi:06d}"
        for ci, serial in enumerate(DEXYCB_SERIALS):
            for f in range(nf):
                d = root / seq / serial
                _image(rng, d / f"color_{f:06d}.jpg", 40, 30)
                K = Ks[serial]
                j = random_hand(rng)
                j2 = _project(j, K)
                pose_m = rng.normal(0, 0.5, 51)
                empty = side == "left" and ci == 1
                if empty:
                    j3w, j2w = -np.ones((1, 21, 3)), -np.ones((1, 21, 2))
                else:
                    j3w, j2w = j[None], j2[None]
                np.savez(
                    d / f"labels_{f:06d}.npz",
                    seg=np.zeros((30, 40), np.uint8),
                    pose_y=np.zeros((1, 3, 4)),
                    pose_m=pose_m[None],
                    joint_3d=j3w,
                    joint_2d=j2w,
                )
                out.append(
                    {
                        "image": expected_image(d / f"color_{f:06d}.jpg"),
                        "K": K,
                        "side": [0 if side == "right" else 1],
                        "hand_valid": [not empty],
                        "joints3d": None if empty else j[None],
                        "joints2d": None if empty else j2[None],
                        "mano_pca": pose_m[:48],
                        "mano_betas": betas[calib],
                        "sequence": seq,
                        "serial": serial,
                        "frame": f,
                    }
                )
    # toolkit order: subject, sequence, camera, frame
    return out


def write_dexycb_handoccnet(root: str | Path, split: str = "test", seed: int = 0) -> list[dict[str, Any]]:
    """HandOccNet's ``annotations/DEX_YCB_s0_<split>_data.json`` with two images (right, left)."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    images, anns, out = [], [], []
    for i, side in enumerate(("right", "left")):
        fn = f"20200820-subject-03/20200820_135508/836212060125/color_{i:06d}.jpg"
        _image(rng, root / fn, 40, 30)
        K = _K(rng, 40, 30)
        j = random_hand(rng)
        pose, shape = rng.normal(0, 0.3, 48), rng.normal(0, 1, 10)
        images.append({"id": 100 + i, "file_name": fn, "width": 40, "height": 30})
        anns.append(
            {
                "id": 100 + i,
                "image_id": 100 + i,
                "joints_coord_cam": j.tolist(),
                "joints_img": _project(j, K).tolist(),
                "cam_param": {"focal": [K[0, 0], K[1, 1]], "princpt": [K[0, 2], K[1, 2]]},
                "mano_param": {"pose": pose.tolist(), "shape": shape.tolist()},
                "hand_type": side,
            }
        )
        out.append(
            {
                "image": expected_image(root / fn),
                "K": K,
                "side": [i],
                "joints3d": j[None],
                "joints2d": _project(j, K)[None],
                "pose": pose,
                "shape": shape,
                "image_id": 100 + i,
            }
        )
    path = root / "annotations" / f"DEX_YCB_s0_{split}_data.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns}))
    return out


# --------------------------------------------------------------------------------------- InterHand2.6M


def _rotation(rng: np.random.Generator) -> np.ndarray:
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.linalg.det(q))


def write_interhand(root: str | Path, split: str = "test", seed: int = 0) -> list[dict[str, Any]]:
    """InterHand2.6M v1.0: three annotations (interacting, right, left) of one capture/camera.

    World millimetres, 42 joints right then left, tip-to-base with the wrist last. In the
    interacting sample the left wrist is invalid (so the whole left hand is). The returned list is
    in the loader's order: single-hand annotations first.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    R = _rotation(rng)
    campos = rng.normal(0, 500, 3)
    focal, princpt = np.array([1200.0, 1210.0]), np.array([20.0, 15.0])
    K = np.array([[focal[0], 0, princpt[0]], [0, focal[1], princpt[1]], [0, 0, 1]])
    cams = {
        "0": {
            "campos": {"400002": campos.tolist()},
            "camrot": {"400002": R.tolist()},
            "focal": {"400002": focal.tolist()},
            "princpt": {"400002": princpt.tolist()},
        }
    }
    joints3d, manos, images, anns = {"0": {}}, {"0": {}}, [], []
    expected = {}
    for k, (ht, frame) in enumerate([("interacting", 10), ("right", 11), ("left", 12)]):
        right, left = random_hand(rng, 1.0), random_hand(rng, 1.0)
        cam_mm = np.concatenate([_to_raw(right, INTERHAND_TO_H21), _to_raw(left, INTERHAND_TO_H21)]) * 1000.0
        world = cam_mm @ R + campos  # inverse of R @ (X - campos)
        valid = np.ones(42)
        if ht == "right":
            valid[21:] = 0
        if ht == "left":
            valid[:21] = 0
        if ht == "interacting":
            valid[41] = 0  # left root invalid -> whole left hand invalid
        joints3d["0"][str(frame)] = {
            "world_coord": world.tolist(),
            "joint_valid": valid.tolist(),
            "hand_type": ht,
            "hand_type_valid": True,
        }
        pr, pl = rng.normal(0, 0.3, 48), rng.normal(0, 0.3, 48)
        sr, sl = rng.normal(0, 1, 10), rng.normal(0, 1, 10)
        manos["0"][str(frame)] = {
            "right": {"pose": pr.tolist(), "shape": sr.tolist(), "trans": [0.1, 0.2, 0.3]},
            "left": {"pose": pl.tolist(), "shape": sl.tolist(), "trans": [0.0, 0.1, 0.2]},
        }
        fn = f"Capture0/ROM04_LT_Occlusion/cam400002/image{frame:05d}.jpg"
        _image(rng, root / "images" / split / fn, 40, 30)
        images.append(
            {
                "id": k,
                "file_name": fn,
                "width": 40,
                "height": 30,
                "capture": 0,
                "seq_name": "ROM04_LT_Occlusion",
                "camera": "400002",
                "frame_idx": frame,
            }
        )
        anns.append(
            {
                "id": k,
                "image_id": k,
                "bbox": [1.0, 2.0, 30.0, 20.0],
                "joint_valid": valid.reshape(42, 1).tolist(),
                "hand_type": ht,
                "hand_type_valid": 1,
            }
        )
        sides = {"right": [0], "left": [1], "interacting": [0, 1]}[ht]
        hands = {0: right, 1: left}
        # a hand whose wrist (20 / 41) is invalid has no valid joint (the InterNet rule)
        jv = {
            0: (valid[:21][INTERHAND_TO_H21] > 0) & (valid[20] > 0),
            1: (valid[21:][INTERHAND_TO_H21] > 0) & (valid[41] > 0),
        }
        expected[k] = {
            "image": expected_image(root / "images" / split / fn),
            "K": K,
            "side": sides,
            "joints3d": np.stack([hands[s] for s in sides]),
            "joints2d": np.stack([_project(hands[s], K) for s in sides]),
            "joints_valid": np.stack([jv[s] for s in sides]),
            "hand_valid": [bool(jv[s][0]) for s in sides],
            "hand_type": ht,
            "hand_pose": np.stack([{0: pr, 1: pl}[s][3:] for s in sides]),
            "global_orient_world": np.stack([{0: pr, 1: pl}[s][:3] for s in sides]),
            "camrot": R,
        }
    adir = root / "annotations" / split
    adir.mkdir(parents=True, exist_ok=True)
    pre = f"InterHand2.6M_{split}"
    (adir / f"{pre}_data.json").write_text(json.dumps({"images": images, "annotations": anns}))
    (adir / f"{pre}_camera.json").write_text(json.dumps(cams))
    (adir / f"{pre}_joint_3d.json").write_text(json.dumps(joints3d))
    (adir / f"{pre}_MANO_NeuralAnnot.json").write_text(json.dumps(manos))
    return [expected[1], expected[2], expected[0]]


# --------------------------------------------------------------------------------------- RHD


def write_rhd(root: str | Path, split: str = "evaluation", n: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """RHD: ``anno_<split>.pickle`` (left hand 0-20, right 21-41; wrist then tip-to-base per finger)
    with colour, mask (2-17 left, 18-33 right) and depth PNGs; sample 1 has an invisible left hand."""
    root = Path(root)
    rng = np.random.default_rng(seed)
    anno, out = {}, []
    for sid in range(n):
        K = _K(rng, 32, 32)
        left, right = random_hand(rng), random_hand(rng)
        xyz = np.concatenate([_to_raw(left, RHD_TO_H21), _to_raw(right, RHD_TO_H21)])
        uv = _project(xyz, K)
        vis = np.ones(42)
        vis[::3] = 0
        if sid == 1:
            vis[:21] = 0
        anno[sid] = {
            "xyz": xyz.astype(np.float32),
            "uv_vis": np.concatenate([uv, vis[:, None]], 1).astype(np.float32),
            "K": K.astype(np.float32),
        }
        _image(rng, root / split / "color" / f"{sid:05d}.png", 32, 32)
        seg = np.zeros((32, 32), np.uint8)
        seg[2:6, 2:6] = 1
        seg[10:14, 10:20] = 5  # left index
        seg[20:30, 20:30] = 25  # right hand, larger -> dominant
        (root / split / "mask").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / split / "mask" / f"{sid:05d}.png"), seg)
        depth_m = rng.uniform(0.2, 4.0, (32, 32))
        code = np.round(depth_m / 5.0 * (2**16 - 1)).astype(np.int64)
        dimg = np.zeros((32, 32, 3), np.uint8)
        dimg[..., 0], dimg[..., 1] = code // 256, code % 256  # RGB: R = high byte, G = low byte
        (root / split / "depth").mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(root / split / "depth" / f"{sid:05d}.png"), dimg[:, :, ::-1])
        out.append(
            {
                "image": expected_image(root / split / "color" / f"{sid:05d}.png"),
                "K": K.astype(np.float32).astype(np.float64),
                "side": [1, 0],
                "joints3d": np.stack([left, right]).astype(np.float32).astype(np.float64),
                "joints2d": np.stack([uv[:21][RHD_TO_H21], uv[21:][RHD_TO_H21]]).astype(np.float32),
                "visible": np.stack([vis[:21][RHD_TO_H21] > 0, vis[21:][RHD_TO_H21] > 0]),
                "hand_valid": [sid != 1, True],
                "mask": np.where(seg >= 2, 255, 0).astype(np.uint8),
                "dominant": 1,
                "depth": code / (2**16 - 1) * 5.0,
            }
        )
    path = root / split / f"anno_{split}.pickle"
    with open(path, "wb") as f:
        pickle.dump(anno, f, protocol=2)
    return out


# --------------------------------------------------------------------------------------- Dexter+Object / EgoDexter

# the published calibrations (written here independently of the loaders): colour K, depth K, depth -> colour [R | t] mm
_DO_SEQUENCES = ("Grasp1", "Grasp2", "Occlusion", "Rigid", "Pinch", "Rotate")
_DO_COLOR_K = np.array([[587.45209, 0.0, 325.0], [0.0, 600.67456, 249.0], [0.0, 0.0, 1.0]])
_DO_DEPTH_K = np.array([[224.502, 0.0, 160.0], [0.0, 230.494, 120.0], [0.0, 0.0, 1.0]])
_DO_EXT = np.array(
    [[0.9999, 0.0034, 0.0161, 19.0473], [-0.0033, 1.0000, -0.0079, -1.8514], [-0.0162, 0.0079, 0.9998, -4.7501]]
)
_ED_SEQUENCES = ("Desk", "Fruits", "Kitchen", "Rotunda")
_ED_COLOR_K = np.array([[617.173, 0.0, 315.453], [0.0, 617.173, 242.259], [0.0, 0.0, 1.0]])
_ED_DEPTH_K = np.array([[475.62, 0.0, 311.125], [0.0, 475.62, 245.965], [0.0, 0.0, 1.0]])
_ED_EXT = np.array(
    [[1.0000, 0.00090442, -0.0074, 20.2365], [-0.00071933, 0.9997, 0.0248, 1.2846], [0.0075, -0.0248, 0.9997, 5.7360]]
)
_TIPS = [4, 8, 12, 16, 20]  # handzoo21 rows of thumb, index, middle, ring, little tips


def _tips_in_view(rng: np.random.Generator, K: np.ndarray, w: int, h: int) -> np.ndarray:
    """(5, 3) fingertips in metres (colour camera) spread around a point seen near the image centre."""
    z = rng.uniform(0.35, 0.55)
    u, v = rng.uniform(0.35 * w, 0.65 * w), rng.uniform(0.35 * h, 0.65 * h)
    centre = np.array([(u - K[0, 2]) * z / K[0, 0], (v - K[1, 2]) * z / K[1, 1], z])
    return centre + rng.normal(0.0, 0.025, (5, 3)) * np.array([1.0, 1.0, 0.4])


def _colour_frame(rng: np.random.Generator, path: Path, w: int, h: int) -> np.ndarray:
    """A blocky colour frame (cheap to encode at full size); returns the pixels a loader must read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    small = rng.integers(0, 256, (h // 16, w // 16, 3), dtype=np.uint8)
    img = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(path.suffix, img)
    assert ok
    path.write_bytes(buf.tobytes())
    return expected_image(path)


def _depth_frame(path: Path, w: int, h: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.zeros((h, w), np.uint16))


def _tip_line(values: list[str]) -> str:
    return ";".join(values) + ";"


def _fingertip_expected(tips_m: np.ndarray, ok: np.ndarray, K: np.ndarray) -> dict[str, Any]:
    joints = np.zeros((1, 21, 3))
    valid = np.zeros((1, 21), dtype=bool)
    joints[0, _TIPS] = np.where(ok[:, None], tips_m, 0.0)
    valid[0, _TIPS] = ok
    tips2d = np.full((5, 2), np.nan)
    tips2d[ok] = _project(tips_m[ok], K)
    return {
        "K": K,
        "side": [1],
        "joints3d": joints,
        "joints_valid": valid,
        "hand_valid": [bool(ok.any())],
        "tips2d": tips2d,
    }


def write_dexter_object(root: str | Path, frames: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """Dexter+Object: ``data/<seq>/{color/Color_0001.bmp, depth/, annotations/<seq>{3D,2D}.txt}`` for the six sequences.

    3D lines are five ``x, y, z;`` fingertips in millimetres in the depth camera with x left and
    y up (``z = 32001``: missing), 2D lines ``u, v;`` in the 320 x 240 depth image. Grasp1's
    frame 1 has no fingertip (when ``frames > 1``); Grasp2's frame 0 misses the index and ring
    tips. Returns every frame in sequence order, in handzoo conventions (left hand, metres,
    colour camera).
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    R, t = _DO_EXT[:, :3], _DO_EXT[:, 3]
    out = []
    for s, seq in enumerate(_DO_SEQUENCES):
        folder = root / "data" / seq
        lines3d, lines2d = [], []
        for f in range(frames):
            image = _colour_frame(rng, folder / "color" / f"Color_{f + 1:04d}.bmp", 640, 480)
            _depth_frame(folder / "depth" / f"Depth_{f + 1:04d}.png", 320, 240)
            tips = _tips_in_view(rng, _DO_COLOR_K, 640, 480)
            ok = np.ones(5, dtype=bool)
            if s == 0 and f == 1:
                ok[:] = False
            if s == 1 and f == 0:
                ok[[1, 3]] = False
            depth_cv = (tips * 1000.0 - t) @ np.linalg.inv(R).T  # colour -> depth camera, OpenCV axes, mm
            raw = depth_cv * np.array([-1.0, -1.0, 1.0])  # the release's x left, y up
            uv = _project(depth_cv, _DO_DEPTH_K)
            f3, f2 = [], []
            for k in range(5):
                if ok[k]:
                    f3.append(f"{raw[k, 0]:.9f}, {raw[k, 1]:.9f}, {raw[k, 2]:.9f}")
                    f2.append(f"{uv[k, 0]:.3f}, {uv[k, 1]:.3f}")
                else:  # the release marks a missing tip by z = 32001 (its 2D marker is not documented)
                    f3.append("0, 0, 32001")
                    f2.append("0, 0")
            lines3d.append(_tip_line(f3))
            lines2d.append(_tip_line(f2))
            exp = _fingertip_expected(tips, ok, _DO_COLOR_K)
            exp.update(image=image, sequence=seq, frame=f, tips2d_depth=np.where(ok[:, None], uv, 0.0))
            out.append(exp)
        ann = folder / "annotations"
        ann.mkdir(parents=True, exist_ok=True)
        (ann / f"{seq}3D.txt").write_text("\n".join(lines3d) + "\n")
        (ann / f"{seq}2D.txt").write_text("\n".join(lines2d) + "\n")
    (root / "calibration").mkdir(parents=True, exist_ok=True)
    return out


def write_egodexter(root: str | Path, frames: int = 2, seed: int = 0) -> list[dict[str, Any]]:
    """EgoDexter: ``data/<seq>/{color/image_00000_color.png, depth/, annotation.txt, annotation.txt_3D.txt}``.

    3D lines are five ``x, y, z;`` fingertips in millimetres in the depth camera (OpenCV axes),
    ``0, 0, 0`` when missing; 2D lines ``u, v;`` integer depth-image pixels, ``-1, -1`` when missing.
    Desk's frame 1 is unannotated (all zeros), Fruits' frame 0 misses the middle tip (written
    ``0, -0, 0``), Kitchen's annotation files stop after frame 0, Rotunda's frame 1 line is empty
    (with ``frames > 1``). Returns every frame in sequence order, in handzoo conventions.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    R, t = _ED_EXT[:, :3], _ED_EXT[:, 3]
    out = []
    for seq in _ED_SEQUENCES:
        folder = root / "data" / seq
        lines3d, lines2d = [], []
        for f in range(frames):
            image = _colour_frame(rng, folder / "color" / f"image_{f:05d}_color.png", 640, 480)
            _depth_frame(folder / "depth" / f"image_{f:05d}_depth.png", 640, 480)
            tips = _tips_in_view(rng, _ED_COLOR_K, 640, 480)
            ok = np.ones(5, dtype=bool)
            if (seq == "Desk" and f == 1) or (seq in ("Kitchen", "Rotunda") and f >= 1):
                ok[:] = False
            if seq == "Fruits" and f == 0:
                ok[2] = False
            depth_mm = (tips * 1000.0 - t) @ np.linalg.inv(R).T
            uv = np.round(_project(depth_mm, _ED_DEPTH_K)).astype(int)
            f3 = [
                f"{p[0]:.9f}, {p[1]:.9f}, {p[2]:.9f}" if k else ("0, -0, 0" if seq == "Fruits" else "0, 0, 0")
                for p, k in zip(depth_mm, ok)
            ]
            f2 = [f"{p[0]}, {p[1]}" if k else "-1, -1" for p, k in zip(uv, ok)]
            if seq == "Rotunda" and f == 1:
                lines3d.append("")
                lines2d.append("")
            elif not (seq == "Kitchen" and f >= 1):
                lines3d.append(_tip_line(f3))
                lines2d.append(_tip_line(f2))
            exp = _fingertip_expected(tips, ok, _ED_COLOR_K)
            exp.update(image=image, sequence=seq, frame=f, tips2d_depth=np.where(ok[:, None], uv, np.nan))
            out.append(exp)
        (folder / "annotation.txt_3D.txt").write_text("\n".join(lines3d) + "\n")
        (folder / "annotation.txt").write_text("\n".join(lines2d) + "\n")
    return out
