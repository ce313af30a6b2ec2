"""ch13: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_DENSE_INIT = '''
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if min(in_channels, growth_rate, num_layers) < 1:
            raise ValueError("sizes must be >= 1")
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(in_channels + i * growth_rate), nn.ReLU(),
                          nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3,
                                    padding=1, bias=False))
            for i in range(num_layers))
'''

_CHANNEL_INIT = '''
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError("channels // reduction is 0")
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def forward(self, x):
        return x * self.attention(x)
'''

_SPATIAL_INIT = '''
    def __init__(self, kernel_size=7):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd and >= 1")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def forward(self, x):
        return x * self.attention(x)
'''

WRONG = {
    "ch13-first-layer-grad-norm": {
        "the first parameter of model.parameters() (a LayerNorm's weight)": '''
def first_layer_grad_norm(model, x, y):
    if not any(isinstance(m, (nn.Linear, nn.Conv2d)) for m in model.modules()):
        raise ValueError("no layer")
    weight = next(model.parameters())
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [weight])
    return torch.linalg.vector_norm(grad).item()
''',
        "the bias of the first layer": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].bias])
    return torch.linalg.vector_norm(grad).item()
''',
        "the last layer instead of the first": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[-1].weight])
    return torch.linalg.vector_norm(grad).item()
''',
        "summed loss instead of the mean": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    loss = F.cross_entropy(model(x), y, reduction="sum")
    (grad,) = torch.autograd.grad(loss, [layers[0].weight])
    return torch.linalg.vector_norm(grad).item()
''',
        "squared norm": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].weight])
    return (grad ** 2).sum().item()
''',
        "returns a 0-d tensor": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].weight])
    return torch.linalg.vector_norm(grad)
''',
        "backward leaves gradients in .grad": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return torch.linalg.vector_norm(layers[0].weight.grad).item()
''',
        "backward, then .grad set to None (existing gradients lost)": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()
    value = torch.linalg.vector_norm(layers[0].weight.grad).item()
    model.zero_grad(set_to_none=True)
    return value
''',
        "backward accumulates onto existing gradients": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    saved = [p.grad for p in model.parameters()]  # references, not copies
    F.cross_entropy(model(x), y).backward()
    value = torch.linalg.vector_norm(layers[0].weight.grad).item()
    for p, g in zip(model.parameters(), saved):
        p.grad = g
    return value
''',
        "switches the model to eval mode": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    model.eval()
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].weight])
    return torch.linalg.vector_norm(grad).item()
''',
        "evaluates in eval mode, then restores the mode": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    was_training = model.training
    model.eval()
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].weight])
    model.train(was_training)
    return torch.linalg.vector_norm(grad).item()
''',
        "takes an optimiser step": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        raise ValueError("no layer")
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].weight])
    with torch.no_grad():
        layers[0].weight -= 0.01 * grad
    return torch.linalg.vector_norm(grad).item()
''',
        "no ValueError without a layer": '''
def first_layer_grad_norm(model, x, y):
    layers = [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    if not layers:
        return 0.0
    (grad,) = torch.autograd.grad(F.cross_entropy(model(x), y), [layers[0].weight])
    return torch.linalg.vector_norm(grad).item()
''',
        "norm of the gradient of every parameter together": '''
def first_layer_grad_norm(model, x, y):
    if not any(isinstance(m, (nn.Linear, nn.Conv2d)) for m in model.modules()):
        raise ValueError("no layer")
    params = [p for p in model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(F.cross_entropy(model(x), y), params)
    return math.sqrt(sum((g ** 2).sum().item() for g in grads))
''',
    },
    "ch13-dense-block": {
        "each layer sees only the previous layer's output": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if min(in_channels, growth_rate, num_layers) < 1:
            raise ValueError("sizes must be >= 1")
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(in_channels if i == 0 else growth_rate),
                          nn.ReLU(),
                          nn.Conv2d(in_channels if i == 0 else growth_rate,
                                    growth_rate, 3, padding=1, bias=False))
            for i in range(num_layers))

    def forward(self, x):
        features, h = [x], x
        for layer in self.layers:
            h = layer(h)
            features.append(h)
        return torch.cat(features, dim=1)
''',
        "new features first: cat([new, old])": '''
class DenseBlock(nn.Module):''' + _DENSE_INIT + '''
    def forward(self, x):
        out = x
        for layer in self.layers:
            out = torch.cat([layer(out), out], dim=1)
        return out
''',
        "the layers' outputs in reverse order after x": '''
class DenseBlock(nn.Module):''' + _DENSE_INIT + '''
    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.insert(1, layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)
''',
        "returns only the new features": '''
class DenseBlock(nn.Module):''' + _DENSE_INIT + '''
    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features[1:], dim=1)
''',
        "Conv -> BN -> ReLU (post-activation)": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if min(in_channels, growth_rate, num_layers) < 1:
            raise ValueError("sizes must be >= 1")
        self.layers = nn.ModuleList(
            nn.Sequential(nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3,
                                    padding=1, bias=False),
                          nn.BatchNorm2d(growth_rate), nn.ReLU())
            for i in range(num_layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)
''',
        "ReLU before the batch norm": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if min(in_channels, growth_rate, num_layers) < 1:
            raise ValueError("sizes must be >= 1")
        self.layers = nn.ModuleList(
            nn.Sequential(nn.ReLU(), nn.BatchNorm2d(in_channels + i * growth_rate),
                          nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3,
                                    padding=1, bias=False))
            for i in range(num_layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)
''',
        "convolutions with a bias": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if min(in_channels, growth_rate, num_layers) < 1:
            raise ValueError("sizes must be >= 1")
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(in_channels + i * growth_rate), nn.ReLU(),
                          nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3,
                                    padding=1))
            for i in range(num_layers))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)
''',
        "no ReLU": '''
class DenseBlock(nn.Module):''' + _DENSE_INIT + '''
    def forward(self, x):
        features = [x]
        for layer in self.layers:
            norm, _, conv = layer
            features.append(conv(norm(torch.cat(features, dim=1))))
        return torch.cat(features, dim=1)
''',
        "batch norm always in evaluation mode": '''
class DenseBlock(nn.Module):''' + _DENSE_INIT + '''
    def forward(self, x):
        features = [x]
        for layer in self.layers:
            norm, _, conv = layer
            h = F.batch_norm(torch.cat(features, dim=1), norm.running_mean,
                             norm.running_var, norm.weight, norm.bias, False)
            features.append(conv(F.relu(h)))
        return torch.cat(features, dim=1)
''',
        "never raises": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        self.layers = nn.ModuleList(
            nn.Sequential(nn.BatchNorm2d(in_channels + i * growth_rate), nn.ReLU(),
                          nn.Conv2d(in_channels + i * growth_rate, growth_rate, 3,
                                    padding=1, bias=False))
            for i in range(max(num_layers, 0)))

    def forward(self, x):
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)
''',
    },
    "ch13-channel-attention": {
        "average pooling only (squeeze-and-excitation)": '''
class ChannelAttention(nn.Module):''' + _CHANNEL_INIT + '''
    def attention(self, x):
        z = self.fc2(F.relu(self.fc1(x.mean(dim=(2, 3)))))
        return torch.sigmoid(z)[:, :, None, None]
''',
        "max pooling only": '''
class ChannelAttention(nn.Module):''' + _CHANNEL_INIT + '''
    def attention(self, x):
        z = self.fc2(F.relu(self.fc1(x.amax(dim=(2, 3)))))
        return torch.sigmoid(z)[:, :, None, None]
''',
        "a sigmoid on each branch, then the mean": '''
class ChannelAttention(nn.Module):''' + _CHANNEL_INIT + '''
    def attention(self, x):
        def mlp(z):
            return torch.sigmoid(self.fc2(F.relu(self.fc1(z))))
        s = (mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3)))) / 2
        return s[:, :, None, None]
''',
        "the pooled summaries added before the MLP": '''
class ChannelAttention(nn.Module):''' + _CHANNEL_INIT + '''
    def attention(self, x):
        z = x.mean(dim=(2, 3)) + x.amax(dim=(2, 3))
        return torch.sigmoid(self.fc2(F.relu(self.fc1(z))))[:, :, None, None]
''',
        "softmax over the channels instead of a sigmoid": '''
class ChannelAttention(nn.Module):''' + _CHANNEL_INIT + '''
    def attention(self, x):
        def mlp(z):
            return self.fc2(F.relu(self.fc1(z)))
        s = torch.softmax(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))), dim=1)
        return s[:, :, None, None]
''',
        "two separate MLPs for average and max": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError("channels // reduction is 0")
        hidden = channels // reduction
        self.avg_mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                     nn.Linear(hidden, channels))
        self.max_mlp = nn.Sequential(nn.Linear(channels, hidden), nn.ReLU(),
                                     nn.Linear(hidden, channels))

    def attention(self, x):
        s = self.avg_mlp(x.mean(dim=(2, 3))) + self.max_mlp(x.amax(dim=(2, 3)))
        return torch.sigmoid(s)[:, :, None, None]

    def forward(self, x):
        return x * self.attention(x)
''',
        "weights computed once for the whole batch": '''
class ChannelAttention(nn.Module):''' + _CHANNEL_INIT + '''
    def attention(self, x):
        def mlp(z):
            return self.fc2(F.relu(self.fc1(z)))
        a = x.mean(dim=(0, 2, 3), keepdim=True)[:, :, 0, 0].expand(len(x), -1)
        m = x.amax(dim=(0, 2, 3), keepdim=True)[:, :, 0, 0].expand(len(x), -1)
        return torch.sigmoid(mlp(a) + mlp(m))[:, :, None, None]
''',
        "the seed guide's reduction (no ValueError when it is 0)": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def attention(self, x):
        def mlp(z):
            return self.fc2(F.relu(self.fc1(z)))
        s = torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))
        return s[:, :, None, None]

    def forward(self, x):
        return x * self.attention(x)
''',
        "attention returns shape (N, C)": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError("channels // reduction is 0")
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)

    def attention(self, x):
        def mlp(z):
            return self.fc2(F.relu(self.fc1(z)))
        return torch.sigmoid(mlp(x.mean(dim=(2, 3))) + mlp(x.amax(dim=(2, 3))))

    def forward(self, x):
        return x * self.attention(x)[:, :, None, None]
''',
    },
    "ch13-spatial-attention": {
        "[max, mean] instead of [mean, max]": '''
class SpatialAttention(nn.Module):''' + _SPATIAL_INIT + '''
    def attention(self, x):
        pooled = torch.cat([x.amax(dim=1, keepdim=True),
                            x.mean(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))
''',
        "sum over the channels instead of the mean": '''
class SpatialAttention(nn.Module):''' + _SPATIAL_INIT + '''
    def attention(self, x):
        pooled = torch.cat([x.sum(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))
''',
        "convolution with a bias (the seed guide's)": '''
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd and >= 1")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def attention(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, x):
        return x * self.attention(x)
''',
        "no sigmoid": '''
class SpatialAttention(nn.Module):''' + _SPATIAL_INIT + '''
    def attention(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)
        return self.conv(pooled)
''',
        "softmax over the positions": '''
class SpatialAttention(nn.Module):''' + _SPATIAL_INIT + '''
    def attention(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)
        s = self.conv(pooled)
        return torch.softmax(s.flatten(2), dim=-1).reshape(s.shape)
''',
        "the kernel flipped (a true convolution)": '''
class SpatialAttention(nn.Module):''' + _SPATIAL_INIT + '''
    def attention(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)
        k = self.conv.weight.shape[-1]
        return torch.sigmoid(F.conv2d(pooled, self.conv.weight.flip(2, 3),
                                      padding=k // 2))
''',
        "padding kernel_size // 2 on an even kernel (no ValueError)": '''
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def attention(self, x):
        pooled = torch.cat([x.mean(dim=1, keepdim=True),
                            x.amax(dim=1, keepdim=True)], dim=1)
        return torch.sigmoid(self.conv(pooled))

    def forward(self, x):
        return x * self.attention(x)
''',
        "pooled over the positions instead of the channels": '''
class SpatialAttention(nn.Module):''' + _SPATIAL_INIT + '''
    def attention(self, x):
        pooled = torch.cat([x.mean(dim=(2, 3), keepdim=True),
                            x.amax(dim=(2, 3), keepdim=True)], dim=1)[:, :2]
        return torch.sigmoid(self.conv(pooled)).expand(len(x), 1, *x.shape[2:])
''',
    },
}

RIGHT = {
    "ch13-first-layer-grad-norm": {
        "backward with copies of the old gradients restored": '''
def first_layer_grad_norm(model, x, y):
    first = None
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            first = module
            break
    if first is None:
        raise ValueError("the model has no Linear or Conv2d layer")
    params = list(model.parameters())
    saved = [None if p.grad is None else p.grad.clone() for p in params]
    for p in params:
        p.grad = None
    F.cross_entropy(model(x), y).backward()
    value = float(first.weight.grad.pow(2).sum().sqrt())
    for p, g in zip(params, saved):
        p.grad = g
    return value
''',
        "autograd.grad on named modules, sqrt of a sum of squares": '''
def first_layer_grad_norm(model, x, y):
    found = [m for _, m in model.named_modules()
             if isinstance(m, nn.Linear) or isinstance(m, nn.Conv2d)]
    if len(found) == 0:
        raise ValueError("no nn.Linear or nn.Conv2d in the model")
    logits = model(x)
    loss = F.cross_entropy(logits, y, reduction="sum") / len(y)
    grad = torch.autograd.grad(loss, found[0].weight)[0]
    return math.sqrt((grad * grad).sum().item())
''',
        "checks for a layer after the forward pass; log-softmax by hand": '''
def first_layer_grad_norm(model, x, y):
    logits = model(x)
    weight = next((m.weight for m in model.modules()
                   if isinstance(m, (nn.Conv2d, nn.Linear))), None)
    if weight is None:
        raise ValueError("no first layer")
    log_p = logits - logits.logsumexp(dim=1, keepdim=True)
    loss = -log_p.gather(1, y[:, None]).mean()
    (grad,) = torch.autograd.grad(loss, weight)
    return grad.norm().item()
''',
    },
    "ch13-dense-block": {
        "a running tensor, concatenated after each layer": '''
class DenseBlock(nn.Module):''' + _DENSE_INIT + '''
    def forward(self, x):
        out = x
        for layer in self.layers:
            out = torch.cat([out, layer(out)], dim=1)
        return out
''',
        "interleaved attributes added with add_module, functional ReLU": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if in_channels < 1 or growth_rate < 1 or num_layers < 1:
            raise ValueError("every size must be at least 1")
        self.num_layers = num_layers
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self.add_module(f"norm{i}", nn.BatchNorm2d(c))
            self.add_module(f"conv{i}", nn.Conv2d(c, growth_rate, kernel_size=3,
                                                  stride=1, padding=1, bias=False))

    def forward(self, x):
        maps = [x]
        for i in range(self.num_layers):
            h = getattr(self, f"norm{i}")(torch.cat(maps, 1))
            maps.append(getattr(self, f"conv{i}")(torch.relu(h)))
        return torch.cat(maps, 1)
''',
        "ModuleDict per layer, output preallocated": '''
class DenseBlock(nn.Module):
    def __init__(self, in_channels, growth_rate, num_layers):
        super().__init__()
        if min(in_channels, growth_rate, num_layers) <= 0:
            raise ValueError("bad sizes")
        self.c0, self.k = in_channels, growth_rate
        self.blocks = nn.ModuleList()
        for i in range(num_layers):
            c = in_channels + i * growth_rate
            self.blocks.append(nn.ModuleDict(
                {"bn": nn.BatchNorm2d(c),
                 "conv": nn.Conv2d(c, growth_rate, 3, padding=1, bias=False)}))

    def forward(self, x):
        n, _, h, w = x.shape
        total = self.c0 + len(self.blocks) * self.k
        out = x.new_zeros(n, total, h, w)
        out[:, :self.c0] = x
        c = self.c0
        for block in self.blocks:
            new = block["conv"](F.relu(block["bn"](out[:, :c])))
            out = torch.cat([out[:, :c], new, out[:, c + self.k:]], dim=1)
            c += self.k
        return out
''',
    },
    "ch13-channel-attention": {
        "the seed guide's layout (adaptive pools, Sequential MLP)": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction == 0:
            raise ValueError("reduction larger than channels")
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.max_pool = nn.AdaptiveMaxPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channels, channels // reduction), nn.ReLU(),
                                nn.Linear(channels // reduction, channels))

    def attention(self, x):
        b, c, _, _ = x.size()
        avg_out = self.fc(self.avg_pool(x).view(b, c))
        max_out = self.fc(self.max_pool(x).view(b, c))
        return torch.sigmoid(avg_out + max_out).view(b, c, 1, 1)

    def forward(self, x):
        return x * self.attention(x)
''',
        "both summaries through the MLP as one batch; 1 / (1 + exp)": '''
class ChannelAttention(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction
        if hidden < 1:
            raise ValueError(f"{channels} // {reduction} == 0")
        self.down = nn.Linear(channels, hidden, bias=True)
        self.up = nn.Linear(hidden, channels, bias=True)

    def attention(self, x):
        flat = x.flatten(2)  # (N, C, H*W)
        both = torch.cat([flat.mean(-1), flat.max(-1).values], dim=0)  # (2N, C)
        scores = self.up(torch.relu(self.down(both)))
        s = scores[:len(x)] + scores[len(x):]
        return (1 / (1 + torch.exp(-s))).reshape(len(x), -1, 1, 1)

    def forward(self, x):
        return self.attention(x) * x
''',
    },
    "ch13-spatial-attention": {
        "the seed guide's layout without the bias": '''
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        if kernel_size % 2 != 1 or kernel_size <= 0:
            raise ValueError("odd kernel sizes only")
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2, bias=False)

    def attention(self, x):
        avg_out = torch.mean(x, dim=1, keepdim=True)
        max_out, _ = torch.max(x, dim=1, keepdim=True)
        return torch.sigmoid(self.conv(torch.cat([avg_out, max_out], dim=1)))

    def forward(self, x):
        return x * self.attention(x)
''',
        "a bare Parameter and F.conv2d; stack of the two maps": '''
class SpatialAttention(nn.Module):
    def __init__(self, kernel_size=7):
        super().__init__()
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        self.k = kernel_size
        self.weight = nn.Parameter(torch.empty(1, 2, kernel_size, kernel_size))
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))

    def attention(self, x):
        maps = torch.stack([x.sum(1) / x.shape[1], x.max(1).values], dim=1)
        return torch.sigmoid(F.conv2d(maps, self.weight, padding=(self.k - 1) // 2))

    def forward(self, x):
        return x * self.attention(x)
''',
    },
}
