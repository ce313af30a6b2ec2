"""ch18: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch18-grad-norms": {
        "norm computed in float32 (precision lost for float64 gradients)": '''
def grad_norms(model):
    return {n: torch.linalg.vector_norm(p.grad.float()).item()
            for n, p in model.named_parameters() if p.grad is not None}
''',
        "walks the state dict (a shared weight listed twice)": '''
def grad_norms(model):
    return {n: torch.linalg.vector_norm(p.grad).item()
            for n, p in model.state_dict(keep_vars=True).items()
            if p.grad is not None}
''',
        "squared norm (no square root)": '''
def grad_norms(model):
    return {n: (p.grad ** 2).sum().item() for n, p in model.named_parameters()
            if p.grad is not None}
''',
        "frozen and unused parameters reported as 0.0": '''
def grad_norms(model):
    return {n: 0.0 if p.grad is None else torch.linalg.vector_norm(p.grad).item()
            for n, p in model.named_parameters()}
''',
        "returns tensors instead of floats": '''
def grad_norms(model):
    return {n: torch.linalg.vector_norm(p.grad) for n, p in model.named_parameters()
            if p.grad is not None}
''',
        "calls the deprecated Tensor.norm": '''
def grad_norms(model):
    return {n: p.grad.norm().item() for n, p in model.named_parameters()
            if p.grad is not None}
''',
        "norm of the weights, not of the gradients": '''
def grad_norms(model):
    return {n: torch.linalg.vector_norm(p.detach()).item()
            for n, p in model.named_parameters() if p.grad is not None}
''',
        "clips the gradients while measuring": '''
def grad_norms(model):
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    return {n: torch.linalg.vector_norm(p.grad).item()
            for n, p in model.named_parameters() if p.grad is not None}
''',
    },
    "ch18-find-dead-relus": {
        "a pre-hook that calls a unit dead only if its input is < 0": '''
def find_dead_relus(model, x):
    found, handles = {}, []

    def make(name):
        def hook(module, inputs):
            alive = (inputs[0] >= 0).flatten(1).any(0)
            found[name] = 1.0 - alive.double().mean().item()
        return hook

    try:
        for name, m in model.named_modules():
            if isinstance(m, nn.ReLU):
                handles.append(m.register_forward_pre_hook(make(name)))
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return found
''',
        "hooks never removed": '''
def find_dead_relus(model, x):
    out = {}
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(
                lambda mod, i, o, name=name: out.__setitem__(
                    name, 1.0 - (o != 0).flatten(1).any(0).double().mean().item()))
    with torch.no_grad():
        model(x)
    return out
''',
        "hooks removed only when the forward pass succeeds (no finally)": '''
def find_dead_relus(model, x):
    out, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(
                lambda mod, i, o, name=name: out.__setitem__(
                    name, 1.0 - (o != 0).flatten(1).any(0).double().mean().item())))
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return out
''',
        "fraction of zero outputs, not of dead units": '''
def find_dead_relus(model, x):
    out, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(
                lambda mod, i, o, name=name: out.__setitem__(
                    name, (o == 0).double().mean().item())))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out
''',
        "dead if zero for any example (not all)": '''
def find_dead_relus(model, x):
    out, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(
                lambda mod, i, o, name=name: out.__setitem__(
                    name, (o == 0).flatten(1).any(0).double().mean().item())))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out
''',
        "units are channels (dim 1 only), not every position": '''
def find_dead_relus(model, x):
    out, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            def hook(mod, i, o, name=name):
                alive = (o != 0).transpose(0, 1).flatten(1).any(1)
                out[name] = 1.0 - alive.double().mean().item()
            handles.append(m.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out
''',
        "ReLUs never called reported as fully dead": '''
def find_dead_relus(model, x):
    out, handles = {}, []
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            out[name] = 1.0
            handles.append(m.register_forward_hook(
                lambda mod, i, o, name=name: out.__setitem__(
                    name, 1.0 - (o != 0).flatten(1).any(0).double().mean().item())))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out
''',
        "switches the model to eval mode": '''
def find_dead_relus(model, x):
    out, handles = {}, []
    model.eval()
    for name, m in model.named_modules():
        if isinstance(m, nn.ReLU):
            handles.append(m.register_forward_hook(
                lambda mod, i, o, name=name: out.__setitem__(
                    name, 1.0 - (o != 0).flatten(1).any(0).double().mean().item())))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return out
''',
    },
    "ch18-overfit-one-batch": {
        "never zeroes the gradients": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(batch[0]), batch[1])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        "a new optimiser at every step (Adam's state lost)": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.train()
    losses = []
    for _ in range(steps):
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        opt.zero_grad()
        loss = loss_fn(model(batch[0]), batch[1])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        "records the loss after the step": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(model(batch[0]), batch[1]).backward()
        opt.step()
        with torch.no_grad():
            losses.append(loss_fn(model(batch[0]), batch[1]).item())
    return losses
''',
        "keeps the loss tensors (and their graphs)": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(batch[0]), batch[1])
        loss.backward()
        opt.step()
        losses.append(loss)
    return losses
''',
        "zero_grad after backward (stale gradients on the first step)": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(batch[0]), batch[1])
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(loss.item())
    return losses
''',
        "model.eval() instead of model.train()": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.eval()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_fn(model(batch[0]), batch[1])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
        "ignores loss_fn (always cross-entropy)": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if steps < 1:
        raise ValueError("steps")
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = F.cross_entropy(model(batch[0]), batch[1])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses
''',
    },
    "ch18-lr-range-test": {
        "no NaN check (NaN > x is False, the test runs on)": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if losses[-1] > diverge_factor * min(losses):
            break
        loss.backward()
        opt.step()
    model.load_state_dict(saved)
    return lrs, losses
''',
        "state_dict() without a copy: nothing is restored": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = model.state_dict()
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * min(losses):
            break
        loss.backward()
        opt.step()
    model.load_state_dict(saved)
    return lrs, losses
''',
        "linear instead of geometric spacing": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min + (lr_max - lr_min) * k / (K - 1)
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * min(losses):
            break
        loss.backward()
        opt.step()
    model.load_state_dict(saved)
    return lrs, losses
''',
        "compares with the first loss, not the best so far": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * losses[0]:
            break
        loss.backward()
        opt.step()
    model.load_state_dict(saved)
    return lrs, losses
''',
        "never stops early": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        loss.backward()
        opt.step()
    model.load_state_dict(saved)
    return lrs, losses
''',
        "drops the loss that diverged": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = copy.deepcopy(model.state_dict())
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        value = loss.item()
        best = min(losses or [value])
        bad = not math.isfinite(value) or value > diverge_factor * best
        if losses and bad:
            break
        lrs.append(lr)
        losses.append(value)
        loss.backward()
        opt.step()
    model.load_state_dict(saved)
    return lrs, losses
''',
        "restores the parameters but not the buffers": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or not 0 < lr_min < lr_max:
        raise ValueError("bad arguments")
    saved = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=lr_min)
    K, lrs, losses = len(batches), [], []
    for k, (x, y) in enumerate(batches):
        lr = lr_min * (lr_max / lr_min) ** (k / (K - 1))
        opt.param_groups[0]["lr"] = lr
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        lrs.append(lr)
        losses.append(loss.item())
        if not math.isfinite(losses[-1]) or losses[-1] > diverge_factor * min(losses):
            break
        loss.backward()
        opt.step()
    with torch.no_grad():
        for p, s in zip(model.parameters(), saved):
            p.copy_(s)
    return lrs, losses
''',
    },
    "ch18-saved-tensor-bytes": {
        "reads exclude inside pack (the generator is used up once)": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    sizes = {}

    def pack(t):
        ptr = t.untyped_storage().data_ptr()
        if all(ptr != e.untyped_storage().data_ptr() for e in exclude):
            sizes[ptr] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, sum(sizes.values())
''',
        "numel * element_size (a view's storage undercounted)": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    sizes = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in skip:
            sizes[t.untyped_storage().data_ptr()] = t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, sum(sizes.values())
''',
        "counts a storage every time it is saved": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    total = 0

    def pack(t):
        nonlocal total
        if t.untyped_storage().data_ptr() not in skip:
            total += t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, total
''',
        "ignores exclude": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    sizes = {}

    def pack(t):
        sizes[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, sum(sizes.values())
''',
        "excludes tensors by identity (a transposed weight slips through)": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    skip = {id(t) for t in exclude}
    sizes = {}

    def pack(t):
        if id(t) not in skip:
            sizes[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, sum(sizes.values())
''',
        "returns a tensor count of bytes": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    sizes = {}

    def pack(t):
        if t.untyped_storage().data_ptr() not in skip:
            sizes[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(*args)
    return out, torch.tensor(sum(sizes.values()))
''',
    },
}

RIGHT = {
    "ch18-grad-norms": {
        "sum of squares in a loop, math.sqrt": '''
def grad_norms(model):
    result = {}
    for name, param in model.named_parameters():
        if param.grad is None:
            continue
        result[name] = math.sqrt((param.grad * param.grad).sum().item())
    return result
''',
    },
    "ch18-find-dead-relus": {
        "amax over the batch, a global list of handles": '''
def find_dead_relus(model, x):
    result = {}
    handles = []

    def record(name):
        def hook(module, args, out):
            top = out.reshape(out.shape[0], -1).amax(dim=0)
            result[name] = float((top == 0).sum().item() / top.numel())
        return hook

    relus = [(n, m) for n, m in model.named_modules() if type(m) is nn.ReLU]
    try:
        for n, m in relus:
            handles.append(m.register_forward_hook(record(n)))
        with torch.no_grad():
            model(x)
    finally:
        while handles:
            handles.pop().remove()
    return result
''',
        "collects outputs with hooks, an ExitStack-like list, computes afterwards": '''
def find_dead_relus(model, x):
    outputs = {}
    handles = []
    try:
        for name, module in model.named_modules():
            if type(module) is nn.ReLU or isinstance(module, nn.ReLU):
                def keep(mod, inputs, output, name=name):
                    outputs[name] = output.detach().clone()
                handles.append(module.register_forward_hook(keep))
        with torch.no_grad():
            model(x)
    finally:
        while handles:
            handles.pop().remove()
    result = {}
    for name, out in outputs.items():
        ever_positive = (out.reshape(out.shape[0], -1) > 0).sum(dim=0) > 0
        result[name] = float((~ever_positive).sum().item()) / ever_positive.numel()
    return result
''',
    },
    "ch18-overfit-one-batch": {
        "model.zero_grad, a while loop": '''
def overfit_one_batch(model, batch, steps, lr=1e-2, loss_fn=F.cross_entropy):
    if not steps >= 1:
        raise ValueError("need at least one step")
    inputs, targets = batch
    model.train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    while len(history) < steps:
        model.zero_grad(set_to_none=True)
        loss = loss_fn(model(inputs), targets)
        history.append(float(loss.detach()))
        loss.backward()
        optimizer.step()
    return history
''',
    },
    "ch18-lr-range-test": {
        "a LambdaLR-free loop with clones of the state dict tensors": '''
def lr_range_test(model, batches, lr_min, lr_max, diverge_factor=4.0,
                  loss_fn=F.cross_entropy):
    if len(batches) < 2 or lr_min <= 0 or lr_max <= lr_min:
        raise ValueError("need two batches and 0 < lr_min < lr_max")
    backup = {k: v.detach().clone() for k, v in model.state_dict().items()}
    sgd = torch.optim.SGD(model.parameters(), lr=lr_min)
    ratio = lr_max / lr_min
    n = len(batches) - 1
    rates, values, best = [], [], math.inf
    for k in range(len(batches)):
        rate = lr_min * ratio ** (k / n)
        for g in sgd.param_groups:
            g["lr"] = rate
        sgd.zero_grad()
        x, y = batches[k]
        loss = loss_fn(model(x), y)
        value = loss.item()
        rates.append(rate)
        values.append(value)
        best = min(best, value)
        if math.isnan(value) or math.isinf(value) or value > diverge_factor * best:
            break
        loss.backward()
        sgd.step()
    with torch.no_grad():
        for k, v in model.state_dict().items():
            v.copy_(backup[k])
    return rates, values
''',
    },
    "ch18-saved-tensor-bytes": {
        "a list of storages, deduplicated at the end": '''
def saved_tensor_bytes(fn, *args, exclude=()):
    excluded = [t.untyped_storage().data_ptr() for t in exclude]
    seen = []

    def pack(tensor):
        seen.append((tensor.untyped_storage().data_ptr(),
                     tensor.untyped_storage().nbytes()))
        return tensor

    def unpack(tensor):
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, unpack):
        out = fn(*args)
    total = sum(size for ptr, size in dict(seen).items() if ptr not in excluded)
    return out, int(total)
''',
    },
}
