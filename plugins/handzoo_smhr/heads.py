"""SMHR's prediction heads: ``Conv3x3(256 -> 256, bias) - ReLU - Conv1x1(256 -> C)`` per output.

Heads (channels): ``hm`` (1, hand-centre heatmap logits), ``params`` (122 = left block 0:61 and
right block 61:122, each global orient 3 + finger pose 45 axis-angle + betas 10 + translation code
3), ``texture`` (778 x 3 per-vertex albedo offsets), ``light`` (27 spherical-harmonics lighting
coefficients) and ``handmap`` (2, left/right logits, multi-hand model). Which heads exist depends
on how the checkpoint was trained; the module names are the authors' (``hm.0``, ``hm.2``, ...).

Only ``hm`` is needed on the whole map at inference; every other head is read at the detected
centres alone, so :meth:`SMHRHeads.at` evaluates them on the 3x3 neighbourhoods of those cells
(the same numbers as the dense heads there, a small fraction of the work).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.backbones.fusion import PlanCache, weights_key
from handzoo.interfaces import Head

from .winograd import Winograd3x3

__all__ = ["HEAD_CHANNELS", "SMHRHead", "SMHRHeads", "gather_cells"]

HEAD_CHANNELS: dict[str, int] = {"hm": 1, "params": 122, "texture": 778 * 3, "light": 27, "handmap": 2}
# heads whose last bias starts at -4.59 (sigmoid 0.01), as in CenterNet
_PRIOR_BIAS_HEADS = ("hm", "handmap")


class SMHRHead(nn.Sequential):
    """``Conv3x3 - ReLU - Conv1x1`` (modules ``0``, ``1``, ``2`` as the authors' ``nn.Sequential``)."""

    def __init__(
        self, in_channels: int, out_channels: int, mid_channels: int = 256, prior_bias: float | None = None
    ) -> None:
        super().__init__(
            nn.Conv2d(in_channels, mid_channels, kernel_size=3, padding=1, bias=True),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid_channels, out_channels, kernel_size=1),
        )
        if prior_bias is not None:
            nn.init.constant_(self[2].bias, prior_bias)
        else:
            for m in (self[0], self[2]):
                nn.init.normal_(m.weight, std=0.001)
                nn.init.zeros_(m.bias)


def gather_cells(maps: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """Values of ``maps`` (B, C, H, W) at flat cell indices ``ind`` (B, K) -> (B, K, C)."""
    b, c = maps.shape[:2]
    flat = maps.reshape(b, c, -1)
    return flat.gather(2, ind[:, None, :].expand(b, c, ind.shape[1])).transpose(1, 2)


def _patches(feat: torch.Tensor, ind: torch.Tensor) -> torch.Tensor:
    """3x3 zero-padded neighbourhoods of the cells ``ind`` (B, K): (B, K, C * 9), conv weight order."""
    b, c, h, w = feat.shape
    padded = F.pad(feat, (1, 1, 1, 1))
    ys, xs = torch.div(ind, w, rounding_mode="floor"), ind % w
    off = torch.arange(3, device=ind.device)
    rows = (ys[..., None, None] + off[:, None]).expand(b, ind.shape[1], 3, 3)  # (B, K, 3, 3)
    cols = (xs[..., None, None] + off[None, :]).expand(b, ind.shape[1], 3, 3)
    bi = torch.arange(b, device=ind.device).view(b, 1, 1, 1).expand_as(rows)
    p = padded.permute(0, 2, 3, 1)[bi, rows, cols]  # (B, K, 3, 3, C)
    return p.permute(0, 1, 4, 2, 3).reshape(b, ind.shape[1], c * 9)


class SMHRHeads(Head):
    """The heads present in a checkpoint, as attributes named like the authors'.

    Args:
        heads: names of the heads to build (a subset of :data:`HEAD_CHANNELS`), or a mapping of
            name -> channels.
        in_channels: channels of the neck's map (256).
        mid_channels: channels of each head's 3x3 convolution (256).
    """

    def __init__(
        self,
        heads: Sequence[str] | Mapping[str, int] = ("hm", "params"),
        in_channels: int = 256,
        mid_channels: int = 256,
    ) -> None:
        super().__init__()
        spec = dict(heads) if isinstance(heads, Mapping) else {h: HEAD_CHANNELS[h] for h in heads}
        if "hm" not in spec or "params" not in spec:
            raise ValueError(f"SMHR needs the 'hm' and 'params' heads, got {sorted(spec)}")
        self.names = tuple(sorted(spec))
        self.channels = dict(spec)
        for name in self.names:
            prior = -4.59 if name in _PRIOR_BIAS_HEADS else None
            self.add_module(name, SMHRHead(in_channels, spec[name], mid_channels, prior))
        self._plan = PlanCache()  # the hm head as Winograd (float32 CPU); not copied, pickled or saved

    def forward(self, features: list[torch.Tensor] | torch.Tensor, **ctx: object) -> dict[str, torch.Tensor]:
        """Every head on the whole map: ``{name: (B, C, H, W)}`` (training, tests)."""
        feat = features[-1] if isinstance(features, (list, tuple)) else features
        names = ctx.get("names") or self.names
        return {n: getattr(self, n)(feat) for n in names}  # type: ignore[union-attr]

    def hm_winograd(self, feat: torch.Tensor) -> torch.Tensor:
        """The ``hm`` head on a float32 CPU map at inference: its 3x3 convolution as Winograd
        F(2x2, 3x3) (:class:`~handzoo_smhr.winograd.Winograd3x3`), the ReLU and the 1x1 layer on
        each output phase (the 256-channel hidden map is never written whole).

        Args:
            feat: (B, H + 2, W + 2, C) channels-last map with a zero frame.

        Returns:
            (B, 1, H, W) centre logits.
        """
        head = self.hm
        tensors = [*head[0].parameters(), *head[2].parameters()]
        key = weights_key(tensors)
        if self._plan.get("key") != key:
            with torch.inference_mode(False), torch.no_grad():
                w2 = head[2].weight.detach().reshape(head[2].out_channels, -1).t().contiguous()
                plan = {"conv": Winograd3x3(head[0].weight, head[0].bias), "w2": w2, "b2": head[2].bias.detach()}
            self._plan.clear()
            self._plan.update(key=key, **plan)
        n, hp, wp, _ = feat.shape
        out = feat.new_empty(n, head[2].out_channels, hp - 2, wp - 2)
        w2, b2 = self._plan["w2"], self._plan["b2"]

        def phase(idx: int, r0: int, y: torch.Tensor) -> None:
            a, c = divmod(idx, 2)
            rows, cols = y.shape[1], y.shape[2]
            z = torch.addmm(b2, F.relu(y, inplace=True).view(-1, y.shape[-1]), w2)
            out[:, :, a + 2 * r0 : a + 2 * (r0 + rows) : 2, c::2] = z.view(n, rows, cols, -1).permute(0, 3, 1, 2)

        self._plan["conv"](feat, phase_fn=phase)
        return out

    def at(
        self, feat: torch.Tensor | None, ind: torch.Tensor, names: Sequence[str], patches: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """Heads ``names`` evaluated only at the cells ``ind`` (B, K): ``{name: (B, K, C)}``.

        One matrix product for all first layers (the 3x3 convolutions at one cell are dot
        products with its 3x3 neighbourhood), then one per head for the 1x1 layers.

        Args:
            feat: (B, C, H, W) map (unused when ``patches`` is given).
            ind: flat cells.
            names: the heads.
            patches: (B, K, C * 9) the cells' zero-padded 3x3 neighbourhoods, when already made
                (:meth:`handzoo_smhr.neck.CSPNeck.centre_patches`).
        """
        if not names:
            return {}
        b, k = ind.shape
        patch = (_patches(feat, ind) if patches is None else patches).reshape(b * k, -1)
        first_w = torch.cat([getattr(self, n)[0].weight.reshape(getattr(self, n)[0].out_channels, -1) for n in names])
        first_b = torch.cat([getattr(self, n)[0].bias for n in names])
        hidden = F.relu(torch.addmm(first_b, patch, first_w.t()))
        out = {}
        start = 0
        for n in names:
            head = getattr(self, n)
            mid = head[0].out_channels
            last = head[2]
            h = hidden[:, start : start + mid]
            out[n] = torch.addmm(last.bias, h, last.weight.reshape(last.out_channels, mid).t()).reshape(b, k, -1)
            start += mid
        return out
