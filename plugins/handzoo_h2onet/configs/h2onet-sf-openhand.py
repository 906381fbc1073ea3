# Training recipe of h2onet-sf-openhand (mmengine config; `handzoo-train h2onet-sf-openhand`).
#
# The authors' two stages: stage 1 trains the canonical mesh (no global rotation), stage 2 adds
# the rotation branch (H2ONetLoss with_rotation); the switch is at `stage2_begin` iterations.
# Data: synthetic open-hand shards (`python -m handzoo.train.shards --out DIR --n N`); the
# authors' optimiser is Adam at 1e-3 with step decay, batch 32-48 on GPUs.
variant = "h2onet-sf-openhand"
seed = 0
max_iters = 20000
stage2_begin = 12000
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
stages = [dict(begin=0, loss="stage1"), dict(begin=stage2_begin, loss="stage2")]
train_data = dict(
    source=dict(type="shards", roots=["{{$HANDZOO_TRAIN_DATA:~/.cache/handzoo/train}}/synth128"]),
    transform=dict(type="handzoo_h2onet.training:H2ONetTrainTransform", scale_jitter=0.15, shift=0.05, colour=1.0),
    batch_size=32,
    num_workers=2,
)
val_data = dict(dataset=dict(name="synthetic", split="val", n=64), protocol="freihand", batch_size=16, interval=2000)
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-3), clip_grad=dict(max_norm=10.0))
param_scheduler = [dict(type="MultiStepLR", by_epoch=False, milestones=[8000, 16000], gamma=0.1)]
ema = None
checkpoint_interval = 1000
log_interval = 20
