# Training recipe of h2onet-sf-openhand (mmengine config; `handzoo-train h2onet-sf-openhand`).
#
# The authors' two stages, run by them as two trainings: stage 1 trains the canonical mesh (no
# global rotation) with Adam at 1e-3, stage 2 starts from the stage-1 weights with a new Adam at
# 1e-4 and adds the rotation branch (H2ONetLoss with_rotation); each stage decays its lr 10x at
# about 80 % of its length. Here one run: at `stage2_begin` the StageHook switches the loss, sets
# lr 1e-4 and clears the optimiser's moments (the new Adam). A shortened CPU run that continued
# stage 2 at stage 1's lr with stage 1's moments saw the loss rise (h2onet-sf-openhand.run.json);
# on 4 samples, 20 stage-2 iterations took the loss from 1.05 to 0.44 that way and to 0.15 with
# the switch above.
# Data: synthetic open-hand shards (`python -m handzoo.train.shards --out DIR --n N`); the
# authors' batch is 32 on GPUs.
variant = "h2onet-sf-openhand"
seed = 0
max_iters = 20000
stage2_begin = 12000
model = dict(kwargs=dict(), loss=None, freeze_norm=False)
stages = [
    dict(begin=0, loss="stage1"),
    dict(begin=stage2_begin, loss="stage2", lr=1e-4, reset_optimizer=True),
]
train_data = dict(
    source=dict(type="shards", roots=["{{$HANDZOO_TRAIN_DATA:~/.cache/handzoo/train}}/synth128"]),
    transform=dict(  # the authors' crop scale and rotation, handzoo's box shift and colour
        type="handzoo_h2onet.training:H2ONetTrainTransform",
        scale_factor=0.25,
        scale_jitter=0.0,
        shift=0.05,
        rotation_deg=30.0,
        rotation_prob=0.6,
        colour=1.0,
    ),
    batch_size=32,
    num_workers=2,
)
val_data = dict(dataset=dict(name="synthetic", split="val", n=64), protocol="freihand", batch_size=16, interval=2000)
optim_wrapper = dict(optimizer=dict(type="Adam", lr=1e-3), clip_grad=dict(max_norm=10.0))
param_scheduler = [dict(type="MultiStepLR", by_epoch=False, milestones=[9500, 18400], gamma=0.1)]
ema = None
checkpoint_interval = 1000
log_interval = 20
