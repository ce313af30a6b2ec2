"""ch08: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_DEEP_MLP_HEAD = '''
class DeepMLP(nn.Module):
    def __init__(self, input_size, hidden_sizes, output_size, dropout=0.0):
        super().__init__()
'''

WRONG = {
    "ch08-mlp-forward": {
        "activation after the last layer too": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x
    for W, b in zip(weights, biases):
        h = activation(h @ W.T + b)
    return h
''',
        "weights not transposed (x @ W)": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x
    for i, (W, b) in enumerate(zip(weights, biases)):
        h = h @ W + b
        if i < len(weights) - 1:
            h = activation(h)
    return h
''',
        "ignores the activation argument (always ReLU)": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x
    for i, (W, b) in enumerate(zip(weights, biases)):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = torch.relu(h)
    return h
''',
        "forgets the biases": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x
    for i, W in enumerate(weights):
        h = h @ W.T
        if i < len(weights) - 1:
            h = activation(h)
    return h
''',
        "calls the forbidden F.linear": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x
    for i, (W, b) in enumerate(zip(weights, biases)):
        h = F.linear(h, W, b)
        if i < len(weights) - 1:
            h = activation(h)
    return h
''',
        "zip silently drops the extra bias (no ValueError)": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0:
        raise ValueError("no layers")
    h = x
    pairs = list(zip(weights, biases))
    for i, (W, b) in enumerate(pairs):
        h = h @ W.T + b
        if i < len(pairs) - 1:
            h = activation(h)
    return h
''',
        "stops one layer early (returns the last hidden activations)": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x
    for W, b in zip(weights[:-1], biases[:-1]):
        h = activation(h @ W.T + b)
    return h
''',
        "standardises x in place before the first layer": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("bad lists")
    h = x.sub_(0.5).add_(0.5)  # looks harmless, but writes into x (and rounds)
    h = x.mul_(3.0).div_(3.0)
    for i, (W, b) in enumerate(zip(weights, biases)):
        h = h @ W.T + b
        if i < len(weights) - 1:
            h = activation(h)
    return h
''',
    },
    "ch08-xor-weights": {
        "OR instead of XOR (one neuron too few)": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    W1 = torch.tensor([[1.0, 1.0]], dtype=dtype, device=device)
    b1 = torch.tensor([0.0], dtype=dtype, device=device)
    W2 = torch.tensor([[1.0]], dtype=dtype, device=device)
    b2 = torch.zeros(1, dtype=dtype, device=device)
    return W1, b1, W2, b2
''',
        "the right sign, not the exact values (a classifier, not XOR itself)": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    W1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=dtype, device=device)
    b1 = torch.tensor([0.0, -1.0], dtype=dtype, device=device)
    W2 = torch.tensor([[2.0, -4.0]], dtype=dtype, device=device)
    b2 = torch.tensor([-0.5], dtype=dtype, device=device)
    return W1, b1, W2, b2
''',
        "W1 transposed: shape (2, H) with H = 3": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    W1 = torch.tensor([[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]], dtype=dtype, device=device)
    b1 = torch.tensor([0.0, -1.0, 0.0], dtype=dtype, device=device)
    W2 = torch.tensor([[1.0, -2.0, 0.0]], dtype=dtype, device=device)
    b2 = torch.zeros(1, dtype=dtype, device=device)
    return W1, b1, W2, b2
''',
        "ignores dtype and device": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    W1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]])
    b1 = torch.tensor([0.0, -1.0])
    W2 = torch.tensor([[1.0, -2.0]])
    b2 = torch.zeros(1)
    return W1, b1, W2, b2
''',
        "b2 of shape () instead of (1,)": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    W1 = torch.tensor([[1.0, 1.0], [1.0, 1.0]], dtype=dtype, device=device)
    b1 = torch.tensor([0.0, -1.0], dtype=dtype, device=device)
    W2 = torch.tensor([[1.0, -2.0]], dtype=dtype, device=device)
    b2 = torch.tensor(0.0, dtype=dtype, device=device)
    return W1, b1, W2, b2
''',
    },
    "ch08-deep-mlp": {
        "a BatchNorm1d in every block (extra parameters, fails on a batch of 1)":
            _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(prev, h), nn.BatchNorm1d(h), nn.ReLU(),
                       nn.Dropout(dropout)]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(prev, output_size))

    def forward(self, x):
        return self.net(x)
''',
        "no dropout after the last hidden layer": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Dropout(dropout), nn.Linear(prev, h), nn.ReLU()]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(prev, output_size))

    def forward(self, x):
        return self.net(x)
''',
        "dropout after the output layer too": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(dropout)]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(prev, output_size),
                                 nn.Dropout(dropout))

    def forward(self, x):
        return self.net(x)
''',
        "ReLU after the output layer": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(dropout)]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(prev, output_size), nn.ReLU())

    def forward(self, x):
        return self.net(x)
''',
        "F.dropout without training=self.training (active in eval mode)":
            _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        self.p = dropout
        sizes = [input_size, *hidden_sizes, output_size]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = F.dropout(torch.relu(layer(x)), self.p)
        return self.layers[-1](x)
''',
        "dropout mask without the 1 / (1 - p) scaling": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        self.p = dropout
        sizes = [input_size, *hidden_sizes, output_size]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
            if self.training:
                x = x * (torch.rand_like(x) >= self.p)
        return self.layers[-1](x)
''',
        "no dropout at all": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(prev, h), nn.ReLU()]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(prev, output_size))

    def forward(self, x):
        return self.net(x)
''',
        "accepts dropout = 1 (no ValueError)": _DEEP_MLP_HEAD + '''
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(dropout)]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(prev, output_size))

    def forward(self, x):
        return self.net(x)
''',
        "crashes without hidden layers (uses hidden_sizes[-1])": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        layers, prev = [], input_size
        for h in hidden_sizes:
            layers += [nn.Linear(prev, h), nn.ReLU(), nn.Dropout(dropout)]
            prev = h
        self.net = nn.Sequential(*layers, nn.Linear(hidden_sizes[-1], output_size))

    def forward(self, x):
        return self.net(x)
''',
        "output layer created first (parameter order)": _DEEP_MLP_HEAD + '''
        if not 0 <= dropout < 1:
            raise ValueError("dropout")
        sizes = [input_size, *hidden_sizes]
        self.out = nn.Linear(sizes[-1], output_size)
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))
        self.drop = nn.Dropout(dropout)

    def forward(self, x):
        for layer in self.hidden:
            x = self.drop(torch.relu(layer(x)))
        return self.out(x)
''',
    },
    "ch08-count-parameters": {
        "ignores trainable_only and by_module (chapter 0's answer)": '''
def count_parameters(model, trainable_only=True, by_module=False):
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
''',
        "counts tied weights twice (walks modules without a seen set)": '''
def count_parameters(model, trainable_only=True, by_module=False):
    counts = {}
    for name, module in model.named_modules():
        n = sum(p.numel() for p in module.parameters(recurse=False)
                if p.requires_grad or not trainable_only)
        if n:
            counts[name] = n
    return counts if by_module else sum(counts.values())
''',
        "keys are parameter names, not module names": '''
def count_parameters(model, trainable_only=True, by_module=False):
    counts = {name: p.numel() for name, p in model.named_parameters()
              if p.requires_grad or not trainable_only}
    return counts if by_module else sum(counts.values())
''',
        "counts each module with all its children (recurse=True)": '''
def count_parameters(model, trainable_only=True, by_module=False):
    counts = {}
    for name, module in model.named_modules():
        if name == "":
            continue
        n = sum(p.numel() for p in module.parameters()
                if p.requires_grad or not trainable_only)
        if n:
            counts[name] = n
    if by_module:
        return counts
    return sum(p.numel() for p in model.parameters()
               if p.requires_grad or not trainable_only)
''',
        "modules without parameters kept with a 0": '''
def count_parameters(model, trainable_only=True, by_module=False):
    counts = {name: 0 for name, _ in model.named_modules()}
    for name, p in model.named_parameters():
        if p.requires_grad or not trainable_only:
            counts[name.rpartition(".")[0]] += p.numel()
    return counts if by_module else sum(counts.values())
''',
        "returns a tensor total": '''
def count_parameters(model, trainable_only=True, by_module=False):
    counts = {}
    for name, p in model.named_parameters():
        if p.requires_grad or not trainable_only:
            owner = name.rpartition(".")[0]
            counts[owner] = counts.get(owner, 0) + p.numel()
    if by_module:
        return counts
    return torch.tensor(sum(counts.values()))
''',
        "trainable_only inverted": '''
def count_parameters(model, trainable_only=True, by_module=False):
    counts = {}
    for name, p in model.named_parameters():
        if trainable_only or p.requires_grad:
            owner = name.rpartition(".")[0]
            counts[owner] = counts.get(owner, 0) + p.numel()
    return counts if by_module else sum(counts.values())
''',
    },
    "ch08-max-width": {
        "off by one: the first width over the budget": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth")
    size = lambda h: ((input_size + 1) * h + (depth - 1) * (h + 1) * h
                      + (h + 1) * output_size)
    h = 1
    while size(h) <= budget:
        h += 1
    return h
''',
        "strict < at the boundary": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth")
    size = lambda h: ((input_size + 1) * h + (depth - 1) * (h + 1) * h
                      + (h + 1) * output_size)
    h = 0
    while size(h + 1) < budget:
        h += 1
    return h
''',
        "forgets the biases": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth")
    size = lambda h: input_size * h + (depth - 1) * h * h + h * output_size
    h = 0
    while size(h + 1) <= budget:
        h += 1
    return h
''',
        "forgets the output layer": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth")
    size = lambda h: (input_size + 1) * h + (depth - 1) * (h + 1) * h
    h = 0
    while size(h + 1) <= budget:
        h += 1
    return h
''',
        "returns 1 when nothing fits": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth")
    size = lambda h: ((input_size + 1) * h + (depth - 1) * (h + 1) * h
                      + (h + 1) * output_size)
    h = 1
    while size(h + 1) <= budget:
        h += 1
    return h
''',
        "quadratic formula in floats, returns a float": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth")
    a = depth - 1
    b = input_size + 1 + (depth - 1) + output_size
    c = output_size - budget
    if a == 0:
        return max(0.0, (budget - output_size) // b)
    return max(0.0, (-b + math.sqrt(b * b - 4 * a * c)) // (2 * a))
''',
        "assert instead of ValueError for depth 0": '''
def max_width(input_size, depth, output_size, budget):
    assert depth >= 1, "depth must be >= 1"
    size = lambda h: ((input_size + 1) * h + (depth - 1) * (h + 1) * h
                      + (h + 1) * output_size)
    h = 0
    while size(h + 1) <= budget:
        h += 1
    return h
''',
    },
}

RIGHT = {
    "ch08-mlp-forward": {
        "functools.reduce-free loop with broadcasting sums, no @": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if not weights or len(weights) != len(biases):
        raise ValueError("weights and biases must be non-empty and of equal length")
    h = x
    last = len(weights) - 1
    for i in range(len(weights)):
        h = (h[:, None, :] * weights[i][None, :, :]).sum(dim=-1) + biases[i]
        if i != last:
            h = activation(h)
    return h
''',
        "torch.addmm and a list of layers": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) < 1 or len(biases) != len(weights):
        raise ValueError("bad parameter lists")
    layers = list(zip(weights, biases))
    h = x
    for W, b in layers[:-1]:
        h = activation(torch.addmm(b, h, W.t()))
    W, b = layers[-1]
    return torch.addmm(b, h, W.t())
''',
        "matmul with the transposed input": '''
def mlp_forward(x, weights, biases, activation=torch.relu):
    if len(weights) == 0 or len(weights) != len(biases):
        raise ValueError("mismatch")
    h = x.T  # (D, N): column vectors, as in the maths
    for i, (W, b) in enumerate(zip(weights, biases)):
        h = torch.matmul(W, h) + b[:, None]
        if i + 1 < len(weights):
            h = activation(h)
    return h.T
''',
    },
    "ch08-xor-weights": {
        "relu(x1 - x2) + relu(x2 - x1)": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    W1 = torch.tensor([[1.0, -1.0], [-1.0, 1.0]], dtype=dtype, device=device)
    b1 = torch.zeros(2, dtype=dtype, device=device)
    W2 = torch.ones(1, 2, dtype=dtype, device=device)
    b2 = torch.zeros(1, dtype=dtype, device=device)
    return W1, b1, W2, b2
''',
        "three neurons, a nonzero output bias": '''
def xor_weights(dtype=torch.float32, device="cpu"):
    kw = {"dtype": dtype, "device": torch.device(device)}
    W1 = torch.tensor([[1.0, 1.0], [1.0, 1.0], [0.0, 0.0]], **kw)
    b1 = torch.tensor([-1.0, 0.0, 1.0], **kw)
    W2 = torch.tensor([[-2.0, 1.0, 1.0]], **kw)
    b2 = torch.tensor([-1.0], **kw)
    return W1, b1, W2, b2
''',
    },
    "ch08-deep-mlp": {
        "Dropout before ReLU (they commute), layers as attributes": _DEEP_MLP_HEAD + '''
        if dropout < 0 or dropout >= 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        blocks = []
        prev = input_size
        for h in hidden_sizes:
            blocks.append(nn.Sequential(nn.Linear(prev, h), nn.Dropout(dropout),
                                        nn.ReLU()))
            prev = h
        self.blocks = nn.ModuleList(blocks)
        self.head = nn.Linear(prev, output_size)

    def forward(self, x):
        for block in self.blocks:
            x = block(x)
        return self.head(x)
''',
        "ModuleList and a hand-written inverted dropout": _DEEP_MLP_HEAD + '''
        if not (0.0 <= dropout < 1.0):
            raise ValueError("dropout out of range")
        self.p = dropout
        sizes = [input_size, *hidden_sizes, output_size]
        self.linears = nn.ModuleList(
            nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1))

    def forward(self, x):
        for linear in self.linears[:-1]:
            x = F.relu(linear(x))
            if self.training and self.p > 0:
                keep = torch.bernoulli(torch.full_like(x, 1 - self.p))
                x = x * keep / (1 - self.p)
        return self.linears[-1](x)
''',
        "F.dropout(training=self.training), no dropout modules": _DEEP_MLP_HEAD + '''
        if dropout >= 1 or dropout < 0:
            raise ValueError("need 0 <= dropout < 1")
        self.dropout = dropout
        self.hidden = nn.ModuleList()
        prev = input_size
        for h in hidden_sizes:
            self.hidden.append(nn.Linear(prev, h))
            prev = h
        self.output = nn.Linear(prev, output_size)

    def forward(self, x):
        for layer in self.hidden:
            x = F.dropout(layer(x).relu(), p=self.dropout, training=self.training)
        return self.output(x)
''',
    },
    "ch08-count-parameters": {
        "walks named_modules with a set of seen parameters": '''
def count_parameters(model, trainable_only=True, by_module=False):
    seen = set()
    counts = {}
    for name, module in model.named_modules():
        for p in module.parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            if trainable_only and not p.requires_grad:
                continue
            counts[name] = counts.get(name, 0) + p.numel()
    if by_module:
        return counts
    return sum(counts.values())
''',
        "rsplit on the parameter names, collections.Counter": '''
def count_parameters(model, trainable_only=True, by_module=False):
    import collections
    counter = collections.Counter()
    for full_name, p in model.named_parameters():
        if p.requires_grad or not trainable_only:
            parts = full_name.rsplit(".", 1)
            owner = parts[0] if len(parts) == 2 else ""
            counter[owner] += int(p.numel())
    if not by_module:
        return int(sum(counter.values()))
    return {k: int(v) for k, v in counter.items() if v > 0}
''',
    },
    "ch08-max-width": {
        "a plain loop": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth must be >= 1")
    def size(h):
        return ((input_size + 1) * h + (depth - 1) * (h + 1) * h
                + (h + 1) * output_size)
    h = 0
    while size(h + 1) <= budget:
        h += 1
    return h
''',
        "quadratic formula with math.isqrt and an integer correction": '''
def max_width(input_size, depth, output_size, budget):
    if depth < 1:
        raise ValueError("depth must be >= 1")
    a = depth - 1
    b = input_size + depth + output_size
    c = output_size
    def size(h):
        return a * h * h + b * h + c
    if a == 0:
        h = max(0, (budget - c) // b)
    else:
        h = max(0, (math.isqrt(max(0, b * b - 4 * a * (c - budget))) - b) // (2 * a))
    while h > 0 and size(h) > budget:
        h -= 1
    while size(h + 1) <= budget:
        h += 1
    return int(h)
''',
    },
}
