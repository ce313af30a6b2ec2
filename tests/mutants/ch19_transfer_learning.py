"""ch19: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch19-freeze-backbone": {
        "requires_grad only: batch norm keeps updating, dropout stays on": '''
def freeze_backbone(model):
    count = 0
    for p in model.backbone.parameters():
        p.requires_grad = False
        count += p.numel()
    return count
''',
        "eval mode only: the weights still get gradients": '''
def freeze_backbone(model):
    model.backbone.eval()
    return sum(p.numel() for p in model.backbone.parameters())
''',
        "freezes the whole model, head included": '''
def freeze_backbone(model):
    count = sum(p.numel() for p in model.backbone.parameters())
    for p in model.parameters():
        p.requires_grad_(False)
    model.backbone.eval()
    return count
''',
        "model.eval() changes the head's mode too": '''
def freeze_backbone(model):
    model.backbone.requires_grad_(False)
    model.eval()
    return sum(p.numel() for p in model.backbone.parameters())
''',
        "counts parameter tensors instead of scalars": '''
def freeze_backbone(model):
    params = list(model.backbone.parameters())
    for p in params:
        p.requires_grad_(False)
    model.backbone.eval()
    return len(params)
''',
        "backbone.training = False: the flag of the top module only": '''
def freeze_backbone(model):
    count = 0
    for p in model.backbone.parameters():
        p.requires_grad_(False)
        count += p.numel()
    model.backbone.training = False
    return count
''',
        "counts the scalars of the whole model, head included": '''
def freeze_backbone(model):
    model.backbone.requires_grad_(False)
    model.backbone.eval()
    return sum(p.numel() for p in model.parameters())
''',
    },
    "ch19-replace-head": {
        "new head on the CPU in float32 (device and dtype ignored)": '''
def replace_head(model, num_classes):
    if num_classes < 1:
        raise ValueError("num_classes")
    if not isinstance(model.head, nn.Linear):
        raise TypeError("head")
    model.head = nn.Linear(model.head.in_features, num_classes,
                           bias=model.head.bias is not None)
    return model.head
''',
        "in and out features swapped": '''
def replace_head(model, num_classes):
    if num_classes < 1:
        raise ValueError("num_classes")
    old = model.head
    if not isinstance(old, nn.Linear):
        raise TypeError("head")
    model.head = nn.Linear(num_classes, old.in_features, bias=old.bias is not None,
                           device=old.weight.device, dtype=old.weight.dtype)
    return model.head
''',
        "always a bias": '''
def replace_head(model, num_classes):
    if num_classes < 1:
        raise ValueError("num_classes")
    old = model.head
    if not isinstance(old, nn.Linear):
        raise TypeError("head")
    model.head = nn.Linear(old.in_features, num_classes,
                           device=old.weight.device, dtype=old.weight.dtype)
    return model.head
''',
        "returns the new head but never assigns it": '''
def replace_head(model, num_classes):
    if num_classes < 1:
        raise ValueError("num_classes")
    old = model.head
    if not isinstance(old, nn.Linear):
        raise TypeError("head")
    return nn.Linear(old.in_features, num_classes, bias=old.bias is not None,
                     device=old.weight.device, dtype=old.weight.dtype)
''',
        "zero-initialised head": '''
def replace_head(model, num_classes):
    if num_classes < 1:
        raise ValueError("num_classes")
    old = model.head
    if not isinstance(old, nn.Linear):
        raise TypeError("head")
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None,
                    device=old.weight.device, dtype=old.weight.dtype)
    nn.init.zeros_(new.weight)
    if new.bias is not None:
        nn.init.zeros_(new.bias)
    model.head = new
    return new
''',
        "no argument checks": '''
def replace_head(model, num_classes):
    old = model.head
    model.head = nn.Linear(old.in_features, max(num_classes, 1),
                           bias=old.bias is not None,
                           device=old.weight.device, dtype=old.weight.dtype)
    return model.head
''',
        "copies the old head's requires_grad (a frozen head stays frozen)": '''
def replace_head(model, num_classes):
    if num_classes < 1:
        raise ValueError("num_classes")
    old = model.head
    if not isinstance(old, nn.Linear):
        raise TypeError("head")
    new = nn.Linear(old.in_features, num_classes, bias=old.bias is not None,
                    device=old.weight.device, dtype=old.weight.dtype)
    new.requires_grad_(old.weight.requires_grad)
    model.head = new
    return new
''',
        "checks num_classes after replacing the head": '''
def replace_head(model, num_classes):
    old = model.head
    if not isinstance(old, nn.Linear):
        raise TypeError("head")
    model.head = nn.Linear(old.in_features, max(num_classes, 0),
                           bias=old.bias is not None,
                           device=old.weight.device, dtype=old.weight.dtype)
    if num_classes < 1:
        raise ValueError("num_classes")
    return model.head
''',
    },
    "ch19-extract-features": {
        "backbone left in training mode (dropout and batch statistics)": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    with torch.no_grad():
        return torch.cat([backbone(X[i:i + batch_size])
                          for i in range(0, len(X), batch_size)])
''',
        "drops the last, shorter batch": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    mode = backbone.training
    backbone.eval()
    with torch.no_grad():
        parts = [backbone(X[i:i + batch_size])
                 for i in range(0, len(X) - batch_size + 1, batch_size)]
    backbone.train(mode)
    return torch.cat(parts)
''',
        "mode not restored": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    backbone.eval()
    with torch.no_grad():
        return torch.cat([backbone(X[i:i + batch_size])
                          for i in range(0, len(X), batch_size)])
''',
        "builds an autograd graph": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    mode = backbone.training
    backbone.eval()
    out = torch.cat([backbone(X[i:i + batch_size])
                     for i in range(0, len(X), batch_size)])
    backbone.train(mode)
    return out
''',
        "ignores batch_size (one huge batch)": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    mode = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = backbone(X)
    backbone.train(mode)
    return out
''',
        "always back to training mode afterwards": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    backbone.eval()
    with torch.no_grad():
        out = torch.cat([backbone(X[i:i + batch_size])
                         for i in range(0, len(X), batch_size)])
    backbone.train()
    return out
''',
        "restores only the top module's flag (inner dropout stays off)": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size < 1:
        raise ValueError("batch_size")
    mode = backbone.training
    backbone.eval()
    with torch.no_grad():
        out = torch.cat([backbone(X[i:i + batch_size])
                         for i in range(0, len(X), batch_size)])
    backbone.training = mode
    return out
''',
    },
    "ch19-param-groups": {
        "frozen parameters still in the optimiser": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative learning rate")
    return [{"params": list(model.backbone.parameters()), "lr": backbone_lr},
            {"params": list(model.head.parameters()), "lr": head_lr}]
''',
        "learning rates swapped": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative learning rate")
    groups = []
    for part, lr in ((model.backbone, head_lr), (model.head, backbone_lr)):
        params = [p for p in part.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr})
    return groups
''',
        "keeps an empty group for a frozen part": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative learning rate")
    return [{"params": [p for p in model.backbone.parameters() if p.requires_grad],
             "lr": backbone_lr},
            {"params": [p for p in model.head.parameters() if p.requires_grad],
             "lr": head_lr}]
''',
        "the head found by a name pattern ('head.weight' only)": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative learning rate")
    backbone, head = [], []
    for name, p in model.named_parameters():
        if p.requires_grad:
            (head if name == "head.weight" else backbone).append(p)
    return [g for g in ({"params": backbone, "lr": backbone_lr},
                        {"params": head, "lr": head_lr}) if g["params"]]
''',
        "no check of negative rates": '''
def param_groups(model, backbone_lr, head_lr):
    groups = []
    for part, lr in ((model.backbone, backbone_lr), (model.head, head_lr)):
        params = [p for p in part.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr})
    return groups
''',
        "the backbone group takes model.parameters(): the head in two groups": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative learning rate")
    groups = []
    for part, lr in ((model, backbone_lr), (model.head, head_lr)):
        params = [p for p in part.parameters() if p.requires_grad]
        if params:
            groups.append({"params": params, "lr": lr})
    return groups
''',
        "frozen parameters kept in the backbone group only": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative learning rate")
    groups = []
    backbone = list(model.backbone.parameters())
    if any(p.requires_grad for p in backbone):
        groups.append({"params": backbone, "lr": backbone_lr})
    head = [p for p in model.head.parameters() if p.requires_grad]
    if head:
        groups.append({"params": head, "lr": head_lr})
    return groups
''',
    },
}

RIGHT = {
    "ch19-freeze-backbone": {
        "requires_grad_ on the module and train(False) on every submodule": '''
def freeze_backbone(model):
    backbone = model.backbone
    backbone.requires_grad_(False)
    for module in backbone.modules():
        module.train(False)
    return sum(p.numel() for p in backbone.parameters())
''',
        "apply() with a function per module": '''
def freeze_backbone(model):
    def freeze(module):
        module.training = False
        for p in module.parameters(recurse=False):
            p.requires_grad = False
    model.backbone.apply(freeze)
    return sum(p.numel() for p in model.backbone.parameters())
''',
    },
    "ch19-replace-head": {
        "build on the CPU, then .to(device, dtype)": '''
def replace_head(model, num_classes):
    head = model.head
    if not isinstance(head, nn.Linear):
        raise TypeError("model.head must be nn.Linear")
    if num_classes < 1:
        raise ValueError("num_classes must be positive")
    fresh = nn.Linear(head.weight.shape[1], num_classes, head.bias is not None)
    fresh = fresh.to(device=head.weight.device, dtype=head.weight.dtype)
    setattr(model, "head", fresh)
    return fresh
''',
        "factory keywords in a dict, requires_grad set explicitly": '''
def replace_head(model, num_classes):
    old = model.head
    if type(old) is not nn.Linear and not isinstance(old, nn.Linear):
        raise TypeError("model.head is not nn.Linear")
    if num_classes <= 0:
        raise ValueError("need num_classes >= 1")
    factory = {"device": old.weight.device, "dtype": old.weight.dtype}
    new = nn.Linear(old.in_features, num_classes, old.bias is not None, **factory)
    for p in new.parameters():
        p.requires_grad = True
    model.head = new
    return model.head
''',
    },
    "ch19-extract-features": {
        "inference_mode, split and a restore in finally": '''
def extract_features(backbone, X, batch_size=256):
    if not batch_size >= 1:
        raise ValueError("batch_size must be >= 1")
    previous = backbone.training
    backbone.train(False)
    try:
        with torch.inference_mode():
            chunks = [backbone(chunk) for chunk in torch.split(X, batch_size)]
        out = torch.cat(chunks).clone()
    finally:
        backbone.train(previous)
    return out
''',
        "a preallocated output filled slice by slice": '''
def extract_features(backbone, X, batch_size=256):
    if batch_size <= 0:
        raise ValueError("batch_size")
    mode = backbone.training
    backbone.eval()
    out = None
    with torch.no_grad():
        for start in range(0, X.shape[0], batch_size):
            part = backbone(X[start:start + batch_size])
            if out is None:
                out = part.new_empty((X.shape[0],) + tuple(part.shape[1:]))
            out[start:start + len(part)] = part
    backbone.train(mode)
    return out
''',
    },
    "ch19-param-groups": {
        "named_parameters filtered by identity": '''
def param_groups(model, backbone_lr, head_lr):
    if min(backbone_lr, head_lr) < 0:
        raise ValueError("learning rates must be non-negative")
    result = []
    for module, lr in [(model.backbone, backbone_lr), (model.head, head_lr)]:
        trainable = [p for _, p in module.named_parameters() if p.requires_grad]
        if len(trainable) > 0:
            result.append(dict(params=trainable, lr=lr))
    return result
''',
        "named_parameters of the model split by prefix": '''
def param_groups(model, backbone_lr, head_lr):
    if backbone_lr < 0 or head_lr < 0:
        raise ValueError("negative rate")
    parts = {"backbone": [], "head": []}
    for name, p in model.named_parameters():
        prefix = name.split(".")[0]
        if prefix in parts and p.requires_grad:
            parts[prefix].append(p)
    out = []
    if parts["backbone"]:
        out.append({"params": parts["backbone"], "lr": backbone_lr})
    if parts["head"]:
        out.append({"params": parts["head"], "lr": head_lr})
    return out
''',
    },
}
