"""Mixed precision and EMA through the trainer's config path, on the CPU.

CUDA fp16 AMP (mmengine's ``AmpOptimWrapper``) cannot run without a GPU; ``amp='bf16'`` takes the
same config path on the CPU with bfloat16 autocast (:class:`handzoo.train.amp.CpuAmpOptimWrapper`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from handzoo.errors import ConfigError
from handzoo.train.config import load_config
from handzoo.train.hooks import read_loss_curve
from handzoo.train.runner import build_runner


def _overrides(shards: Path, amp: object, ema: float | None) -> dict:
    return {
        "max_iters": 4,
        "train_data.source": {"type": "shards", "roots": [str(shards)], "limit": 2},
        "train_data.batch_size": 2,
        "train_data.num_workers": 0,
        "train_data.transform.input_size": 64,
        "train_data.transform.augment": False,
        "train_data.shuffle": False,
        "model.kwargs": {
            "backbone": {"type": "TimmBackbone", "name": "resnet10t", "out_indices": [4]},
            "input_size": 64,
        },
        "val_data": None,
        "param_scheduler": None,
        "optim_wrapper.optimizer.lr": 1e-3,
        "amp": amp,
        "ema": {"momentum": ema} if ema else None,
        "checkpoint_interval": 4,
        "log_interval": 1,
    }


@pytest.mark.slow
def test_bf16_autocast_and_ema_train_on_cpu(tiny_shards: Path, tmp_path: Path) -> None:
    from handzoo.train.amp import CpuAmpOptimWrapper
    from handzoo.train.export import method_state_from_checkpoint

    cfg = load_config("compact-openhand", _overrides(tiny_shards, "bf16", 0.5))
    runner = build_runner(cfg, tmp_path / "w")
    dtypes: list[torch.dtype] = []
    runner.model.method.backbone.register_forward_hook(lambda m, i, o: dtypes.append(o[-1].dtype))
    runner.train()
    assert isinstance(runner.optim_wrapper, CpuAmpOptimWrapper)
    assert dtypes and all(d == torch.bfloat16 for d in dtypes)  # the forward ran under autocast
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())  # weights stay fp32
    rows = read_loss_curve(tmp_path / "w")
    losses = [r["loss"] for r in rows]
    assert len(losses) == 4 and all(torch.isfinite(torch.tensor(losses)))
    assert losses[-1] < losses[0], losses
    # EMA: the checkpoint holds the averaged weights and the raw ones, and they differ
    ckpt = tmp_path / "w" / "iter_4.pth"
    ema = method_state_from_checkpoint(ckpt, ema=True)
    raw = method_state_from_checkpoint(ckpt, ema=False)
    assert ema.keys() == raw.keys()
    assert any(not torch.equal(ema[k], raw[k]) for k in ema if ema[k].is_floating_point())


def test_fp16_amp_without_cuda_says_what_to_do(tiny_shards: Path, tmp_path: Path) -> None:
    if torch.cuda.is_available():  # the CUDA path builds mmengine's AmpOptimWrapper instead
        cfg = load_config("compact-openhand", _overrides(tiny_shards, "fp16", None))
        assert build_runner(cfg, tmp_path / "w").optim_wrapper.cast_dtype == torch.float16
        return
    cfg = load_config("compact-openhand", _overrides(tiny_shards, "fp16", None))
    with pytest.raises(ConfigError, match="needs CUDA") as info:
        build_runner(cfg, tmp_path / "w")
    assert "bf16" in (info.value.hint or "")
    with pytest.raises(ConfigError, match="unknown amp"):
        build_runner(load_config("compact-openhand", _overrides(tiny_shards, "fp8", None)), tmp_path / "w2")
