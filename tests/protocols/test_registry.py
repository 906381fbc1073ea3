"""The protocol registry and each protocol's statement."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from handzoo.errors import ConfigError, InputError
from handzoo.protocols import PROTOCOL_ALIASES, get_protocol, list_protocols, register_protocol
from handzoo.protocols.base import Protocol

EXPECTED = [
    "freihand",
    "ho3d-v2",
    "ho3d-v3",
    "dexycb",
    "dexycb-handoccnet",
    "dexycb-h2onet",
    "interhand",
    "stb-3dhand",
    "dexter-object-3dhand",
    "egodexter-3dhand",
    "rhd",
]


def test_names_aliases_and_unknown() -> None:
    assert list_protocols() == EXPECTED
    for alias, target in PROTOCOL_ALIASES.items():
        assert get_protocol(alias) is get_protocol(target)
    assert get_protocol("FreiHAND").name == "freihand"
    with pytest.raises(ConfigError, match="known protocols"):
        get_protocol("coco")


@pytest.mark.parametrize("name", EXPECTED)
def test_statement_is_complete(name: str) -> None:
    p = get_protocol(name)
    assert isinstance(p, Protocol) and p.name == name
    d = p.describe()
    for key in ("title", "dataset", "reference", "units", "joint_order", "frame", "submission", "ground_truth"):
        assert d[key], (name, key)
    assert d["alignments"] and d["quirks"] and d["headline"]
    assert d["frame"] in ("opencv", "opengl")
    assert repr(p).startswith("<Protocol")


def test_official_sizes_and_frames() -> None:
    assert get_protocol("freihand").official_size == 3960
    assert get_protocol("ho3d-v2").official_size == 11524
    assert get_protocol("ho3d-v3").official_size == 20137
    assert get_protocol("ho3d-v3").frame == "opengl" and get_protocol("ho3d-v3").joint_order == "ho3d"
    assert get_protocol("dexycb").pck.unit == "mm" and get_protocol("dexycb").pck.stop == 50.0


def test_register_protocol() -> None:
    with pytest.raises(ConfigError):
        register_protocol("freihand", "handzoo.protocols.freihand:FreiHANDProtocol")
    with pytest.raises(ConfigError):
        register_protocol("x", "no-colon")
    register_protocol("freihand-copy", "handzoo.protocols.freihand:FreiHANDProtocol")
    try:
        assert get_protocol("freihand-copy").name == "freihand"
    finally:
        from handzoo import protocols

        protocols._REGISTRY.pop("freihand-copy")
        protocols._INSTANCES.pop("freihand-copy", None)


def test_listing_does_not_import_torch() -> None:
    code = "import sys, handzoo.protocols as p; p.list_protocols(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", ["freihand", "dexycb", "dexycb-handoccnet", "dexycb-h2onet", "interhand"])
def test_tensor_path_rejects_bad_rows(name: str) -> None:
    p = get_protocol(name)
    gt = np.zeros((4, 21, 3))
    with pytest.raises(InputError):
        p.evaluate(pred_joints=np.zeros((3, 21, 3)), gt_joints=gt)
    with pytest.raises(InputError):
        p.evaluate(pred_joints=np.zeros((4, 20, 3)), gt_joints=gt)
    bad = np.zeros((4, 21, 3))
    bad[2, 5, 1] = np.inf
    with pytest.raises(InputError, match="sample 2"):
        p.evaluate(pred_joints=bad, gt_joints=gt)


def test_ignored_validity_is_noted() -> None:
    rng = np.random.default_rng(0)
    gt = rng.normal(size=(3, 21, 3))
    valid = np.ones((3, 21), dtype=bool)
    valid[0, 3] = False
    for name in ("freihand", "dexycb", "dexycb-handoccnet"):
        res = get_protocol(name).evaluate(pred_joints=gt + 0.01, gt_joints=gt, joints_valid=valid)
        assert any("joints_valid" in n for n in res.notes), name


def test_freihand_without_vertices(fh_inputs) -> None:
    d = fh_inputs
    res = get_protocol("freihand").evaluate(pred_joints=d["pred_xyz_noise"], gt_joints=d["gt_xyz"])
    assert np.isnan(res.scores["mesh_al_mean3d"]) and np.isnan(res.scores["f_al_score_5"])
    assert any("no vertices" in n for n in res.notes)
    assert res.to_dict()["scores"]["f_al_score_5"] is None
    assert "mesh_al_mean3d: nan" in res.scores_txt()


def test_progress_sinks() -> None:
    import io

    from rich.console import Console
    from rich.progress import Progress

    from handzoo.protocols._progress import NULL_PROGRESS, _RichProgress, rich_progress

    NULL_PROGRESS.task("x", 3)(2)
    with Progress(console=Console(file=io.StringIO())) as p:
        sink = _RichProgress(p)
        sink.task("read")
        adv = sink.task("F-scores", 4)
        adv(4)
        assert [t.completed for t in p.tasks] == [1, 4]
    with rich_progress(True) as sink:  # not a terminal under pytest: silent
        assert sink is NULL_PROGRESS
