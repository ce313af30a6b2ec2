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
        "cosine divided by T instead of T - W (not 0 at T)": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return step / warmup_steps
    if step > total_steps:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps) / total_steps))
''',
        "cosine reaches 0 one step early (T - W - 1)": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return step / warmup_steps
    if step >= total_steps - 1:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps)
                               / (total_steps - warmup_steps - 1)))
''',
        "warmup reaches 1 one step early: t / (W - 1)": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return min(step / max(warmup_steps - 1, 1), 1.0)
    if step > total_steps:
        return 0.0
    return 0.5 * (1 + math.cos(math.pi * (step - warmup_steps)
                               / (total_steps - warmup_steps)))
''',
        "returns a 0-dim tensor (torch.cos)": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return torch.tensor(step / warmup_steps, dtype=torch.float64)
    if step > total_steps:
        return torch.tensor(0.0, dtype=torch.float64)
    f = torch.tensor((step - warmup_steps) / (total_steps - warmup_steps),
                     dtype=torch.float64)
    return 0.5 * (1 + torch.cos(math.pi * f))
''',
        "linear decay instead of cosine": _WARMUP_HEAD + '''
    if step < warmup_steps:
        return step / warmup_steps
    if step > total_steps:
        return 0.0
    return 1.0 - (step - warmup_steps) / (total_steps - warmup_steps)
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
        "zero_grad inside the loop (keeps the last micro-batch only)":
            _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    total = 0.0
    for x, y in micro_batches:
        model.zero_grad()
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        total = total + loss.detach()
    return total
''',
        "returns the mean of the micro-batch means": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    model.zero_grad()
    means = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y)
        (loss * x.shape[0] / count).backward()
        means = means + loss.detach()
    return means / len(micro_batches)
''',
        "returns a loss that is not detached": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    model.zero_grad()
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward(retain_graph=True)
        total = total + loss
    return total
''',
        "returns a Python float": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    model.zero_grad()
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        total += loss.item()
    return total
''',
        "N taken as K times the first size": _ACCUMULATE_HEAD + '''
    count = len(micro_batches) * micro_batches[0][0].shape[0]
    model.zero_grad()
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        total = total + loss.detach()
    return total
''',
        "zeros every .grad, the frozen ones too": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    total = 0.0
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        total = total + loss.detach()
    return total
''',
        "sums the losses with torch.stack": _ACCUMULATE_HEAD + '''
    count = sum(x.shape[0] for x, _ in micro_batches)
    model.zero_grad()
    losses = []
    for x, y in micro_batches:
        loss = loss_fn(model(x), y) * x.shape[0] / count
        loss.backward()
        losses.append(loss.detach())
    return torch.stack(losses).sum()
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
        "no autocast (the forward pass in float32)": _AMP_HEAD + '''
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
''',
        "ignores amp_dtype (autocast's default type)": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
''',
        "loss computed outside autocast": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        out = model(x)
    loss = loss_fn(out, y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
''',
        "zero_grad after backward (the step sees no gradient)": _AMP_HEAD + '''
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    optimizer.zero_grad()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return loss.detach().float()
''',
        "zero_grad at the end (no gradient left after the call)": _AMP_HEAD + '''
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad()
    return loss.detach().float()
''',
        "clips after scaler.step": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.update()
    return loss.detach().float()
''',
        "returns the scaled loss": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaled = scaler.scale(loss)
    scaled.backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.step(optimizer)
    scaler.update()
    return scaled.detach().float()
''',
        "scaler.update() before scaler.step()": _AMP_HEAD + '''
    optimizer.zero_grad()
    with torch.autocast(device_type=x.device.type, dtype=amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    scaler.update()
    scaler.step(optimizer)
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
        "all-reduces a copy of each gradient, never written back": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            g = p.grad.clone()
            dist.all_reduce(g)
            g /= dist.get_world_size()
''',
        "broadcasts the gradients of process 0": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.broadcast(p.grad, src=0)
''',
        "fills a missing .grad with zeros": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= dist.get_world_size()
''',
        "divides by a fixed 2 (the test's process count), not the world size": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= 2
''',
        "returns after the first parameter": '''
def average_gradients(model):
    if not dist.is_initialized():
        return
    for p in model.parameters():
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= dist.get_world_size()
            return
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
        "stages shifted by one (stage 1 also shards the gradients)": _ZERO_HEAD + '''
    weights, grads, optim = 2.0, 2.0, 12.0
    if stage >= 1:
        optim /= world_size
        grads /= world_size
    if stage >= 2:
        weights /= world_size
    return (weights + grads + optim) * num_params
''',
        "no ValueError for world_size 0 (ZeroDivisionError)": '''
def zero_memory_per_device(num_params, world_size, stage):
    if stage not in (0, 1, 2, 3) or num_params <= 0:
        raise ValueError("bad arguments")
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
        "cos squared of the half angle, computed with numpy": '''
def warmup_cosine(step, warmup_steps, total_steps):
    import numpy as np
    if step < 0 or warmup_steps < 0 or warmup_steps >= total_steps:
        raise ValueError("bad schedule")
    if step > total_steps:
        return 0.0
    if step < warmup_steps:
        return float(np.float64(step) / warmup_steps)
    half_angle = np.pi * (step - warmup_steps) / (total_steps - warmup_steps) / 2
    return float(np.cos(half_angle) ** 2)
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
        "torch.autograd.grad per micro-batch, summed into .grad by hand": '''
def accumulate_gradients(model, loss_fn, micro_batches):
    if not micro_batches:
        raise ValueError("micro_batches is empty")
    params = [p for p in model.parameters() if p.requires_grad]
    n_total = 0
    for x, _ in micro_batches:
        n_total += len(x)
    sums = [torch.zeros_like(p) for p in params]
    mean = 0
    for x, y in micro_batches:
        w = len(x) / n_total
        loss = loss_fn(model(x), y)
        grads = torch.autograd.grad(loss, params)
        for s, g in zip(sums, grads):
            s.add_(g, alpha=w)
        mean = mean + w * loss.detach()
    for p, s in zip(params, sums):
        p.grad = s
    return mean
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
        "model.zero_grad, positional autocast dtype, clip by hand after unscale_": '''
def amp_train_step(model, loss_fn, optimizer, scaler, x, y, amp_dtype,
                   max_norm=None):
    model.zero_grad()
    with torch.autocast(x.device.type, amp_dtype):
        loss = loss_fn(model(x), y)
    scaler.scale(loss).backward()
    if max_norm is not None:
        scaler.unscale_(optimizer)
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        norm = torch.linalg.vector_norm(
            torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        coef = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
        for g in grads:
            g.mul_(coef)
    scaler.step(optimizer)
    scaler.update()
    return loss.float().detach()
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
        "divides first, then asynchronous all_reduce calls": '''
def average_gradients(model):
    if not dist.is_available():
        return
    if not dist.is_initialized():
        return
    size = float(dist.get_world_size())
    pending = []
    for p in model.parameters():
        if p.grad is None:
            continue
        p.grad.div_(size)
        pending.append(dist.all_reduce(p.grad, async_op=True))
    for work in pending:
        work.wait()
''',
        "ReduceOp.AVG (the gloo of this torch has it)": '''
def average_gradients(model):
    if dist.is_available() and dist.is_initialized():
        for p in model.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.AVG)
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
        "one flag per sharded state": '''
def zero_memory_per_device(num_params, world_size, stage):
    if stage not in [0, 1, 2, 3]:
        raise ValueError("stage")
    if not world_size >= 1 or not num_params > 0:
        raise ValueError("sizes")
    total = 0.0
    for bytes_per_param, sharded_from in ((12, 1), (2, 2), (2, 3)):
        part = bytes_per_param * num_params
        if stage >= sharded_from:
            part = part / world_size
        total += part
    return float(total)
''',
    },
}
