# Training recipe of 3D-hand model-0 (RGB) on the open hand
# (mmengine config; `handzoo-train 3dhand-rgb-openhand`).
#
# The paper's two phases, as stages of one run: synthetic pre-training regresses the 22
# parameters that rendered each synthetic image (ThreeDHandPretrainLoss: pose-PCA 1000, shape
# 1e5, rotation 5000, translation 0.2, scale 0.1), then training fits the 2D and 3D joints with
# the pose/shape prior and the mask term (ThreeDHandLoss: 2D 4, 3D 1e5 in weak-perspective units,
# mask 10, prior 10). The mask term, 1 - mean(mask at the projected vertices), needs the hand's
# mask in the crop; the shards hold none, so the training transform renders it
# (mask_source="render"): the open hand posed with each sample's parameters, its root on the
# sample's wrist, seen through the crop's camera (mirrored with the crop for left hands). The
# second phase starts with new optimiser moments. Both phases read synthetic open-hand data here (the paper trains phase 2
# on real images with 2D/3D annotations). The unofficial trainer uses Adam at 1e-4 (no licence:
# read, not copied). The network is the authors' ResNet-34 regressor with hand_model='openhand'.
variant = "3dhand-rgb"
seed = 0
max_iters = 30000
train_begin = 15000
model = dict(
    kwargs=dict(
        hand_model="openhand",
        losses=dict(pretrain=dict(type="ThreeDHandPretrainLoss"), train=dict(type="ThreeDHandLoss", w_mask=10.0)),
    ),
    loss=None,
    freeze_norm=False,
)
stages = [dict(begin=0, loss="pretrain"), dict(begin=train_begin, loss="train", reset_optimizer=True)]
train_data = dict(
    source=dict(type="shards", roots=["{{$HANDZOO_TRAIN_DATA:~/.cache/handzoo/train}}/synth128"]),
    transform=dict(
        type="handzoo_3dhand.training:ThreeDHandTrainTransform",
        hand_model="openhand",
        with_heatmaps=False,
        scale_jitter=0.15,
        shift=0.05,
        rotation_deg=30.0,  # not in the authors' code: see handzoo_3dhand.training
        rotation_prob=0.6,
        colour=1.0,
        mask_source="render",  # the mask term's target: the hand's silhouette rendered in the crop
    ),
    batch_size=32,
    num_workers=2,
)
val_data = None
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4), clip_grad=dict(max_norm=10.0))
param_scheduler = None
ema = None
checkpoint_interval = 1000
log_interval = 20
