# Training recipe of Hand4Whole's hand branch (Pose2Pose) on the open hand
# (mmengine config; `handzoo-train hand4whole-hand-openhand`).
#
# The hand4whole-hand network with hand_model='openhand' (no MANO), its own crop (box x1.25,
# square, 256x256, left hands mirrored) and the authors' L1 losses (heatmap joints, projected
# joints, pose, shape, wrist-relative 3D joints). Data: synthetic open-hand shards. The authors'
# optimiser: Adam at 1e-4, decayed 10x at epochs 10 and 12 of 13; a ResNet-50 trunk initialised
# from ImageNet (no download here: from scratch, or set model.kwargs.pretrained_backbone=True
# where timm can fetch it).
variant = "hand4whole-hand"
seed = 0
max_iters = 20000
model = dict(kwargs=dict(hand_model="openhand"), loss=None, freeze_norm=False)
train_data = dict(
    source=dict(type="shards", roots=["{{$HANDZOO_TRAIN_DATA:~/.cache/handzoo/train}}/synth128"]),
    transform=dict(
        type="handzoo_hand4whole.training:Hand4WholeTrainTransform",
        scale_factor=0.25,
        rotation_deg=30.0,
        rotation_prob=0.6,
        shift=0.08,
        colour=1.0,
    ),
    batch_size=32,
    num_workers=2,
)
val_data = None
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4), clip_grad=dict(max_norm=10.0))
param_scheduler = [dict(type="MultiStepLR", by_epoch=False, milestones=[15400, 18500], gamma=0.1)]
ema = None
checkpoint_interval = 1000
log_interval = 20
