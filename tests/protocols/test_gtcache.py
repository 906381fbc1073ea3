"""The ground-truth cache: a hit returns the parsed array, any change of the file is a miss."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from handzoo.protocols import _gtcache
from handzoo.protocols.io import read_fh_ground_truth


def _write_gt(d: Path, seed: int, n: int = 5) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    xyz, verts = rng.normal(size=(n, 21, 3)), rng.normal(size=(n, 30, 3))
    (d / "evaluation_xyz.json").write_text(json.dumps(xyz.tolist()))
    (d / "evaluation_verts.json").write_text(json.dumps(verts.tolist()))
    return xyz, verts


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv(_gtcache.SCORE_CACHE_ENV, str(root))
    return root


def test_second_read_comes_from_the_cache(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    xyz, verts = _write_gt(tmp_path, 0)
    gx, gv = read_fh_ground_truth(tmp_path)
    assert np.array_equal(gx, xyz) and np.array_equal(gv, verts)
    assert len(list(cache.glob("*.npy"))) == 2
    calls = []
    real = _gtcache._store
    monkeypatch.setattr(_gtcache, "_store", lambda *a: calls.append(a) or real(*a))
    gx2, gv2 = read_fh_ground_truth(tmp_path)
    assert np.array_equal(gx2, xyz) and np.array_equal(gv2, verts) and not calls  # no parse, no store


def test_a_changed_file_is_read_again_and_replaces_its_entry(tmp_path: Path, cache: Path) -> None:
    _write_gt(tmp_path, 0)
    read_fh_ground_truth(tmp_path)
    xyz, verts = _write_gt(tmp_path, 1)  # same sizes of arrays, new numbers, written at once
    gx, gv = read_fh_ground_truth(tmp_path)
    assert np.array_equal(gx, xyz) and np.array_equal(gv, verts)
    assert len(list(cache.glob("*.npy"))) == 2  # the old states were removed


def test_same_size_same_time_different_content_is_a_miss(tmp_path: Path, cache: Path) -> None:
    """A rewrite within one timestamp tick (same size, same mtime) is caught by the content CRC."""
    import os

    f = tmp_path / "a.json"
    f.write_text("[1.5, 2.5]")
    st = f.stat()
    assert _gtcache.cached_array(f, "t", lambda: np.array([1.5, 2.5])).tolist() == [1.5, 2.5]
    f.write_text("[3.5, 4.5]")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert _gtcache.cached_array(f, "t", lambda: np.array([3.5, 4.5])).tolist() == [3.5, 4.5]


def test_corrupt_entries_are_ignored_and_the_cache_can_be_turned_off(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    xyz, _ = _write_gt(tmp_path, 2)
    read_fh_ground_truth(tmp_path)
    for entry in cache.glob("*.npy"):
        entry.write_bytes(entry.read_bytes()[:40])  # truncated
    gx, _ = read_fh_ground_truth(tmp_path)
    assert np.array_equal(gx, xyz)
    monkeypatch.setenv(_gtcache.SCORE_CACHE_ENV, "off")
    assert _gtcache.score_cache_dir() is None
    gx, _ = read_fh_ground_truth(tmp_path)
    assert np.array_equal(gx, xyz)


def test_unwritable_cache_folder_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(_gtcache.SCORE_CACHE_ENV, str(blocker / "sub"))
    xyz, _ = _write_gt(tmp_path, 3)
    gx, _ = read_fh_ground_truth(tmp_path)
    assert np.array_equal(gx, xyz)


def test_dexycb_ground_truth_txt_is_cached_with_exact_ids(tmp_path: Path, cache: Path) -> None:
    from handzoo.protocols.dexycb import _read_gt_txt

    rng = np.random.default_rng(4)
    joints = rng.normal(scale=100, size=(4, 21, 3))
    for ids, cached in (([7, 3, 2**40, 5], True), ([1, 2**60 + 1, 3, 4], False)):
        f = tmp_path / f"gt{cached}.txt"
        f.write_text(
            "".join(f"{i}," + ",".join(repr(float(x)) for x in j.reshape(-1)) + "\n" for i, j in zip(ids, joints))
        )
        for _ in range(2):  # parsed, then (when the ids fit a float64) from the cache
            got_ids, got = _read_gt_txt(f)
            assert got_ids.tolist() == ids and np.array_equal(got, joints)
    assert len(list(cache.glob("*.npy"))) == 1


def test_a_hit_is_a_private_copy_of_the_entry(tmp_path: Path, cache: Path) -> None:
    """Hits are mapped copy-on-write: writing into one changes neither the entry nor the next hit."""
    f = tmp_path / "a.json"
    f.write_text("[1.5, 2.5]")
    _gtcache.cached_array(f, "t", lambda: np.array([1.5, 2.5]))
    hit = _gtcache.cached_array(f, "t", lambda: pytest.fail("parsed again"))
    assert type(hit) is np.ndarray and hit.flags.writeable
    hit[:] = -1.0
    again = _gtcache.cached_array(f, "t", lambda: pytest.fail("parsed again"))
    assert again.tolist() == [1.5, 2.5]
    (entry,) = cache.glob("*.npy")
    assert np.load(entry).tolist() == [1.5, 2.5]


def test_large_entries_are_written_on_a_thread(tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Above _BACKGROUND_BYTES the entry is written on a thread: the array is read-only meanwhile,
    the next lookup waits for it, and scoring never writes into the ground truth."""
    from protocol_golden import write_fh_files, write_joint_txt

    from handzoo.protocols import get_protocol

    monkeypatch.setattr(_gtcache, "_BACKGROUND_BYTES", 0)
    xyz, verts = _write_gt(tmp_path, 3)
    gx, gv = read_fh_ground_truth(tmp_path)
    assert not gx.flags.writeable and not gv.flags.writeable
    gx2, gv2 = read_fh_ground_truth(tmp_path)  # waits for the entries, then maps them
    assert np.array_equal(gx2, xyz) and np.array_equal(gv2, verts) and gv2.flags.writeable
    _gtcache.wait_for_stores()
    assert len(list(cache.glob("*.npy"))) == 2 and not _gtcache._PENDING
    rng = np.random.default_rng(4)
    d = tmp_path / "score"
    d.mkdir()
    pred = write_fh_files(d, xyz, verts, xyz + rng.normal(0, 0.01, xyz.shape), verts + rng.normal(0, 0.01, verts.shape))
    for name in ("freihand", "dexycb-h2onet"):
        for f in cache.glob("*.npy"):
            f.unlink()
        first = get_protocol(name).score_files(d, pred).scores  # cold: read-only ground truth
        _gtcache.wait_for_stores()
        assert _same_scores(get_protocol(name).score_files(d, pred).scores, first)  # warm: from the entries
    ids = np.arange(5) * 7 + 3
    write_joint_txt(d / "joint_3d.txt", ids, xyz * 1000, extra=False)
    res = write_joint_txt(d / "results.txt", ids, xyz * 1000 + 1.0)
    first = get_protocol("dexycb-handoccnet").score_files(d, res).scores
    _gtcache.wait_for_stores()
    assert _same_scores(get_protocol("dexycb-handoccnet").score_files(d, res).scores, first)


def _same_scores(a: dict[str, float], b: dict[str, float]) -> bool:
    return a.keys() == b.keys() and all(a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]) for k in a)


def test_large_files_are_parsed_in_a_child_process(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child parses the file and writes the entry; the caller maps it (nothing parsed here)."""
    import os

    monkeypatch.setattr(_gtcache, "_CHILD_BYTES", 0)
    xyz, verts = _write_gt(tmp_path, 5)
    forks = []
    real_fork = os.fork
    monkeypatch.setattr(os, "fork", lambda: forks.append(1) or real_fork())
    if not _gtcache._may_fork(tmp_path / "evaluation_verts.json"):
        pytest.fail("this test needs Linux (fork)")
    gx, gv = read_fh_ground_truth(tmp_path)
    assert len(forks) == 2 and np.array_equal(gx, xyz) and np.array_equal(gv, verts)
    assert gv.flags.writeable  # a mapped entry, copy-on-write
    assert len(list(cache.glob("*.npy"))) == 2


def test_a_file_the_child_declines_is_parsed_and_reported_here(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NaN in the ground truth: the child writes nothing, the caller's own parse names the sample."""
    from handzoo.errors import AnnotationError

    monkeypatch.setattr(_gtcache, "_CHILD_BYTES", 0)
    _write_gt(tmp_path, 6)
    bad = json.loads((tmp_path / "evaluation_verts.json").read_text())
    bad[3][2][1] = float("nan")
    (tmp_path / "evaluation_verts.json").write_text(json.dumps(bad))
    with pytest.raises(AnnotationError, match="sample 3"):
        read_fh_ground_truth(tmp_path)
    assert len(list(cache.glob("*.npy"))) == 1  # the joints only


def test_a_stuck_child_is_killed_and_the_file_parsed_here(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A child that never finishes (e.g. a lock held at fork time) costs the timeout, not a hang."""
    import time

    monkeypatch.setattr(_gtcache, "_CHILD_BYTES", 0)
    monkeypatch.setattr(_gtcache, "_CHILD_TIMEOUT_S", 0.3)
    gt = tmp_path / "gt.bin"
    gt.write_bytes(b"x" * 64)
    expected = np.arange(6, dtype=np.float64).reshape(2, 3)

    def stuck() -> np.ndarray:
        time.sleep(3600)  # only ever runs in the child
        return expected

    start = time.monotonic()
    got = _gtcache.cached_array(gt, "stuck", lambda: expected.copy(), child_parse=stuck)
    assert time.monotonic() - start < 30
    assert np.array_equal(got, expected)
    assert np.array_equal(
        _gtcache.cached_array(gt, "stuck", lambda: pytest.fail("cached"), child_parse=stuck), expected
    )
