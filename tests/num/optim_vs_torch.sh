#!/bin/sh
# Every optimiser against torch.optim (Lion against its reference), 20 steps of a small MLP compiled
# by nndc from the same initial weights on the same 64 examples (tests/num/optim_vs_torch.py):
# one build per optimiser from tests/num/sgd_small.nnd with its `optimizer` line replaced, then
# several settings through the training executable's flags. Learning rates are small enough that
# the weights move by 1-100% in 20 steps (the float32 difference grows with the distance moved).
set -e
. tests/e2e/lib.sh
need_torch
need_fm
subset 64
cd "$t"
steps=20

# check OPTIMIZER 'RECIPE CALL' 'FLAGS' TORCH-ARGS...: builds once per optimiser (and $extra, a
# recipe line added before the loss: clipping, freezing), trains, compares
extra=
check() {
	name=$1 call=$2 flags=$3
	shift 3
	if [ ! -x "$name/small-train" ]; then
		mkdir -p "$name"
		sed "s/optimizer = sgd(.*)/optimizer = $call/; s/^  loss(/  $extra\n  loss(/" \
			"$root/tests/num/sgd_small.nnd" >"$name/small.nnd"
		grep -qF "optimizer = $call" "$name/small.nnd"
		grep -qF -- "${extra%%\\n*}" "$name/small.nnd"
		"$root/nndc" build "$name/small.nnd" -o "$name"
		ln -sf ../data-images.gz ../data-labels.gz "$name/"
		(cd "$name" && ./small-train --steps 0 --out init.safetensors --quiet)
	fi
	(cd "$name" && ./small-train --steps $steps --out after.safetensors --quiet $flags)
	/usr/bin/python3 "$root/tests/num/optim_vs_torch.py" "$name/init.safetensors" "$name/after.safetensors" \
		data-images.gz data-labels.gz $steps "${name%%-*}" "$@"
}

check sgd 'sgd(lr: 0.1, momentum: 0.9, nesterov: true)' '' lr=0.1 momentum=0.9 nesterov=1
check sgd 'sgd(lr: 0.1, momentum: 0.9, nesterov: true)' '--nesterov 0 --dampening 0.1 --weight-decay 1e-3' \
	lr=0.1 momentum=0.9 dampening=0.1 weight_decay=1e-3
check sgd 'sgd(lr: 0.1, momentum: 0.9, nesterov: true)' '--weight-decay 1e-2' lr=0.1 momentum=0.9 nesterov=1 weight_decay=1e-2
check adam 'adam(lr: 1e-4)' '' lr=1e-4
check adam 'adam(lr: 1e-4)' '--beta1 0.8 --beta2 0.99 --eps 1e-6 --weight-decay 0.01' \
	lr=1e-4 betas=0.8,0.99 eps=1e-6 weight_decay=0.01
check adamw 'adamw(lr: 1e-4, betas: (0.9, 0.95), weight_decay: 0.1)' '' lr=1e-4 betas=0.9,0.95 weight_decay=0.1
check adamw 'adamw(lr: 1e-4, betas: (0.9, 0.95), weight_decay: 0.1)' '--weight-decay 1 --eps 1e-6' \
	lr=1e-4 betas=0.9,0.95 weight_decay=1 eps=1e-6
check rmsprop 'rmsprop(lr: 1e-4)' '' lr=1e-4
check rmsprop 'rmsprop(lr: 1e-4)' '--lr 1e-5 --alpha 0.9 --momentum 0.9 --centered 1 --weight-decay 1e-3' \
	lr=1e-5 alpha=0.9 momentum=0.9 centered=1 weight_decay=1e-3
check rmsprop 'rmsprop(lr: 1e-4)' '--centered 1 --eps 1e-6' lr=1e-4 centered=1 eps=1e-6
check adagrad 'adagrad(lr: 0.01)' '' lr=0.01
check adagrad 'adagrad(lr: 0.01)' '--lr-decay 0.01 --initial-accumulator-value 0.1 --weight-decay 1e-3' \
	lr=0.01 lr_decay=0.01 initial_accumulator_value=0.1 weight_decay=1e-3
check lion 'lion(lr: 1e-5)' '' lr=1e-5
# Lion's update is lr*sign(c): where c is within float32 noise of 0 the sign is a coin toss and
# costs 2*lr. These settings have no such element (weight_decay 1 with the default betas has a
# few in fc1.weight: differences of 6e-4).
check lion 'lion(lr: 1e-5)' '--beta1 0.95 --beta2 0.98' lr=1e-5 betas=0.95,0.98
check lion 'lion(lr: 1e-5)' '--beta1 0.8 --beta2 0.9 --weight-decay 0.5' lr=1e-5 betas=0.8,0.9 weight_decay=0.5

# clip_grad_norm (torch.nn.utils.clip_grad_norm_ before each step), its flag, and freezing. Adam
# with eps 1e-5: with 1e-8 its update of an element whose gradient is float32 noise (borders of
# the images) is +-lr either way, as for Lion above.
extra='clip_grad_norm = 0.5'
check sgd-clip 'sgd(lr: 0.1, momentum: 0.9)' '' lr=0.1 momentum=0.9 clip=0.5
check sgd-clip 'sgd(lr: 0.1, momentum: 0.9)' '--clip-grad-norm 0.1' lr=0.1 momentum=0.9 clip=0.1
check adam-clip 'adam(lr: 1e-4, eps: 1e-5)' '--clip-grad-norm 0.1' lr=1e-4 eps=1e-5 clip=0.1
extra='freeze = [model.fc1]'
check sgd-freeze 'sgd(lr: 0.1, momentum: 0.9)' '' lr=0.1 momentum=0.9 frozen=fc1
extra='train_only = [model.fc3]'
check adam-only 'adam(lr: 1e-4)' '' lr=1e-4 frozen=fc1,fc2

# parameter groups: `optimizer model.fc1 = ...` (its own optimiser) and `schedule model.fc2 = ...`
# (a step schedule on one group of the same optimiser); --lr changes group 0 alone
extra='optimizer model.fc1 = sgd(lr: 0.1, momentum: 0.9)'
check adam-groups 'adam(lr: 1e-3)' '' lr=1e-3 group=fc1/sgd/lr=0.1/momentum=0.9
check adam-groups 'adam(lr: 1e-3)' '--lr 1e-4' lr=1e-4 group=fc1/sgd/lr=0.1/momentum=0.9
extra='optimizer model.fc2 = sgd(lr: 0.05, momentum: 0.9)\n  schedule model.fc2 = step(every: 5, gamma: 0.5)'
check sgd-groups 'sgd(lr: 0.1, momentum: 0.9)' '' lr=0.1 momentum=0.9 group=fc2/sgd/lr=0.05/momentum=0.9/step=5:0.5
