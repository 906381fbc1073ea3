"""Hand4Whole's heads at float32 CPU inference (pre-packed oneDNN 1x1 convolutions, RotationNet's
BatchNorm folded and ReLU fused) give the plain layers' numbers to float32 rounding."""

from __future__ import annotations

import torch
from handzoo_hand4whole.heads import PositionHead, RotationHead

from handzoo.backbones.fusion import mkldnn_available


def test_fused_heads_equal_the_plain_layers():
    torch.manual_seed(0)
    pos = PositionHead(in_channels=32, num_joints=21, heatmap_shape=(8, 8, 8)).eval()
    rot = RotationHead(in_channels=32, mid_channels=16).eval()
    with torch.no_grad():
        rot.joint_bn.running_mean.uniform_(-0.5, 0.5)
        rot.joint_bn.running_var.uniform_(0.5, 2.0)
    feat = torch.randn(2, 32, 8, 8).contiguous(memory_format=torch.channels_last)
    with torch.no_grad(), torch.enable_grad():  # autograd on: the plain layers
        ref_pos = pos([feat])["joint_img"].detach()
        ref_rot = {k: v.detach() for k, v in rot([feat], joint_img=ref_pos).items()}
    with torch.inference_mode():
        got_pos = pos([feat])["joint_img"]
        got_rot = rot([feat], joint_img=ref_pos)
    assert (pos._plan.get("key") is not None) == (rot._plan.get("key") is not None) == mkldnn_available()
    torch.testing.assert_close(got_pos, ref_pos, rtol=1e-5, atol=1e-5)
    for k, v in ref_rot.items():
        torch.testing.assert_close(got_rot[k], v, rtol=1e-5, atol=1e-5)
