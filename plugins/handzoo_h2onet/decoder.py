"""H2ONet's mesh decoder and heads: spiral convolutions over a mesh hierarchy, 6D rotation,
occlusion classifier and multi-frame vertex offsets.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from handzoo.backbones.fusion import PackedLinear, PlanCache, mkldnn_available, weights_key

from .assets import MeshHierarchy

__all__ = [
    "SpiralConv",
    "SpiralUpBlock",
    "MeshDecoder",
    "RotationHead",
    "FusedRotationHead",
    "OcclusionHead",
    "OffsetHead",
]


class SpiralConv(nn.Module):
    """Gather each vertex's spiral of neighbours and apply one linear layer to the concatenation."""

    def __init__(self, cin: int, cout: int, spiral: np.ndarray) -> None:
        super().__init__()
        idx = torch.tensor(np.asarray(spiral), dtype=torch.long)
        self.register_buffer("index", idx.reshape(-1), persistent=False)
        self.num_vertices, self.seq_length = int(idx.shape[0]), int(idx.shape[1])
        self.linear = nn.Linear(cin * self.seq_length, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b = x.shape[0]
        return self.linear(x.index_select(1, self.index).reshape(b, self.num_vertices, -1))


def mesh_upsample(x: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(B, V_coarse, C) -> (B, V_fine, C): each fine vertex a weighted sum of K coarse ones."""
    b, c = x.shape[0], x.shape[-1]
    v, k = index.shape
    g = x.index_select(1, index.reshape(-1)).view(b, v, k, c)
    return (g * weight[None, :, :, None]).sum(2)


class SpiralUpBlock(nn.Module):
    """Up-sample to the next finer level, spiral conv, ReLU."""

    def __init__(self, cin: int, cout: int, spiral: np.ndarray) -> None:
        super().__init__()
        self.conv = SpiralConv(cin, cout, spiral)

    def forward(self, x: torch.Tensor, index: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.conv(mesh_upsample(x, index, weight)))


class MeshDecoder(nn.Module):
    """Joint-feature sampling, learned joint-to-coarse-mesh map, four spiral up-sampling blocks.

    Args:
        mesh: the mesh hierarchy (finest level first).
        latent: latent channels (256).
        channels: spiral channels finest-first (32, 64, 128, 256).
        num_joints: 2D joints the features are sampled at (21).
    """

    def __init__(self, mesh: MeshHierarchy, latent: int = 256, channels=(32, 64, 128, 256), num_joints: int = 21):
        super().__init__()
        levels = len(mesh.up)
        if levels != len(channels):
            raise ValueError(f"mesh has {levels} up-sampling steps, decoder needs {len(channels)}")
        self.latent_conv = nn.Sequential(nn.Conv2d(latent, channels[-1], 1, bias=False))
        self.joint_to_mesh = nn.Parameter(torch.full((mesh.num_vertices[-1], num_joints), 0.01))
        self.blocks = nn.ModuleList()
        for i in range(levels):
            lvl = levels - 1 - i  # block i produces level lvl
            cin = channels[-1] if i == 0 else channels[lvl + 1]
            self.blocks.append(SpiralUpBlock(cin, channels[lvl], mesh.spirals[lvl]))
        self.head = SpiralConv(channels[0], 3, mesh.spirals[0])
        for lvl, (idx, w) in enumerate(mesh.up):
            self.register_buffer(f"up_index{lvl}", torch.tensor(idx, dtype=torch.long), persistent=False)
            self.register_buffer(f"up_weight{lvl}", torch.tensor(w, dtype=torch.float32), persistent=False)

    @staticmethod
    def sample_joints(feat: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
        """Bilinear features (B, J, C) at 2D joints ``uv`` in [0, 1] (clamped)."""
        grid = torch.clamp((uv - 0.5) * 2, -1, 1).unsqueeze(2)
        return nn.functional.grid_sample(feat, grid, align_corners=True)[..., 0].transpose(1, 2)

    def joint_features(self, latent: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
        """Project the latent and sample it at the predicted 2D joints: (B, J, C)."""
        return self.sample_joints(self.latent_conv(latent), uv)

    def forward(self, joint_feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Return ``(vertices (B, V, 3), last block features (B, V, channels[0]))``."""
        x = torch.matmul(self.joint_to_mesh, joint_feat)
        n = len(self.blocks)
        for i, block in enumerate(self.blocks):
            lvl = n - 1 - i
            x = block(x, getattr(self, f"up_index{lvl}"), getattr(self, f"up_weight{lvl}"))
        return self.head(x), x


def _mlp_rot(cin: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(cin, 1024),
        nn.ReLU(),
        nn.Linear(1024, 512),
        nn.ReLU(),
        nn.Linear(512, 256),
        nn.ReLU(),
        nn.Linear(256, 6),
    )


class _RotationTrunk(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(nn.Conv1d(1024, 512, 1), nn.ReLU(), nn.Conv1d(512, 256, 1), nn.ReLU())
        self.pre_block = nn.Sequential(nn.Linear(4096, 2048), nn.ReLU(), nn.Linear(2048, 1024), nn.ReLU())
        self._plan = PlanCache()  # packed pre_block for float32 CPU inference (not copied or pickled)

    def _packed_pre_block(self, h: torch.Tensor) -> nn.Module | None:
        """``pre_block`` as pre-packed oneDNN inner products with fused ReLUs, for float32 CPU
        inference on more than one row (the multi-frame model's 3 frames: ~2.5x faster than
        ``addmm``); None otherwise (one row: ``addmm`` is as fast)."""
        lin = self.pre_block[0]
        if (
            self.training
            or torch.is_grad_enabled()
            or h.shape[0] < 2
            or h.dtype != torch.float32
            or h.device.type != "cpu"
            or lin.weight.dtype != torch.float32
            or not mkldnn_available()
        ):
            return None
        key = weights_key(self.pre_block.parameters())
        if self._plan.get("key") != key:
            with torch.inference_mode(False), torch.no_grad():
                plan = nn.Sequential(
                    PackedLinear(self.pre_block[0], relu=True), PackedLinear(self.pre_block[2], relu=True)
                )
            self._plan.update(key=key, module=plan)
        return self._plan["module"]

    def trunk(self, joint_deep: torch.Tensor, rot_deep: torch.Tensor) -> torch.Tensor:
        x = (joint_deep.detach() + rot_deep).flatten(2)
        h = self.conv_block(x).flatten(1)
        packed = self._packed_pre_block(h)
        return packed(h) if packed is not None else self.pre_block(h)


class RotationHead(_RotationTrunk):
    """Single-frame global rotation in 6D (rows convention) from the two deepest maps."""

    def __init__(self) -> None:
        super().__init__()
        self.fc_block = _mlp_rot(1024)

    def forward(self, joint_deep: torch.Tensor, rot_deep: torch.Tensor) -> torch.Tensor:
        return self.fc_block(self.trunk(joint_deep, rot_deep))


class FusedRotationHead(_RotationTrunk):
    """Multi-frame rotation: per-frame 6D plus a 6D correction of frame t from visible frames.

    Frames arrive stacked along the batch (t, t-short, t-long). The correction sees frame t's
    feature and a feature chosen by hand-level visibility (not every finger occluded): frame t's
    if visible, else t-short's, else t-long's, else frame t's again.
    """

    def __init__(self) -> None:
        super().__init__()
        self.fc_block1 = _mlp_rot(1024)
        self.fc_block2 = _mlp_rot(2048)

    def forward(
        self, joint_deep: torch.Tensor, rot_deep: torch.Tensor, occ_logits: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.trunk(joint_deep, rot_deep)
        x0, x1, x2 = torch.chunk(x, 3, dim=0)
        occluded = torch.argmax(occ_logits.detach(), dim=1)[:, :5]
        visible = (1 - torch.prod(occluded, dim=1, keepdim=True)).to(x.dtype)
        v0, v1, v2 = torch.chunk(visible, 3, dim=0)
        fused = v0 * x0 + (1 - v0) * (1 - v1) * (1 - v2) * x0 + (1 - v0) * v1 * x1 + (1 - v0) * (1 - v1) * v2 * x2
        return self.fc_block1(x), self.fc_block2(torch.cat((x0, fused), dim=1))


# Joint slots per finger and for the palm as the authors index the 21 sampled joint features.
_FINGER_JOINTS = (13, 14, 15, 16, 1, 2, 3, 17, 4, 5, 6, 18, 10, 11, 12, 19, 7, 8, 9, 20)
_PALM_JOINTS = (0, 1, 4, 10, 7)


def _cls_head(cin: int, mid: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(cin, mid), nn.BatchNorm1d(mid), nn.ReLU(),
        nn.Linear(mid, mid // 2), nn.BatchNorm1d(mid // 2), nn.ReLU(),
        nn.Linear(mid // 2, 2),
    )  # fmt: skip


class OcclusionHead(nn.Module):
    """Per-finger (5) and hand-level occlusion logits (B, 2, 6) from the sampled joint features.

    Class 0 is "visible", class 1 "occluded"; the order is thumb, index, middle, ring, little,
    global (the authors' labels).
    """

    def __init__(self, channels: int = 256) -> None:
        super().__init__()
        self.joint_encoder = nn.Sequential(
            nn.Conv1d(channels, 128, 1),
            nn.BatchNorm1d(128),
            nn.ReLU(),
            nn.Conv1d(128, 64, 1),
            nn.BatchNorm1d(64),
            nn.ReLU(),
        )
        self.finger_encoder = nn.Sequential(
            nn.Linear(5 * 4 * 64, 512),
            nn.BatchNorm1d(512),
            nn.ReLU(),
            nn.Linear(512, 256),
            nn.BatchNorm1d(256),
            nn.ReLU(),
        )
        self.finger_heads = nn.ModuleList(_cls_head(256, 128) for _ in range(5))
        self.global_head = _cls_head(64 * 5 + 256, 256)
        self.register_buffer("finger_joints", torch.tensor(_FINGER_JOINTS), persistent=False)
        self.register_buffer("palm_joints", torch.tensor(_PALM_JOINTS), persistent=False)

    def forward(self, joint_feat: torch.Tensor) -> torch.Tensor:
        b, _, c = joint_feat.shape
        f = joint_feat.index_select(1, self.finger_joints).view(b * 5, 4, c).transpose(1, 2)
        f = self.finger_encoder(self.joint_encoder(f).reshape(b, -1))
        palm = joint_feat.index_select(1, self.palm_joints).transpose(1, 2)
        palm = self.joint_encoder(palm).reshape(b, -1)
        logits = [head(f) for head in self.finger_heads]
        logits.append(self.global_head(torch.cat((f, palm), dim=1)))
        return torch.stack(logits, dim=-1)


class OffsetHead(nn.Module):
    """Vertex offsets for frame t from features fused over the three frames.

    Each vertex of a finger weights the frames by that finger's visibility probability in them
    (softmax over frames; vertices outside every finger weigh each frame by 1).

    Args:
        channels: per-vertex feature channels (32).
        spiral: finest-level spiral indices.
        finger_vertex_ids: five arrays of vertex ids (thumb, index, middle, ring, little).
    """

    def __init__(self, channels: int, spiral: np.ndarray, finger_vertex_ids: list[np.ndarray]) -> None:
        super().__init__()
        c = channels
        self.block = nn.Sequential(
            SpiralConv(2 * c, 2 * c, spiral), nn.ReLU(), SpiralConv(2 * c, c, spiral), nn.ReLU(),
            SpiralConv(c, c, spiral), nn.ReLU(),
        )  # fmt: skip
        self.head = SpiralConv(c, 3, spiral)
        finger_of = torch.full((len(spiral),), -1, dtype=torch.long)
        for f, ids in enumerate(finger_vertex_ids):  # later fingers win on overlaps, as the authors' loop
            finger_of[torch.as_tensor(np.asarray(ids), dtype=torch.long)] = f
        self.register_buffer("finger_of_vertex", finger_of, persistent=False)

    def forward(self, x: torch.Tensor, occ_logits: torch.Tensor) -> torch.Tensor:
        visible = torch.softmax(occ_logits.detach(), dim=1)[:, 0, :5]
        has = self.finger_of_vertex >= 0
        w = torch.where(has, visible[:, self.finger_of_vertex.clamp(min=0)], 1.0)
        w = torch.softmax(torch.stack(torch.chunk(w, 3, dim=0), dim=-1), dim=-1)  # (B, V, 3)
        frames = torch.stack(torch.chunk(x, 3, dim=0), dim=2)  # (B, V, 3, C)
        fused = (w.unsqueeze(-1) * frames).sum(2)
        return self.head(self.block(torch.cat((fused, frames[:, :, 0]), dim=2)))
