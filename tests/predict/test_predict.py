"""``handzoo predict``: folders, videos, boxes files, detectors, meshes and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

import handzoo
from handzoo import cli
from handzoo.datasets.synthetic import SyntheticHands
from handzoo.errors import ConfigError, InputError
from handzoo.interfaces import HandDetector
from handzoo.predict import make_detector, predict, read_boxes_file, write_mesh
from handzoo.predict.detectors import FullImageDetector, ModelKeypointDetector

SIZE = 96


@pytest.fixture(scope="module")
def model():
    """The shipped open model (bundled weights), on CPU."""
    torch.manual_seed(0)
    return handzoo.load("compact-openhand").eval()


@pytest.fixture(scope="module")
def synth_images() -> list[np.ndarray]:
    ds = SyntheticHands(n=3, seed=11, image_size=SIZE)
    return [ds[k].image for k in range(3)]


@pytest.fixture()
def folder(tmp_path: Path, synth_images) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    for k, im in enumerate(synth_images):
        cv2.imwrite(str(d / f"img{k}.png"), np.ascontiguousarray(im[:, :, ::-1]))
    return d


@pytest.fixture()
def use_model(monkeypatch: pytest.MonkeyPatch, model):
    """``handzoo predict`` in-process with the already loaded model."""
    monkeypatch.setattr(handzoo, "load", lambda name, **kw: model)
    monkeypatch.delenv("HANDZOO_DEBUG", raising=False)


def _signed_volume(v: np.ndarray, f: np.ndarray) -> float:
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def _read_obj(path: Path) -> tuple[np.ndarray, np.ndarray]:
    lines = path.read_text().splitlines()
    v = np.array([[float(x) for x in ln.split()[1:4]] for ln in lines if ln.startswith("v ")])
    f = np.array([[int(x) - 1 for x in ln.split()[1:4]] for ln in lines if ln.startswith("f ")])
    return v, f


def test_folder_without_boxes_matches_python_call(folder, tmp_path, capsys, use_model, model, synth_images) -> None:
    out_dir = tmp_path / "out"
    assert cli.main(["predict", str(folder), "--out", str(out_dir), "--save-mesh", "obj", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["images"] == 3 and summary["hands"] == 3 and summary["detector"] == "FullImageDetector"
    ref = model(synth_images)  # the Python call without boxes
    for k in range(3):
        rec = json.loads((out_dir / f"img{k}.json").read_text())
        hand = rec["hands"][0]
        np.testing.assert_allclose(hand["joints3d"], ref.joints3d[k, 0].double().numpy(), atol=1e-5)
        np.testing.assert_allclose(hand["joints2d"], ref.joints2d[k, 0].double().numpy(), atol=1e-4)
        np.testing.assert_allclose(hand["cam_t"], ref.cam_t[k, 0].double().numpy(), atol=1e-5)
        assert hand["side"] == "right" and len(hand["vertices"]) == ref.vertices.shape[2]
        assert len(rec["faces"]) == ref.faces.shape[0] and rec["root_relative"] is True
        overlay = cv2.imread(str(out_dir / f"img{k}.png"))
        assert overlay.shape == (SIZE, 2 * SIZE, 3)  # image | side view from a second camera
        assert not np.array_equal(overlay[:, :SIZE, ::-1], synth_images[k])  # something was drawn
        side = overlay[:, SIZE:]
        assert (np.abs(side.astype(int) - 235).sum(-1) > 30).mean() > 0.01  # the hand seen from the side
        v, f = _read_obj(out_dir / f"img{k}_hand0_right.obj")
        np.testing.assert_allclose(v, (ref.vertices[k, 0] + ref.cam_t[k, 0]).double().numpy(), atol=1e-5)
        np.testing.assert_array_equal(f, ref.faces.numpy())


def test_video_gives_mp4(tmp_path, synth_images, use_model, capsys) -> None:
    video = tmp_path / "clip.mp4"
    w = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (SIZE, SIZE))
    for im in synth_images:
        w.write(np.ascontiguousarray(im[:, :, ::-1]))
    w.release()
    out_dir = tmp_path / "out"
    assert cli.main(["predict", str(video), "--out", str(out_dir), "--json", "--batch-size", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 3 and summary["videos"] == 1
    cap = cv2.VideoCapture(str(out_dir / "clip.mp4"))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        assert frame.shape == (SIZE, 2 * SIZE, 3)
        n += 1
    cap.release()
    assert n == 3
    assert len(list((out_dir / "clip").glob("frame_*.json"))) == 3


def test_boxes_file_with_sides(folder, tmp_path, model, synth_images) -> None:
    boxes = {"img0.png": {"boxes": [[10, 12, 80, 90]], "sides": ["left"]}, "img1": [[5, 5, 60, 70], [30, 30, 95, 95]]}
    bf = tmp_path / "boxes.json"
    bf.write_text(json.dumps(boxes))
    out_dir = tmp_path / "out"
    summary = predict(model, [str(folder)], out_dir, boxes_file=bf, overlays=False)
    assert summary["hands"] == 1 + 2 + 1
    rec0 = json.loads((out_dir / "img0.json").read_text())
    assert rec0["hands"][0]["side"] == "left" and rec0["boxes"] == [[10.0, 12.0, 80.0, 90.0]]
    ref = model(synth_images[0], boxes=[10, 12, 80, 90], sides="left")
    np.testing.assert_allclose(rec0["hands"][0]["joints3d"], ref.joints3d[0, 0].double().numpy(), atol=1e-5)
    rec1 = json.loads((out_dir / "img1.json").read_text())
    assert [h["side"] for h in rec1["hands"]] == ["right", "right"]
    assert not (out_dir / "img0.png").exists()  # overlays off


def _load_mesh(path: Path):
    import trimesh

    return trimesh.load(str(path), force="mesh", process=False)


def test_left_hand_mesh_winding_matches_right(tmp_path, model, synth_images) -> None:
    out = model([synth_images[0]] * 2, boxes=[[[0, 0, 95, 95]]] * 2, sides=[["right"], ["left"]])
    faces = out.faces.numpy()
    for fmt in ("obj", "ply", "glb"):
        for i, left in ((0, False), (1, True)):
            p = write_mesh(tmp_path / f"h{i}.{fmt}", out.vertices[i, 0].double().numpy(), faces, left=left)
            m = _load_mesh(p)
            # outward normals: a positive signed volume (the mirrored left hand's faces were reversed)
            assert _signed_volume(m.vertices, m.faces) > 0, (fmt, left)
            assert m.volume > 0
        # written unreversed, the mirrored left hand is inside out: the check has teeth
        v_left = out.vertices[1, 0].double().numpy()
        p = write_mesh(tmp_path / f"bad.{fmt}", v_left, faces, left=False, orient=False)
        assert _signed_volume(_load_mesh(p).vertices, _load_mesh(p).faces) < 0
        # a method's own left faces wound the other way: turned outward by the signed-volume check
        p = write_mesh(tmp_path / f"own.{fmt}", v_left, faces, left=False)
        assert _signed_volume(_load_mesh(p).vertices, _load_mesh(p).faces) > 0
    colours = np.linspace(0, 1, out.vertices.shape[2] * 3).reshape(-1, 3)
    p = write_mesh(tmp_path / "c.ply", out.vertices[0, 0].numpy(), faces, colors=colours)
    m = _load_mesh(p)
    assert m.faces.shape == faces.shape
    np.testing.assert_array_equal(m.visual.vertex_colors[:, :3], np.round(colours * 255).astype(np.uint8))
    with pytest.raises(InputError, match="obj, .ply or .glb"):
        write_mesh(tmp_path / "x.stl", out.vertices[0, 0].numpy(), faces)


class _TexturedHands:
    """A method that predicts vertex colours (like SMHR's texture) and has its own left-hand faces."""

    def __init__(self, model) -> None:
        self.model, self.card = model, None

    def predict(self, images, boxes=None, **ctx):
        out = self.model.predict(images, boxes=boxes, **ctx)
        b, h, v = out.vertices.shape[:3]
        out.extras["vertex_colors"] = torch.linspace(0, 1, b * h * v * 3).reshape(b, h, v, 3)
        out.extras["faces_left"] = out.faces[:, [0, 2, 1]]  # already wound for the mirrored left hand
        return out


def test_glb_meshes_through_predict(folder, tmp_path, model) -> None:
    """GLB per hand with vertex colours; a left hand from a method's own faces is not flipped twice."""
    bf = tmp_path / "boxes.json"
    bf.write_text(json.dumps({"img0.png": {"boxes": [[5, 5, 60, 70], [30, 30, 95, 95]], "sides": ["right", "left"]}}))
    src = tmp_path / "one"
    src.mkdir()
    (src / "img0.png").write_bytes((folder / "img0.png").read_bytes())
    method = _TexturedHands(model)
    summary = predict(method, [str(src)], tmp_path / "o", boxes_file=bf, save_mesh="glb", overlays=False)
    assert summary["hands"] == 2
    rec = json.loads((tmp_path / "o" / "img0.json").read_text())
    for hand in rec["hands"]:
        p = tmp_path / "o" / f"img0_hand{hand['index']}_{hand['side']}.glb"
        m = _load_mesh(p)
        assert _signed_volume(m.vertices, m.faces) > 0, hand["side"]
        # glTF axes: (x, -y, -z) of the camera-frame vertices
        cam = np.asarray(hand["vertices"]) + np.asarray(hand["cam_t"])
        np.testing.assert_allclose(m.vertices, cam * [1.0, -1.0, -1.0], atol=1e-6)
        want = np.round(np.clip(np.asarray(hand["extras"]["vertex_colors"]), 0, 1) * 255).astype(np.uint8)
        np.testing.assert_array_equal(m.visual.vertex_colors[:, :3], want)
    with pytest.raises(ConfigError, match="obj, ply, glb"):
        predict(method, [str(src)], tmp_path / "o2", save_mesh="stl")


def test_detectors(model, synth_images) -> None:
    from handzoo.registry import get_registry

    names = get_registry("detectors").module_dict
    assert "FullImage" in names and "ModelKeypoints" in names
    assert isinstance(make_detector(None, model), FullImageDetector)
    det = make_detector("keypoints", model)
    assert isinstance(det, ModelKeypointDetector)
    found = det.detect(synth_images)
    assert len(found) == 3
    for d in found:
        assert len(d) == 1
        x0, y0, x1, y1 = d.boxes[0]
        assert 0 <= x0 < x1 <= SIZE - 1 and 0 <= y0 < y1 <= SIZE - 1
    with pytest.raises(ConfigError, match="unknown detector"):
        make_detector("nope", model)
    with pytest.raises(ConfigError, match="does not detect hands"):
        make_detector("model", model)


def _one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_bad_inputs_are_one_line_errors(tmp_path, folder, capsys, use_model) -> None:
    assert cli.main(["predict", str(tmp_path / "missing.png"), "--out", str(tmp_path / "o")]) == 2
    assert "does not exist" in _one_line_error(capsys.readouterr().err)
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli.main(["predict", str(folder), "--boxes", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "not valid JSON" in _one_line_error(capsys.readouterr().err)
    bad.write_text(json.dumps({"img0.png": [[10, 10, 5, 5]]}))
    assert cli.main(["predict", str(folder), "--boxes", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "empty" in _one_line_error(capsys.readouterr().err)
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG not really")
    assert cli.main(["predict", str(corrupt), "--out", str(tmp_path / "o")]) == 2
    assert "cannot decode image" in _one_line_error(capsys.readouterr().err)
    with pytest.raises(InputError, match="sides"):
        bad.write_text(json.dumps({"a.png": {"boxes": [[0, 0, 5, 5]], "sides": ["up"]}}))
        read_boxes_file(bad)


class _TwoHandFinder(HandDetector):
    """A multi-hand 'method' (like SMHR): finds two hands itself, boxes in ``extras['boxes']``."""

    BOXES = np.array([[0.0, 0.0, 60.0, 60.0], [30.0, 30.0, 95.0, 95.0]])

    def __init__(self, model) -> None:
        self.model, self.calls = model, 0

    def predict(self, images, boxes=None, **ctx):
        assert boxes is None  # one pass: the runner does not detect first
        self.calls += 1
        out = self.model.predict(images, boxes=[self.BOXES] * len(images), sides=[[0, 1]] * len(images))
        out.extras["boxes"] = torch.as_tensor(np.stack([self.BOXES] * len(images)))
        return out

    def detect(self, images):  # pragma: no cover - the runner predicts in one call instead
        raise AssertionError("detect() should not be called")


def test_multi_hand_method_predicts_in_one_call(folder, tmp_path, model) -> None:
    finder = _TwoHandFinder(model)
    summary = predict(finder, [str(folder)], tmp_path / "o", save_mesh="obj", batch_size=8)
    assert finder.calls == 1 and summary["hands"] == 6 and summary["detector"] == "_TwoHandFinder"
    rec = json.loads((tmp_path / "o" / "img0.json").read_text())
    assert rec["boxes"] == _TwoHandFinder.BOXES.tolist()
    assert [h["side"] for h in rec["hands"]] == ["right", "left"]
    assert (tmp_path / "o" / "img0_hand1_left.obj").is_file()


def test_smhr_texture_becomes_glb_vertex_colours(tmp_path, synth_images) -> None:
    """SMHR on a MANO-format stand-in (778 vertices, so its texture head fits): coloured meshes."""
    from handzoo_smhr.model import SMHR

    from handzoo.testing.mano import write_mano_standin

    torch.manual_seed(0)
    mano = write_mano_standin(tmp_path / "mano")
    model = SMHR(
        heads=["hm", "params", "texture", "light"], hand_model="mano", mano_dir=mano, max_hands=1, input_size=128
    ).eval()
    model.score_threshold = 0.0  # random weights: take the best centre whatever its score
    d = tmp_path / "in"
    d.mkdir()
    cv2.imwrite(str(d / "a.png"), np.ascontiguousarray(synth_images[0][:, :, ::-1]))
    summary = predict(model, [str(d)], tmp_path / "o", save_mesh="glb", overlays=False)
    assert summary["hands"] == 1 and summary["detector"] == "SMHR"
    (path,) = summary["outputs"][0]["meshes"]
    hand = json.loads((tmp_path / "o" / "a.json").read_text())["hands"][0]
    m = _load_mesh(Path(path))
    assert m.visual.kind == "vertex" and len(m.vertices) == 778
    want = np.round(np.clip(np.asarray(hand["extras"]["vertex_colors"]), 0, 1) * 255).astype(np.uint8)
    np.testing.assert_array_equal(m.visual.vertex_colors[:, :3], want)
