# Training recipe of h2onet-openhand, multi-frame H2ONet (mmengine config; `handzoo-train h2onet-openhand`).
#
# Samples are frame triples (t, t-short, t-long): from a single-image source (synthetic shards or
# the streamed generator) each frame is its own crop of the image (wider box jitter for older
# frames, own colour) with synthetic occluders that give the occlusion labels; see
# handzoo_h2onet.training.H2ONetMFTrainTransform. The authors start the multi-frame model from
# the single-frame stage-1 weights (`--load-from <h2onet-sf-openhand checkpoint>`: the shared
# parts load, the occlusion/offset/fused-rotation heads start fresh) and train both stages with
# Adam at 1e-4 (stage 2 adds the rotated-mesh, rotation, normal and edge terms).
variant = "h2onet-openhand"
seed = 0
max_iters = 16000
stage2_begin = 8000
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
stages = [
    dict(begin=0, loss="stage1"),
    dict(begin=stage2_begin, loss="stage2", lr=1e-4, reset_optimizer=True),
]
train_data = dict(
    source=dict(type="shards", roots=["{{$HANDZOO_TRAIN_DATA:~/.cache/handzoo/train}}/synth128"]),
    transform=dict(
        type="handzoo_h2onet.training:H2ONetMFTrainTransform",
        scale_factor=0.25,  # the authors' crop scale and rotation, one for the three frames
        rotation_deg=30.0,
        rotation_prob=0.6,
        scale_jitter=0.15,  # each frame's own box (the camera's motion, x motion for older frames)
        shift=0.05,
        colour=1.0,
        occlude=0.4,
        motion=(1.5, 2.5),
    ),
    batch_size=16,
    num_workers=2,
)
val_data = None  # the bench feeds single images; multi-frame scoring needs clips
# no gradient clipping, as the authors (from random weights, clipping at norm 10 stalled stage 1 in
# a CPU check: gradient norms of 1e2-1e3 in the first iterations)
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-4))
param_scheduler = [dict(type="MultiStepLR", by_epoch=False, milestones=[6300, 14300], gamma=0.1)]
ema = None
checkpoint_interval = 1000
log_interval = 20
