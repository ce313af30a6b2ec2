"""ch16: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_TRAIN_HEAD = '''
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    model.train()
    total, count = 0.0, 0
'''

_FIT_HEAD = '''
def fit(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, patience,
        device, scheduler=None, max_grad_norm=None):
    if num_epochs < 1 or patience < 1:
        raise ValueError("bad arguments")
    history = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": []}
    best_loss, best_epoch, best_state, waited = math.inf, 0, None, 0
    for epoch in range(num_epochs):
'''

_FIT_EPOCH = '''
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["train_loss"].append(train_one_epoch(
            model, train_loader, loss_fn, optimizer, device, max_grad_norm))
        val_loss, val_accuracy = evaluate(model, val_loader, loss_fn, device)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
'''

_LOAD_FULL = '''
def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    return checkpoint["epoch"]
'''

_SAVE_FULL = '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    torch.save({
        "epoch": epoch, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }, path)
'''

WRONG = {
    "ch16-clip-grad-norm": {
        "iterates the parameters twice (a generator is empty the second time)": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    total = torch.tensor(0.0)
    squares = [(p.grad ** 2).sum() for p in parameters if p.grad is not None]
    if squares:
        total = torch.sqrt(sum(squares))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for p in parameters:
            if p.grad is not None:
                p.grad.mul_(scale)
    return total
''',
        "clips each tensor to max_norm separately": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        n = torch.sqrt((g ** 2).sum())
        if max_norm / (n + 1e-6) < 1:
            g.mul_(max_norm / (n + 1e-6))
    return total
''',
        "always rescales (small gradients are scaled up)": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.mul_(max_norm / (total + 1e-6))
    return total
''',
        "clips each value to [-max_norm, max_norm]": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    for g in grads:
        g.clamp_(-max_norm, max_norm)
    return total
''',
        "returns the norm after clipping": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    return torch.sqrt(sum((g ** 2).sum() for g in grads))
''',
        "squared norm (no square root)": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = sum((g ** 2).sum() for g in grads)
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    return total
''',
        "calls the forbidden torch.nn.utils.clip_grad_norm_": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm")
    return torch.nn.utils.clip_grad_norm_(parameters, max_norm)
''',
        "no ValueError for max_norm <= 0": '''
def clip_grad_norm(parameters, max_norm):
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1:
        for g in grads:
            g.mul_(scale)
    return total
''',
    },
    "ch16-train-one-epoch": {
        "mean of the batch means (a short last batch counts as a full one)":
            _TRAIN_HEAD + '''
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item()
        count += 1
    if count == 0:
        raise ValueError("empty")
    return total / count
''',
        "never zeroes the gradients (they accumulate)": _TRAIN_HEAD + '''
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(inputs)
        count += len(inputs)
    if count == 0:
        raise ValueError("empty")
    return total / count
''',
        "zeroes the gradients at the end of each step (stale ones count first)":
            _TRAIN_HEAD + '''
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        optimizer.zero_grad()
        total += loss.item() * len(inputs)
        count += len(inputs)
    if count == 0:
        raise ValueError("empty")
    return total / count
''',
        "clips after the optimizer step (too late)": _TRAIN_HEAD + '''
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        total += loss.item() * len(inputs)
        count += len(inputs)
    if count == 0:
        raise ValueError("empty")
    return total / count
''',
        "forgets model.train()": '''
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(inputs)
        count += len(inputs)
    if count == 0:
        raise ValueError("empty")
    return total / count
''',
        "ignores max_grad_norm": _TRAIN_HEAD + '''
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(inputs)
        count += len(inputs)
    if count == 0:
        raise ValueError("empty")
    return total / count
''',
        "returns the last batch's loss": _TRAIN_HEAD + '''
    loss = None
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
    if loss is None:
        raise ValueError("empty")
    return loss.item()
''',
        "divides by zero on an empty loader (no ValueError)": _TRAIN_HEAD + '''
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        total += loss.item() * len(inputs)
        count += len(inputs)
    return total / count
''',
    },
    "ch16-evaluate": {
        "mean of the batch means and accuracies": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    losses, accs = [], []
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            losses.append(loss_fn(outputs, targets).item())
            accs.append((outputs.argmax(dim=1) == targets).float().mean().item())
    if not losses:
        raise ValueError("empty")
    return sum(losses) / len(losses), sum(accs) / len(accs)
''',
        "forgets model.eval() (dropout stays on)": '''
def evaluate(model, loader, loss_fn, device):
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    if count == 0:
        raise ValueError("empty")
    return total_loss / count, correct / count
''',
        "records gradients (no torch.no_grad)": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        outputs = model(inputs)
        total_loss += loss_fn(outputs, targets).item() * len(targets)
        correct += (outputs.argmax(dim=1) == targets).sum().item()
        count += len(targets)
    if count == 0:
        raise ValueError("empty")
    return total_loss / count, correct / count
''',
        "puts the model back in training mode at the end": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    model.train()
    if count == 0:
        raise ValueError("empty")
    return total_loss / count, correct / count
''',
        "accuracy as the number of correct examples, not a fraction": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            count += len(targets)
    if count == 0:
        raise ValueError("empty")
    return total_loss / count, float(correct)
''',
    },
    "ch16-cosine-lr": {
        "cos without the (1 + cos) / 2": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError("epoch")
    return lr_min + (lr_max - lr_min) * math.cos(math.pi * epoch / num_epochs)
''',
        "ignores lr_min": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError("epoch")
    return lr_max * (1 + math.cos(math.pi * epoch / num_epochs)) / 2
''',
        "reaches the minimum one epoch early (T - 1)": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError("epoch")
    t = min(epoch, num_epochs - 1)
    return lr_min + (lr_max - lr_min) * (
        1 + math.cos(math.pi * t / max(num_epochs - 1, 1))) / 2
''',
        "returns a tensor": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError("epoch")
    t = torch.tensor(math.pi * epoch / num_epochs, dtype=torch.float64)
    return lr_min + (lr_max - lr_min) * (1 + torch.cos(t)) / 2
''',
        "no ValueError outside [0, T]": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    return lr_min + (lr_max - lr_min) * (
        1 + math.cos(math.pi * epoch / max(num_epochs, 1))) / 2
''',
    },
    "ch16-fit": {
        "never restores the best weights (keeps the last)": _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
        else:
            waited += 1
            if waited == patience:
                break
    history["best_epoch"] = best_epoch
    return history
''',
        "keeps the best state by reference (model.state_dict())":
            _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = model.state_dict()
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
        "a tie counts as an improvement (<=)": _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss <= best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
        "stops one epoch late (counter > patience)": _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited > patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
        "counter never reset at an improvement": _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss < best_loss:
            best_loss, best_epoch = val_loss, epoch
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
        "records the learning rate after the scheduler's step": _FIT_HEAD + '''
        history["train_loss"].append(train_one_epoch(
            model, train_loader, loss_fn, optimizer, device, max_grad_norm))
        val_loss, val_accuracy = evaluate(model, val_loader, loss_fn, device)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        history["lr"].append(optimizer.param_groups[0]["lr"])
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
        "ignores max_grad_norm": _FIT_HEAD + '''
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["train_loss"].append(train_one_epoch(
            model, train_loader, loss_fn, optimizer, device))
        val_loss, val_accuracy = evaluate(model, val_loader, loss_fn, device)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler is not None:
            scheduler.step()
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
    },
    "ch16-checkpoint": {
        "does not save the optimizer's state": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    torch.save({
        "epoch": epoch, "model": model.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }, path)


def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    return checkpoint["epoch"]
''',
        "does not save the random state": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    torch.save({
        "epoch": epoch, "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
    }, path)


def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint["epoch"]
''',
        "does not restore the scheduler": _SAVE_FULL + '''

def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    return checkpoint["epoch"]
''',
        "saves the model object itself (does not load with weights_only)": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    torch.save({"epoch": epoch, "model": model, "optimizer": optimizer,
                "scheduler": scheduler, "torch_rng": torch.get_rng_state()}, path)


def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(checkpoint["model"].state_dict())
    optimizer.load_state_dict(checkpoint["optimizer"].state_dict())
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"].state_dict())
    torch.set_rng_state(checkpoint["torch_rng"])
    return checkpoint["epoch"]
''',
        "returns the next epoch instead of the saved one": _SAVE_FULL + '''

def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    torch.set_rng_state(checkpoint["torch_rng"])
    if checkpoint["cuda_rng"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(checkpoint["cuda_rng"])
    return checkpoint["epoch"] + 1
''',
    },
}

RIGHT = {
    "ch16-clip-grad-norm": {
        "norm of the per-tensor norms, a clamped coefficient applied to all": '''
def clip_grad_norm(parameters, max_norm):
    if not max_norm > 0:
        raise ValueError(f"max_norm must be > 0, got {max_norm}")
    params = [parameters] if torch.is_tensor(parameters) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if len(grads) == 0:
        return torch.tensor(0.0)
    norms = torch.stack([torch.linalg.vector_norm(g) for g in grads])
    total = torch.linalg.vector_norm(norms)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads:
        g.mul_(coef)
    return total
''',
        "assigns a new tensor to p.grad": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm must be positive")
    if isinstance(parameters, torch.Tensor):
        parameters = (parameters,)
    with_grad = [p for p in parameters if p.grad is not None]
    if not with_grad:
        return torch.tensor(0.0)
    flat = torch.cat([p.grad.reshape(-1) for p in with_grad])
    total = (flat * flat).sum().sqrt()
    if total + 1e-6 > max_norm:
        for p in with_grad:
            p.grad = p.grad * (max_norm / (total + 1e-6))
    return total
''',
    },
    "ch16-train-one-epoch": {
        "model.zero_grad, a tensor accumulator and shape[0]": '''
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    model.train(True)
    weighted, seen = None, 0
    for batch in loader:
        x, y = (t.to(device) for t in batch)
        model.zero_grad(set_to_none=False)
        loss = loss_fn(model(x), y)
        loss.backward()
        if max_grad_norm is not None:
            clip_grad_norm(model.parameters(), max_grad_norm)
        optimizer.step()
        term = loss.detach() * x.shape[0]
        weighted = term if weighted is None else weighted + term
        seen += x.shape[0]
    if not seen:
        raise ValueError("nothing to train on")
    return float(weighted / seen)
''',
    },
    "ch16-evaluate": {
        "inference_mode, all outputs concatenated, one loss": '''
def evaluate(model, loader, loss_fn, device):
    model.train(False)
    outs, ys = [], []
    with torch.inference_mode():
        for x, y in loader:
            outs.append(model(x.to(device)))
            ys.append(y.to(device))
        if not outs:
            raise ValueError("empty loader")
        logits, targets = torch.cat(outs), torch.cat(ys)
        loss = loss_fn(logits, targets).item()
        acc = (logits.argmax(-1) == targets).double().mean().item()
    return float(loss), float(acc)
''',
    },
    "ch16-cosine-lr": {
        "cos squared of half the angle": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1:
        raise ValueError("num_epochs must be >= 1")
    if epoch < 0 or epoch > num_epochs:
        raise ValueError("epoch out of range")
    return float(lr_min + (lr_max - lr_min)
                 * math.cos(math.pi * epoch / (2 * num_epochs)) ** 2)
''',
    },
    "ch16-fit": {
        "epochs since the best, a clone of each tensor, no progress bar": '''
def fit(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, patience,
        device, scheduler=None, max_grad_norm=None):
    if num_epochs < 1 or patience < 1:
        raise ValueError("num_epochs and patience must be at least 1")
    hist = {"train_loss": [], "val_loss": [], "val_accuracy": [], "lr": []}
    best = None
    for e in range(num_epochs):
        lr = optimizer.param_groups[0]["lr"]
        tl = train_one_epoch(model, train_loader, loss_fn, optimizer, device,
                             max_grad_norm=max_grad_norm)
        vl, va = evaluate(model, val_loader, loss_fn, device)
        for key, value in zip(("train_loss", "val_loss", "val_accuracy", "lr"),
                              (tl, vl, va, lr)):
            hist[key].append(float(value))
        if scheduler is not None:
            if type(scheduler).__name__ == "ReduceLROnPlateau":
                scheduler.step(vl)
            else:
                scheduler.step()
        if best is None or vl < min(hist["val_loss"][:-1]):
            best = (e, {k: v.detach().clone() for k, v in model.state_dict().items()})
        elif e - best[0] >= patience:
            break
    model.load_state_dict(best[1])
    hist["best_epoch"] = best[0]
    return hist
''',
    },
    "ch16-checkpoint": {
        "separate entries, Python's random state too, weights_only explicit": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    state = {"epoch": int(epoch), "model_state": model.state_dict(),
             "optimizer_state": optimizer.state_dict(),
             "rng_cpu": torch.random.get_rng_state(),
             "python_random": random.getstate()}
    if scheduler is not None:
        state["scheduler_state"] = scheduler.state_dict()
    if torch.cuda.is_available():
        state["rng_cuda"] = torch.cuda.get_rng_state_all()
    torch.save(state, os.fspath(path))


def load_checkpoint(path, model, optimizer, scheduler=None):
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model_state"])
    optimizer.load_state_dict(state["optimizer_state"])
    if scheduler is not None:
        scheduler.load_state_dict(state["scheduler_state"])
    torch.random.set_rng_state(state["rng_cpu"])
    if "rng_cuda" in state:
        torch.cuda.set_rng_state_all(state["rng_cuda"])
    random.setstate(state["python_random"])
    return state["epoch"]
''',
    },
}


# Added in review: more classic mistakes, and right answers written from the
# docstrings alone.
_MORE_WRONG = {
    "ch16-clip-grad-norm": {
        "total norm as the sum of the per-tensor norms": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm must be positive")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    total = sum(torch.linalg.vector_norm(g) for g in grads)
    if total + 1e-6 > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total
''',
        "returns a Python float": '''
def clip_grad_norm(parameters, max_norm):
    if max_norm <= 0:
        raise ValueError("max_norm must be positive")
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    total = torch.sqrt(sum((g ** 2).sum() for g in grads))
    if total + 1e-6 > max_norm:
        for g in grads:
            g.mul_(max_norm / (total + 1e-6))
    return total.item()
''',
    },
    "ch16-train-one-epoch": {
        "divides by the number of batches times the first batch's size": '''
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    model.train()
    total, batches, size = 0.0, 0, None
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss = loss_fn(model(inputs), targets)
        loss.backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        size = len(inputs) if size is None else size
        total += loss.item() * len(inputs)
        batches += 1
    if batches == 0:
        raise ValueError("empty loader")
    return total / (batches * size)
''',
        "reports the loss recomputed after the step": '''
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    model.train()
    total, count = 0.0, 0
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        loss_fn(model(inputs), targets).backward()
        if max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        with torch.no_grad():
            total += loss_fn(model(inputs), targets).item() * len(inputs)
        count += len(inputs)
    if count == 0:
        raise ValueError("empty loader")
    return total / count
''',
    },
    "ch16-evaluate": {
        "argmax over the batch axis (dim 0)": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            correct += (outputs.argmax(dim=0)[:len(targets)]
                        == targets[:outputs.shape[1]]).sum().item()
            count += len(targets)
    if count == 0:
        raise ValueError("empty loader")
    return total / count, correct / count
''',
        "accuracy of the last batch only": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    total, count, accuracy = 0.0, 0, 0.0
    with torch.no_grad():
        for inputs, targets in loader:
            inputs, targets = inputs.to(device), targets.to(device)
            outputs = model(inputs)
            total += loss_fn(outputs, targets).item() * len(targets)
            accuracy = (outputs.argmax(1) == targets).double().mean().item()
            count += len(targets)
    if count == 0:
        raise ValueError("empty loader")
    return total / count, accuracy
''',
    },
    "ch16-cosine-lr": {
        "counts epochs from 1 (t + 1)": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError("bad epoch")
    t = min(epoch + 1, num_epochs)
    return lr_min + (lr_max - lr_min) * (1 + math.cos(math.pi * t / num_epochs)) / 2
''',
        "linear decay instead of the cosine": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or not 0 <= epoch <= num_epochs:
        raise ValueError("bad epoch")
    return lr_max - (lr_max - lr_min) * epoch / num_epochs
''',
    },
    "ch16-fit": {
        "restores the best weights only when it stops early":
            _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                model.load_state_dict(best_state)
                break
    history["best_epoch"] = best_epoch
    return history
''',
        "steps every scheduler with scheduler.step()": _FIT_HEAD + '''
        history["lr"].append(optimizer.param_groups[0]["lr"])
        history["train_loss"].append(train_one_epoch(
            model, train_loader, loss_fn, optimizer, device, max_grad_norm))
        val_loss, val_accuracy = evaluate(model, val_loader, loss_fn, device)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_accuracy)
        if scheduler is not None:
            scheduler.step()
        if val_loss < best_loss:
            best_loss, best_epoch, waited = val_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = best_epoch
    return history
''',
        "best_epoch is the last epoch run": _FIT_HEAD + _FIT_EPOCH + '''
        if val_loss < best_loss:
            best_loss, waited = val_loss, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
            if waited == patience:
                break
    model.load_state_dict(best_state)
    history["best_epoch"] = epoch
    return history
''',
    },
    "ch16-checkpoint": {
        "saves the random state but does not restore it": _SAVE_FULL + '''
def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    optimizer.load_state_dict(checkpoint["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(checkpoint["scheduler"])
    return checkpoint["epoch"]
''',
        "saves the model's state only": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    torch.save({"epoch": epoch, "model": model.state_dict()}, path)


def load_checkpoint(path, model, optimizer, scheduler=None):
    checkpoint = torch.load(path, map_location="cpu")
    model.load_state_dict(checkpoint["model"])
    return checkpoint["epoch"]
''',
    },
}

_MORE_RIGHT = {
    "ch16-clip-grad-norm": {
        "one concatenated vector, a factor clamped at 1 applied always": '''
def clip_grad_norm(parameters, max_norm):
    if not max_norm > 0:
        raise ValueError("max_norm must be > 0")
    params = [parameters] if torch.is_tensor(parameters) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if len(grads) == 0:
        return torch.tensor(0.0)
    norm = torch.linalg.vector_norm(torch.cat([g.reshape(-1) for g in grads]))
    factor = torch.clamp(max_norm / (norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(factor)
    return norm
''',
    },
    "ch16-train-one-epoch": {
        "a running mean updated batch by batch": '''
def train_one_epoch(model, loader, loss_fn, optimizer, device, max_grad_norm=None):
    model.train()
    mean, seen = 0.0, 0
    for xb, yb in loader:
        xb = xb.to(device)
        yb = yb.to(device)
        for p in model.parameters():
            p.grad = None
        out = model(xb)
        loss = loss_fn(out, yb)
        loss.backward()
        if max_grad_norm:
            clip_grad_norm(model.parameters(), max_grad_norm)
        optimizer.step()
        seen += xb.shape[0]
        mean += (loss.item() - mean) * xb.shape[0] / seen
    if not seen:
        raise ValueError("no batch")
    return float(mean)
''',
    },
    "ch16-evaluate": {
        "tensor accumulators, inference_mode, eq then sum": '''
def evaluate(model, loader, loss_fn, device):
    model.eval()
    loss_sum = correct = None
    n = 0
    with torch.inference_mode():
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            logits = model(xb)
            batch_loss = loss_fn(logits, yb).double() * yb.numel()
            hits = logits.argmax(-1).eq(yb).sum()
            loss_sum = batch_loss if loss_sum is None else loss_sum + batch_loss
            correct = hits if correct is None else correct + hits
            n += yb.numel()
    if n == 0:
        raise ValueError("no batch")
    return loss_sum.item() / n, correct.item() / n
''',
    },
    "ch16-cosine-lr": {
        "lr_max minus a squared sine": '''
def cosine_lr(epoch, num_epochs, lr_max, lr_min=0.0):
    if num_epochs < 1 or epoch < 0 or epoch > num_epochs:
        raise ValueError("epoch must lie in [0, num_epochs], num_epochs >= 1")
    half = math.sin(math.pi * epoch / (2 * num_epochs)) ** 2
    return lr_max - (lr_max - lr_min) * half
''',
    },
    "ch16-fit": {
        "best epoch from the history, the state kept through torch.save": '''
def fit(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, patience,
        device, scheduler=None, max_grad_norm=None):
    import io
    if num_epochs < 1 or patience < 1:
        raise ValueError("need num_epochs >= 1 and patience >= 1")
    history = {key: [] for key in ("train_loss", "val_loss", "val_accuracy", "lr")}
    best, buffer = 0, None
    for epoch in range(num_epochs):
        lr = float(optimizer.param_groups[0]["lr"])
        train_loss = train_one_epoch(model, train_loader, loss_fn, optimizer,
                                     device, max_grad_norm=max_grad_norm)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn, device)
        history["lr"].append(lr)
        history["train_loss"].append(train_loss)
        history["val_loss"].append(val_loss)
        history["val_accuracy"].append(val_acc)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(val_loss)
        elif scheduler:
            scheduler.step()
        if epoch == 0 or val_loss < min(history["val_loss"][:-1]):
            best = epoch
            buffer = io.BytesIO()
            torch.save(model.state_dict(), buffer)
        elif epoch - best == patience:
            break
    buffer.seek(0)
    model.load_state_dict(torch.load(buffer))
    history["best_epoch"] = best
    return history
''',
    },
    "ch16-checkpoint": {
        "random states grouped, an int epoch, an explicit weights_only load": '''
def save_checkpoint(path, model, optimizer, epoch, scheduler=None):
    rng = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save({"model": model.state_dict(), "optim": optimizer.state_dict(),
                "sched": scheduler.state_dict() if scheduler else {},
                "rng": rng, "epoch": int(epoch)}, path)


def load_checkpoint(path, model, optimizer, scheduler=None):
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optim"])
    if scheduler is not None:
        scheduler.load_state_dict(state["sched"])
    torch.set_rng_state(state["rng"]["cpu"])
    if "cuda" in state["rng"]:
        torch.cuda.set_rng_state_all(state["rng"]["cuda"])
    return state["epoch"]
''',
    },
}

for _table, _more in ((WRONG, _MORE_WRONG), (RIGHT, _MORE_RIGHT)):
    for _answer, _entries in _more.items():
        _table.setdefault(_answer, {}).update(_entries)
