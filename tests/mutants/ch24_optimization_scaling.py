"""ch24: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_WARMUP_HEAD = '''
def warmup_cosine(step, warmup_steps, total_steps):
    if step < 0 or warmup_steps < 0 or total_steps <= warmup_steps:
        raise ValueError("bad schedule")
'''

_ACCUMULATE_HEAD = '''
def accumulate_gradients(model, loss_fn, micro_batches):
    if not micro_batches:
        raise ValueError("no micro-batches")
'''

_AMP_HEAD = '''
def amp_train_step(model, loss_fn, optimizer, scaler, x, y, amp_dtype,
                   max_norm=None):
'''

_ZERO_HEAD = '''
def zero_memory_per_device(num_params, world_size, stage):
    if stage not in (0, 1, 2, 3) or world_size < 1 or num_params <= 0:
        raise ValueError("bad arguments")
'''

WRONG = {
    "ch24-warmup-cosine": {
        "warmup starts at 1/W instead of 0": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if step > total_steps:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps)
                               / (total_steps - warmup_steps)))
''',
        "cosine measured from step 0, not from the warmup's end": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return step / warmup_steps
    if step > total_steps:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * step / total_steps))
''',
        "the cosine climbs back after T": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return step / warmup_steps
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps)
                               / (total_steps - warmup_steps)))
''',
        "divides by W = 0 (no warmup case)": _WARMUP_HEAD + '''
    if step <= warmup_steps:
        return step / warmup_steps
    if step > total_steps:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps)
                               / (total_steps - warmup_steps)))
''',
        "no ValueError for T <= W": '''
def warmup_cosine(step, warmup_steps, total_steps):
    if step < 0 or warmup_steps < 0:
        raise ValueError("bad schedule")
    if step < warmup_steps:
        return step / warmup_steps
    if step >= total_steps:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps)
                               / (total_steps - warmup_steps)))
''',
    },
    "ch24-accumulate-gradients": {
        "divides every loss by the number of micro-batches": _ACCUMULATE_HEAD + '''
    model.zero_grad()
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) / len(micro_batches)
        loss.backward()
        total = total + loss.detach()
    return total
''',
        "no scaling: sums the micro-batch means": _ACCUMULATE_HEAD + '''
    model.zero_grad()
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y)
        loss.backward()
        total = total + loss.detach()
    return total / len(micro_batches)
''',
        "adds to the gradients already there": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        total = total + loss.detach()
    return total
''',
        "drops the last, smaller micro-batch": _ACCUMULATE_HEAD + '''
    full = [(x, y) for x, y in micro_batches
            if x.shape[0] == micro_batches[0][0].shape[0]]
    count = sum(x.shape[0] for x, _ in full)
    model.zero_grad()
    total = 0.0
    for x, y in full:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        total = total + loss.detach()
    return total
''',
        "returns the loss of the last micro-batch": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    model.zero_grad()
    for x, y in micro_batches:
        loss = loss_fn(model(x), y)
        (loss * x.shape[0] / count).backward()
    return loss.detach()
''',
        "joins the micro-batches with torch.cat": _ACCUMULATE_HEAD + '''
    model.zero_grad()
    x = torch.cat([x for x, _ in micro_batches])
    y = torch.cat([y for _, y in micro_batches])
    loss = loss_fn(model(x), y)
    loss.backward()
    return loss.detach()
''',
    },
    "ch24-amp-train-step": {
        "ignores the scaler (no skip on overflow)": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.detach().float()
''',
        "clips the scaled gradients (no unscale_ first)": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
''',
        "forgets scaler.update()": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    return loss.detach().float()
''',
        "never clears the gradients": _AMP_HEAD + '''
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
''',
        "optimizer.step() on the scaled gradients": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()
    return loss.detach().float()
''',
    },
    "ch24-average-gradients": {
        "all_reduce without averaging (sum of the gradients)": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
''',
        "calls the collective without a process group": '''
def average_gradients(model):
    world = dist.get_world_size()
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= world
''',
        "divides by the world size but never communicates": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            p.grad /= dist.get_world_size()
''',
        "averages the parameters instead of the gradients": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            with torch.no_grad():
                dist.all_reduce(p.data)
                p.data /= dist.get_world_size()
''',
    },
    "ch24-zero-memory": {
        "stage 2 also shards the weights": _ZERO_HEAD + '''
    per_param = {0: 16.0, 1: 4.0 + 12.0 / world_size,
                 2: 16.0 / world_size, 3: 16.0 / world_size}[stage]
    return per_param * num_params
''',
        "shards in the wrong order (weights first)": _ZERO_HEAD + '''
    weights, grads, optim = 2.0, 2.0, 12.0
    if stage >= 1:
        weights /= world_size
    if stage >= 2:
        grads /= world_size
    if stage >= 3:
        optim /= world_size
    return (weights + grads + optim) * num_params
''',
        "Adam's state counted as 8 bytes (forgets the float32 master copy)":
            _ZERO_HEAD + '''
    weights, grads, optim = 2.0, 2.0, 8.0
    if stage >= 1:
        optim /= world_size
    if stage >= 2:
        grads /= world_size
    if stage >= 3:
        weights /= world_size
    return (weights + grads + optim) * num_params
''',
        "no ValueError for a bad stage": '''
def zero_memory_per_device(num_params, world_size, stage):
    weights, grads, optim = 2.0, 2.0, 12.0
    if stage >= 1:
        optim /= world_size
    if stage >= 2:
        grads /= world_size
    if stage >= 3:
        weights /= world_size
    return (weights + grads + optim) * num_params
''',
    },
}

RIGHT = {
    "ch24-warmup-cosine": {
        "early return at T, cosine written as 0.5 - 0.5 cos(pi (1 - f))": '''
def warmup_cosine(step, warmup_steps, total_steps):
    if min(step, warmup_steps) < 0 or total_steps <= warmup_steps:
        raise ValueError("need 0 <= W < T and t >= 0")
    if step >= total_steps:
        return 0.0
    if warmup_steps > 0 and step < warmup_steps:
        return float(step) / float(warmup_steps)
    frac = (step - warmup_steps) / (total_steps - warmup_steps)
    return float(0.5 - 0.5 * math.cos(math.pi * (1.0 - frac)))
''',
    },
    "ch24-accumulate-gradients": {
        "sum of losses, gradients divided by N at the end": '''
def accumulate_gradients(model, loss_fn, micro_batches):
    if len(micro_batches) == 0:
        raise ValueError("empty")
    for p in model.parameters():
        p.grad = None
    count = 0
    total = None
    for x, y in micro_batches:
        n = x.shape[0]
        count += n
        loss_sum = loss_fn(model(x), y) * n
        loss_sum.backward()
        total = loss_sum.detach() if total is None else total + loss_sum.detach()
    for p in model.parameters():
        if p.grad is not None:
            p.grad.div_(count)
    return total / count
''',
    },
    "ch24-amp-train-step": {
        "torch.amp.autocast, unscale_ always, zero_grad(set_to_none=False)": '''
def amp_train_step(model, loss_fn, optimizer, scaler, x, y, amp_dtype,
                   max_norm=None):
    optimizer.zero_grad(set_to_none=False)
    with torch.amp.autocast(x.device.type, dtype=amp_dtype):
        out = model(x)
        loss = loss_fn(out, y)
    scaled = scaler.scale(loss)
    scaled.backward()
    scaler.unscale_(optimizer)
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().to(torch.float32)
''',
    },
    "ch24-average-gradients": {
        "one all_reduce of all the gradients flattened": '''
def average_gradients(model):
    if not (dist.is_available() and dist.is_initialized()):
        return None
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return None
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat, op=dist.ReduceOp.SUM)
    flat = flat / dist.get_world_size()
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
    return None
''',
    },
    "ch24-zero-memory": {
        "a table of bytes per parameter": '''
def zero_memory_per_device(num_params, world_size, stage):
    if stage not in range(4) or world_size < 1 or num_params <= 0:
        raise ValueError("stage must be 0..3, world_size >= 1, num_params > 0")
    n = float(world_size)
    per_param = [2 + 2 + 12, 2 + 2 + 12 / n, 2 + (2 + 12) / n, (2 + 2 + 12) / n]
    return float(per_param[stage] * num_params)
''',
    },
}
