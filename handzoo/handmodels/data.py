"""The arrays of a MANO-format hand model, independent of where they came from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from handzoo.errors import AssetError

__all__ = ["HandModelData", "MANO_PARENTS", "mirror_hand_data"]

# MANO's kinematic tree: wrist; index 1-3; middle 1-3; pinky 1-3; ring 1-3; thumb 1-3.
MANO_PARENTS: tuple[int, ...] = (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11, 0, 13, 14)


@dataclass(frozen=True)
class HandModelData:
    """Arrays of a hand model in MANO's layout (numpy, float64 unless noted).

    Attributes:
        name: ``'mano'``, ``'openhand'``, ...
        side: ``'right'`` or ``'left'``.
        v_template: (V, 3) rest vertices, metres.
        shapedirs: (V, 3, K) shape blend shapes.
        posedirs: (V, 3, 9 * (J - 1)) pose blend shapes, or None when the model has none.
        J_regressor: (J, V) dense joint regressor.
        weights: (V, J) skinning weights.
        parents: (J,) int64 parent of each joint, -1 for the root.
        faces: (F, 3) int64 triangles (counter-clockwise seen from outside).
        hands_components: (C, 3 * (J - 1)) pose PCA basis (rows are components).
        hands_mean: (3 * (J - 1),) mean hand pose, added when ``flat_hand_mean=False``.
        tip_vertex_ids: vertex ids of the thumb, index, middle, ring and pinky tips.
        closing_faces: optional (Fc, 3) faces that close the wrist opening; indices equal to V
            refer to one extra vertex, the mean of ``closing_loop`` (see :meth:`with_closed_wrist`).
        closing_loop: optional (L,) vertex ids of the wrist boundary loop.
    """

    name: str
    side: str
    v_template: np.ndarray
    shapedirs: np.ndarray
    posedirs: np.ndarray | None
    J_regressor: np.ndarray
    weights: np.ndarray
    parents: np.ndarray
    faces: np.ndarray
    hands_components: np.ndarray
    hands_mean: np.ndarray
    tip_vertex_ids: tuple[int, int, int, int, int]
    closing_faces: np.ndarray | None = None
    closing_loop: np.ndarray | None = None
    meta: dict = field(default_factory=dict)

    @property
    def num_vertices(self) -> int:
        return int(self.v_template.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.J_regressor.shape[0])

    def validate(self) -> HandModelData:
        """Check every shape; raise :class:`AssetError` naming the first inconsistent array."""
        v = self.v_template.shape[0] if self.v_template.ndim == 2 else -1
        j = self.J_regressor.shape[0] if self.J_regressor.ndim == 2 else -1
        p = 3 * (j - 1)
        checks = [
            ("v_template", self.v_template.shape, (v, 3)),
            ("shapedirs", self.shapedirs.shape[:2], (v, 3)),
            ("J_regressor", self.J_regressor.shape, (j, v)),
            ("weights", self.weights.shape, (v, j)),
            ("parents", self.parents.shape, (j,)),
            ("hands_mean", self.hands_mean.shape, (p,)),
            ("hands_components", self.hands_components.shape[1:], (p,)),
        ]
        if self.posedirs is not None:
            checks.append(("posedirs", self.posedirs.shape, (v, 3, 9 * (j - 1))))
        for name, got, want in checks:
            if v <= 0 or j <= 1 or tuple(got) != tuple(want):
                raise AssetError(
                    f"{self.name} ({self.side}): array {name!r} has shape {tuple(got)}, expected {tuple(want)}",
                    hint="the model file is corrupt or not in MANO's format",
                )
        if self.shapedirs.ndim != 3:
            raise AssetError(f"{self.name}: shapedirs must be (V, 3, K), got {self.shapedirs.shape}")
        if self.faces.ndim != 2 or self.faces.shape[1] != 3 or self.faces.min() < 0 or self.faces.max() >= v:
            raise AssetError(f"{self.name}: faces must be (F, 3) indices below {v}, got shape {self.faces.shape}")
        if self.parents[0] != -1 or any(not 0 <= int(q) < i for i, q in enumerate(self.parents[1:], start=1)):
            raise AssetError(f"{self.name}: parents must start with -1 and list each joint after its parent")
        if len(self.tip_vertex_ids) != 5 or not all(0 <= int(t) < v for t in self.tip_vertex_ids):
            raise AssetError(f"{self.name}: tip_vertex_ids must be 5 vertex ids below {v}, got {self.tip_vertex_ids}")
        if self.side not in ("right", "left"):
            raise AssetError(f"{self.name}: side must be 'right' or 'left', got {self.side!r}")
        return self

    def with_closed_wrist(self) -> HandModelData:
        """Return the model with one extra vertex closing the wrist opening.

        The extra vertex is the mean of the wrist boundary loop in the template, the shape space
        and the skinning weights (so it follows the loop under shape and, approximately, pose);
        it has zero weight in the joint regressor so joints are unchanged.
        """
        if self.closing_faces is None or self.closing_loop is None:
            raise AssetError(f"{self.name} has no closing faces for the wrist", hint="use closed_wrist=False")
        loop = np.asarray(self.closing_loop, dtype=np.int64)

        def add_mean(a: np.ndarray) -> np.ndarray:
            return np.concatenate([a, a[loop].mean(0, keepdims=True)], axis=0)

        return replace(
            self,
            v_template=add_mean(self.v_template),
            shapedirs=add_mean(self.shapedirs),
            posedirs=None if self.posedirs is None else add_mean(self.posedirs),
            J_regressor=np.concatenate([self.J_regressor, np.zeros((self.num_joints, 1))], axis=1),
            weights=add_mean(self.weights),
            faces=np.concatenate([self.faces, self.closing_faces], axis=0),
            closing_faces=None,
            closing_loop=None,
            meta={**self.meta, "closed_wrist": True},
        )


def mirror_hand_data(data: HandModelData, side: str) -> HandModelData:
    """Mirror a hand model through the plane x = 0 (right <-> left).

    x coordinates of the template and the x components of the shape blend shapes are negated;
    the face winding is reversed so normals still point outwards; the pose PCA basis and mean are
    mirrored like axis-angle poses (y and z components negated). Pose blend shapes cannot be
    mirrored by a sign change and must be absent (``posedirs=None``) or zero.

    With this model, ``left(flip_axis_angle(pose)) == flip_points(right(pose))``.
    """
    if data.posedirs is not None and np.any(data.posedirs != 0):
        raise AssetError(f"cannot mirror {data.name}: it has non-zero pose blend shapes")

    def mirror_pose(a: np.ndarray) -> np.ndarray:
        out = a.copy()
        out[..., 1::3] *= -1
        out[..., 2::3] *= -1
        return out

    v = data.v_template.copy()
    v[:, 0] *= -1
    sd = data.shapedirs.copy()
    sd[:, 0, :] *= -1
    faces = data.faces[:, [0, 2, 1]].copy()
    closing = None if data.closing_faces is None else data.closing_faces[:, [0, 2, 1]].copy()
    return replace(
        data,
        side=side,
        v_template=v,
        shapedirs=sd,
        posedirs=None,
        faces=faces,
        closing_faces=closing,
        hands_components=mirror_pose(data.hands_components),
        hands_mean=mirror_pose(data.hands_mean),
        meta={**data.meta, "mirrored_from": data.side},
    )
