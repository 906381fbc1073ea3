"""The catalogue: one spelling rule, dataset specs owned by the loaders, typed result keys."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import handzoo.datasets  # noqa: F401  (the loaders declare their dataset specs)
from handzoo.catalogue import (
    DATASET_NAMES,
    PROTOCOL_IDS,
    PROTOCOL_NAMES,
    NameTable,
    dataset_spec,
    dataset_specs,
    result_key,
    spelling_key,
)
from handzoo.datasets import DATASET_CLASSES, load_dataset
from handzoo.errors import ConfigError, DatasetNotFoundError
from handzoo.protocols import get_protocol


@pytest.mark.parametrize("spelling", ["ho3d-v2", "ho3d_v2", "HO3D-v2", "ho3dv2", "HO-3D_v2"])
def test_old_spellings_of_ho3d_v2_are_one_dataset(spelling: str) -> None:
    assert DATASET_NAMES.canonical(spelling) == "ho3d-v2"
    assert dataset_spec(spelling).options == {"version": "v2"}


def test_synonyms_and_unknown_names() -> None:
    assert DATASET_NAMES.canonical("InterHand2.6M") == DATASET_NAMES.canonical("interhand") == "interhand26m"
    assert DATASET_NAMES.canonical("dexycb_handoccnet") == "dexycb-handoccnet"
    assert DATASET_NAMES.canonical("my_plugin_set") == "my_plugin_set"  # undeclared: unchanged
    assert PROTOCOL_NAMES.canonical("interhand2.6m") == "interhand"
    assert spelling_key("F@5mm") == "f@5"


def test_protocols_follow_the_same_rule() -> None:
    from handzoo.protocols import list_protocols

    for name in list_protocols():
        assert get_protocol(name.upper().replace("-", "_")) is get_protocol(name)
    assert get_protocol("dexycb_handoccnet") is get_protocol("dexycb-handoccnet")


def test_every_built_in_protocol_has_a_catalogue_id() -> None:
    from handzoo.protocols import list_protocols

    assert set(list_protocols()) <= set(PROTOCOL_IDS)


def test_a_spelling_cannot_mean_two_things() -> None:
    table = NameTable("thing")
    table.add("ho3d-v2")
    table.add("ho3d-v2", ["ho3d"])  # the same declaration again is fine
    with pytest.raises(ConfigError, match="already means"):
        table.add("ho3dv2-other", ["HO3D_v2"])


def test_every_spec_names_its_loader_and_folders() -> None:
    specs = dataset_specs()
    assert {"synthetic", "freihand", "ho3d-v2", "ho3d-v3", "dexycb", "dexycb-handoccnet", "interhand26m", "rhd"} <= set(
        specs
    )
    for name, spec in specs.items():
        assert spec.loader_name in DATASET_CLASSES, name
        assert DATASET_NAMES.canonical(name) == name and spec.folder_names, name
        if spec.split is not None:
            assert spec.split in spec.splits, name


def test_load_dataset_takes_any_spelling(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANDZOO_DATA", raising=False)
    # the v2 spec fixes version=v2: the error names HO-3D v2 and the folder given
    with pytest.raises(DatasetNotFoundError, match=r"HO-3D v2 root folder not found: .*nowhere"):
        load_dataset("HO3D_v2", root=tmp_path / "nowhere")
    assert len(load_dataset("Synthetic", n=2)) == 2


def test_loaders_look_under_their_spec_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANDZOO_DATA", str(tmp_path))
    (tmp_path / "HO3D_v2").mkdir()
    spec = dataset_spec("ho3d_v2")
    found, _ = spec.find_root()
    assert found == tmp_path / "HO3D_v2"
    # the loader uses the same lookup: it finds the folder and then reports what is missing in it
    with pytest.raises(DatasetNotFoundError, match=str(tmp_path / "HO3D_v2")):
        load_dataset("ho3d-v2")


def test_result_keys_are_canonical() -> None:
    k = result_key("DexYCB", "test", "dexycb_handoccnet", "PA-MPJPE", subset="s0")
    assert (k.dataset, k.split, k.protocol, k.metric) == ("dexycb", "s0_test", "dexycb-handoccnet", "pa_mpjpe")
    # HandOccNet's files are DexYCB: papers report them as dexycb
    assert result_key("dexycb-handoccnet", "s0_test", "dexycb-handoccnet", "pa_mpjpe") == k
    k = result_key("interhand2.6m", "test", "interhand2.6m", "mpjpe", subset="single")
    assert (k.dataset, k.protocol, k.metric) == ("interhand26m", "interhand", "mpjpesingle")
    assert result_key("interhand", "test", "interhand", "mpjpe_single") == k
    assert result_key("interhand26m", "test", "interhand", "mpjpe_all").metric == "mpjpe"
    assert result_key("FreiHAND", "test", "freihand", "f@5mm").split == "evaluation"
    assert result_key("ho3d_v2", None, None, "mpjpe").dataset != result_key("ho3d-v3", None, None, "mpjpe").dataset


def test_catalogue_imports_nothing_above_errors() -> None:
    code = (
        "import sys, json; import handzoo.catalogue; "
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith('handzoo') or m in ('torch', 'numpy'))))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    loaded = json.loads(res.stdout)
    allowed = {"handzoo", "handzoo._lazy", "handzoo._version", "handzoo.errors"}
    assert [m for m in loaded if m not in allowed and not m.startswith("handzoo.catalogue")] == []


def test_loaders_take_splits_from_their_spec() -> None:
    spec = dataset_spec("freihand")
    assert spec.official_split("test") == spec.official_split("Evaluation") == "evaluation"
    with pytest.raises(ConfigError, match="unknown FreiHAND split 'bench'"):
        load_dataset("freihand", split="bench")
    with pytest.raises(ConfigError, match="unknown HO-3D v2 split"):
        load_dataset("ho3d-v2", split="val")


def test_hand_models_in_the_catalogue() -> None:
    from handzoo.catalogue import hand_model_spec
    from handzoo.handmodels.mano_reader import MANO_ENV, MANO_URL

    mano = hand_model_spec("MANO")
    assert mano.user_files and (mano.url, mano.env_var) == (MANO_URL, MANO_ENV)
    assert not hand_model_spec("openhand").user_files
    assert hand_model_spec(None) is None and hand_model_spec("smpl") is None
