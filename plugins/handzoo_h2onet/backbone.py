"""H2ONet's image encoder: MobRecon's DenseStack with a second stack and an orientation stack.

128x128 RGB in; out: a 256-channel latent (4x4), two 1024-channel 4x4 maps (the joint stack's and
the orientation stack's deepest features) and 21 2D joints normalised to [0, 1] in the crop.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from handzoo.backbones.fusion import module_weights_key

from .fast import PlanCache

__all__ = [
    "conv_bn",
    "linear_bn",
    "MobileUnit",
    "DenseBlock",
    "SEBlock",
    "DenseStack",
    "DenseStackBackbone",
    "space_to_depth",
    "space_to_depth_nhwc",
    "s2d_nhwc_channel_order",
]


def conv_bn(
    cin: int, cout: int, k: int = 1, stride: int = 1, pad: int = 0, groups: int = 1, bn: bool = True, act: bool = True
) -> nn.Sequential:
    """Conv2d (no bias) [+ BatchNorm2d] [+ ReLU]."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False)]
    if bn:
        layers.append(nn.BatchNorm2d(cout))
    if act:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def linear_bn(cin: int, cout: int, bn: bool = True, act: bool = True) -> nn.Sequential:
    """Linear (no bias) [+ BatchNorm1d] [+ Hardtanh(0, 4)]."""
    layers: list[nn.Module] = [nn.Linear(cin, cout, bias=False)]
    if bn:
        layers.append(nn.BatchNorm1d(cout))
    if act:
        layers.append(nn.Hardtanh(0, 4))
    return nn.Sequential(*layers)


class MobileUnit(nn.Module):
    """Depthwise 3x3 conv(s) then pointwise 1x1 conv, residual when the widths match."""

    def __init__(self, cin: int, cout: int, num_depthwise: int = 1) -> None:
        super().__init__()
        self.depthwise = nn.Sequential(*(conv_bn(cin, cin, 3, 1, 1, groups=cin) for _ in range(num_depthwise)))
        self.pointwise = conv_bn(cin, cout)
        self.residual = cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.pointwise(self.depthwise(x))
        return out + x if self.residual else out


class DenseBlock(nn.Module):
    """Densely connected mobile units: unit ``i`` sees the input and all previous outputs.

    Args:
        cin: input channels.
        growths: output channels of each unit.
        keep_input: return ``[input, outputs...]`` concatenated (True) or only the outputs.
    """

    def __init__(self, cin: int, growths: tuple[int, ...], keep_input: bool = True) -> None:
        super().__init__()
        width = cin
        for i, g in enumerate(growths, 1):
            self.add_module(f"conv{i}", MobileUnit(width, g))
            width += g
        self.num = len(growths)
        self.keep_input = keep_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats, outs = x, []
        for i in range(1, self.num + 1):
            out = getattr(self, f"conv{i}")(feats)
            outs.append(out)
            feats = torch.cat((feats, out), dim=1)
        return feats if self.keep_input else torch.cat(outs, dim=1)


class SEBlock(nn.Module):
    """Squeeze-and-excitation gate with BN-Hardtanh fully connected layers."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        mid = min(channels // 2, 256)
        self.fc1 = linear_bn(channels, mid)
        self.fc2 = linear_bn(mid, channels, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.sigmoid(self.fc2(self.fc1(x.mean((2, 3)))))
        return x * gate[:, :, None, None]


class DenseStack(nn.Module):
    """Encoder-decoder of dense blocks at 1/2, 1/4, 1/8 resolution.

    Args:
        c: input channels.
        cout: output channels of the decoder path.
        kind: ``'full'`` (MobRecon's stack: no deepest blocks, final bilinear x2 up-sampling),
            ``'deep'`` (two extra blocks at 1/8, returns the decoder output and the deepest map) or
            ``'encoder'`` (only the encoder path, returns the deepest map).
    """

    def __init__(self, c: int, cout: int = 24, kind: str = "full") -> None:
        super().__init__()
        self.kind = kind
        self.dense1 = DenseBlock(c, (c // 2, c // 2))
        self.senet1 = SEBlock(2 * c)
        self.dense2 = DenseBlock(2 * c, (c // 2,) * 4)
        self.senet2 = SEBlock(4 * c)
        self.dense3 = DenseBlock(4 * c, (c,) * 4)
        self.senet3 = SEBlock(8 * c)  # present (and in the weights) but unused by the 'full' stack
        if kind != "full":
            self.dense4 = DenseBlock(8 * c, (6 * c, 2 * c), keep_input=False)
            self.dense5 = DenseBlock(8 * c, (6 * c, 2 * c), keep_input=False)
        if kind != "encoder":
            self.squeeze1 = nn.Sequential(MobileUnit(8 * c, 4 * c), MobileUnit(4 * c, 4 * c, 2))
            self.senet4 = SEBlock(4 * c)
            self.squeeze2 = nn.Sequential(MobileUnit(4 * c, 2 * c), MobileUnit(2 * c, 2 * c, 2))
            self.senet5 = SEBlock(2 * c)
            self.squeeze3 = nn.Sequential(MobileUnit(2 * c, 2 * c), MobileUnit(2 * c, cout, 2))
            self.senet6 = SEBlock(cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | torch.Tensor:
        pool = nn.functional.avg_pool2d
        d1 = pool(self.senet1(self.dense1(x)), 2)
        d2 = pool(self.senet2(self.dense2(d1)), 2)
        d3 = self.dense3(d2)
        if self.kind == "full":
            deep = pool(d3, 2)
        else:
            deep = self.dense5(self.dense4(pool(self.senet3(d3), 2)))
        if self.kind == "encoder":
            return deep
        up = nn.functional.interpolate
        u1 = up(self.senet4(self.squeeze1(deep)), scale_factor=2, mode="nearest")
        u2 = up(self.senet5(self.squeeze2(d2 + u1)), scale_factor=2, mode="nearest")
        u3 = self.senet6(self.squeeze3(d1 + u2))
        if self.kind == "full":
            return up(u3, scale_factor=2, mode="bilinear", align_corners=True)
        return u3, deep


@functools.cache
def _mkldnn() -> bool:
    from .fast import mkldnn_available

    return mkldnn_available()


def space_to_depth(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, 4C, H/2, W/2), channel ``4c + 2dy + dx`` (the authors' Reorg)."""
    return nn.functional.pixel_unshuffle(x, 2)  # the same channel order, one kernel (channels-last too)


def space_to_depth_nhwc(x: torch.Tensor) -> torch.Tensor:
    """:func:`space_to_depth` with channel ``(2dy + dx) C + c`` instead, written channels-last.

    On a channels-last input this moves whole C-long pixel vectors (~4x cheaper than
    ``pixel_unshuffle``'s per-channel gather); the CPU plan permutes the next convolution's input
    channels to match (:func:`s2d_nhwc_channel_order`), so the composition is the same function.
    """
    b, c, h, w = x.shape
    y = x.permute(0, 2, 3, 1).reshape(b, h // 2, 2, w // 2, 2, c).permute(0, 1, 3, 2, 4, 5)
    return y.reshape(b, h // 2, w // 2, 4 * c).permute(0, 3, 1, 2)


def s2d_nhwc_channel_order(c: int) -> torch.Tensor:
    """For each channel of :func:`space_to_depth_nhwc`'s output, its channel in :func:`space_to_depth`'s."""
    return torch.tensor([4 * k + q for q in range(4) for k in range(c)], dtype=torch.long)


class DenseStackBackbone(nn.Module):
    """H2ONet's backbone (the authors' ``H2ONet_Backnone``).

    Args:
        c: first-stage channels (128).
        cout: decoder output channels (24).
        latent: latent channels (256).
        num_joints: 2D joints regressed (21).
    """

    def __init__(
        self, c: int = 128, cout: int = 24, latent: int = 256, num_joints: int = 21, fuse_inference: bool = True
    ) -> None:
        super().__init__()
        self.num_joints = num_joints
        self.fuse_inference = fuse_inference
        self.s2d_nhwc = False  # True only in the CPU plan (whose squeeze weights are permuted to match)
        self._plan = PlanCache()  # the fused copy is no registered submodule (nor copied/pickled)
        self.pre_layer = nn.Sequential(conv_bn(3, c // 2, 3, 2, 1), MobileUnit(c // 2, c))
        self.squeeze = conv_bn(4 * c, c)
        self.dense_stack1 = DenseStack(c, cout, "full")
        self.stack1_remap = conv_bn(cout, cout)
        self.squeeze2 = conv_bn(cout + c, c)
        self.dense_stack2 = DenseStack(c, cout, "deep")
        self.dense_stack3 = DenseStack(c, cout, "encoder")
        self.latent_proj = conv_bn(8 * c, latent, bn=False, act=False)
        self.joint_proj = conv_bn(cout, num_joints, bn=False, act=False)
        self.uv_head = nn.Sequential(
            linear_bn(latent, 128, bn=False), linear_bn(128, 64, bn=False), linear_bn(64, 2, bn=False, act=False)
        )

    def _fused(self) -> nn.Module:
        """The CPU inference plan (:mod:`handzoo_h2onet.fast`), rebuilt when a weight changes."""
        from .fast import inference_copy

        key = module_weights_key(self, self._plan)
        if self._plan.get("key") != key:
            plan = inference_copy(self)
            plan.fuse_inference = False
            squeeze = plan.squeeze
            if isinstance(getattr(squeeze, "weight", None), torch.Tensor) and hasattr(squeeze, "_packed"):
                # the plan's space-to-depth writes channels in (dy, dx, c) order: permute to match
                order = s2d_nhwc_channel_order(squeeze.weight.shape[1] // 4)
                with torch.inference_mode(False), torch.no_grad():
                    squeeze.weight = squeeze.weight[:, order].contiguous(memory_format=torch.channels_last)
                squeeze._packed.clear()
                plan.s2d_nhwc = True
            self._plan.update(key=key, module=plan)
        return self._plan["module"]  # type: ignore[return-value]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return ``(latent (B,256,4,4), joint_deep (B,1024,4,4), rot_deep (B,1024,4,4), uv (B,21,2))``.

        In eval mode without autograd, on float32 CPU input, it runs the fused plan of
        :mod:`handzoo_h2onet.fast` (``fuse_inference=False`` turns it off).
        """
        if (
            self.fuse_inference
            and not self.training
            and not torch.is_grad_enabled()
            and x.device.type == "cpu"
            and x.dtype == torch.float32
            and self.squeeze[0].weight.dtype == torch.float32
            and _mkldnn()
        ):
            return self._fused()(x)
        s2d = space_to_depth_nhwc if getattr(self, "s2d_nhwc", False) else space_to_depth
        s = self.squeeze(s2d(self.pre_layer(x)))
        s2 = self.squeeze2(torch.cat((self.stack1_remap(self.dense_stack1(s)), s), dim=1))
        dec, joint_deep = self.dense_stack2(s2)
        latent = self.latent_proj(joint_deep)
        uv = self.uv_head(self.joint_proj(dec).flatten(2))
        rot_deep = self.dense_stack3(s2.detach())
        return latent, joint_deep, rot_deep, uv
