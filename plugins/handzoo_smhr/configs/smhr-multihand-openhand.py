# Training recipe of SMHR's multi-hand model on the open hand
# (mmengine config; `handzoo-train smhr-multihand-openhand`).
#
# Whole images with one or two hands from the synthetic generator (rendered in DataLoader
# workers), the authors' augmentation (rotation up to 40 degrees, scale, shift, colour) and
# their weakly supervised, stage-wise training (scripts/train.sh of the authors' repository):
# stage 1 trains the centre heatmap, the handedness maps and the hands from 2D joints only
# (centre focal 100, handedness focal 100, 2D re-projection 10, bone directions 100, pose/shape
# prior 1000) with Adam at 1e-4; stage 2 adds the rendering term at lr 5e-5. The authors' stage 2
# is photometric + silhouette; the open hand has no texture head (the authors' texture is 778
# MANO vertices), so here it is the silhouette against the generator's hand mask (weight 20).
variant = "smhr-multihand"
seed = 0
max_iters = 40000
stage2_begin = 30000
input_size = 384
stage1 = ["center_focal", "handedness_focal", "reprojection", "bone_direction", "pose_prior"]
model = dict(
    kwargs=dict(
        hand_model="openhand",
        heads=["hm", "params", "handmap"],
        input_size=input_size,
        losses=[
            dict(type="SMHRCenterFocalLoss"),
            dict(type="SMHRHandednessFocalLoss"),
            dict(type="SMHRReprojectionLoss"),
            dict(type="SMHRBoneDirectionLoss"),
            dict(type="SMHRPosePriorLoss"),
            dict(type="SMHRSilhouetteLoss"),
        ],
    ),
    loss=None,
    freeze_norm=False,
)
stages = [
    dict(begin=0, loss=stage1),
    dict(begin=stage2_begin, loss=stage1 + ["silhouette"], lr=5e-5),
]
train_data = dict(
    source=dict(
        type="scenes", dataset="synthetic", split="train", max_hands=2, image_size=input_size, two_hand_prob=0.5
    ),
    transform=dict(
        type="handzoo_smhr.training:SMHRTrainTransform",
        input_size=input_size,
        max_hands=2,
        handedness=True,
        silhouette=True,
        rotation_deg=40.0,
        scale_jitter=0.2,
        shift_px=5.0,
        colour=1.0,
    ),
    batch_size=8,
    num_workers=4,
)
val_data = None
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4), clip_grad=dict(max_norm=10.0))
param_scheduler = None
ema = None
checkpoint_interval = 1000
log_interval = 20
