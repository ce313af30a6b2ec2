"""ch06: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

WRONG = {
    "ch06-binary-classifier": {
        "the seed guide's sigmoid inside forward (probabilities, not logits)": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return torch.sigmoid(self.out(torch.relu(self.hidden(x)))).squeeze(-1)
''',
        "returns shape (N, 1), not (N,)": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x)))
''',
        "squeeze() without a dim: a 0-d tensor for N = 1": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x))).squeeze()
''',
        "no ReLU (a linear model)": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.hidden(x)).squeeze(-1)
''',
        "layers created in the wrong order": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.out = nn.Linear(hidden, 1)
        self.hidden = nn.Linear(in_features, hidden)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x))).squeeze(-1)
''',
        "ignores the hidden argument (always 32)": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, 32)
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        return self.out(torch.relu(self.hidden(x))).squeeze(-1)
''',
        "dropout as in the seed guide (outputs differ in training mode)": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(self.drop(torch.relu(self.hidden(x)))).squeeze(-1)
''',
        "tanh instead of ReLU": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.hidden = nn.Linear(in_features, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        return self.out(torch.tanh(self.hidden(x))).squeeze(-1)
''',
    },
    "ch06-multilabel-metrics": {
        "subset accuracy computed per label (= 1 - Hamming)": '''
def multilabel_metrics(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 2:
        raise ValueError("shapes")
    wrong = (y_true.double() != y_pred.double()).double()
    return wrong.mean().item(), 1 - wrong.mean().item()
''',
        "Hamming loss as a count per example, not a fraction": '''
def multilabel_metrics(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 2:
        raise ValueError("shapes")
    wrong = y_true.double() != y_pred.double()
    return wrong.double().sum(1).mean().item(), (~wrong.any(1)).double().mean().item()
''',
        "subset accuracy with any() instead of all()": '''
def multilabel_metrics(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 2:
        raise ValueError("shapes")
    right = y_true.double() == y_pred.double()
    return (~right).double().mean().item(), right.any(1).double().mean().item()
''',
        "returns tensors instead of Python floats": '''
def multilabel_metrics(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 2:
        raise ValueError("shapes")
    wrong = y_true.double() != y_pred.double()
    return wrong.double().mean(), (~wrong.any(1)).double().mean()
''',
        "no check of the shapes (broadcasts (9, 4) with (9, 3)?)": '''
def multilabel_metrics(y_true, y_pred):
    wrong = y_true.double()[..., :y_pred.shape[-1]] != y_pred.double()
    wrong = wrong.reshape(len(wrong), -1)
    return wrong.double().mean().item(), (~wrong.any(1)).double().mean().item()
''',
        "calls the forbidden sklearn metrics": '''
def multilabel_metrics(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 2:
        raise ValueError("shapes")
    yt, yp = y_true.cpu().long().numpy(), y_pred.cpu().long().numpy()
    return (float(sklearn.metrics.hamming_loss(yt, yp)),
            float(sklearn.metrics.accuracy_score(yt, yp)))
''',
    },
    "ch06-r2-score": {
        "SS_res / SS_tot without 1 - ": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    ss_tot = (y_true - y_true.mean()).pow(2).sum()
    if ss_tot == 0:
        raise ValueError("constant")
    return (y_true - y_pred).pow(2).sum() / ss_tot
''',
        "arguments swapped (the mean of the predictions)": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    ss_tot = (y_pred - y_pred.mean()).pow(2).sum()
    if (y_true - y_true.mean()).pow(2).sum() == 0:
        raise ValueError("constant")
    return 1 - (y_true - y_pred).pow(2).sum() / ss_tot
''',
        "MSE over the unbiased variance (n vs n - 1)": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    if torch.var(y_true) == 0:
        raise ValueError("constant")
    return 1 - (y_true - y_pred).pow(2).mean() / torch.var(y_true)
''',
        "squared correlation": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    a, b = y_true - y_true.mean(), y_pred - y_pred.mean()
    if (a * a).sum() == 0:
        raise ValueError("constant")
    return (a * b).sum() ** 2 / ((a * a).sum() * (b * b).sum())
''',
        "no ValueError for a constant y_true (returns -inf or nan)": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    ss_tot = (y_true - y_true.mean()).pow(2).sum()
    return 1 - (y_true - y_pred).pow(2).sum() / ss_tot
''',
        "returns a Python float": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    ss_tot = (y_true - y_true.mean()).pow(2).sum().item()
    if ss_tot == 0:
        raise ValueError("constant")
    return 1 - (y_true - y_pred).pow(2).sum().item() / ss_tot
''',
        "calls the forbidden sklearn.metrics.r2_score": '''
def r2_score(y_true, y_pred):
    if y_true.shape != y_pred.shape or y_true.dim() != 1 or len(y_true) < 2:
        raise ValueError("shapes")
    if (y_true - y_true.mean()).pow(2).sum() == 0:
        raise ValueError("constant")
    value = sklearn.metrics.r2_score(y_true.cpu().numpy(), y_pred.cpu().numpy())
    return torch.tensor(value, dtype=y_true.dtype, device=y_true.device)
''',
    },
    "ch06-regressor": {
        "ReLU after the last layer (no negative predictions)": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1), nn.ReLU())

    def forward(self, x):
        return self.layers(x).squeeze(-1)
''',
        "returns shape (N, 1)": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1))

    def forward(self, x):
        return self.layers(x)
''',
        "one hidden layer only": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, x):
        return self.layers(x).squeeze(-1)
''',
        "the seed guide's widths 128 and 64, ignoring hidden": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, 128), nn.ReLU(),
            nn.Linear(128, 64), nn.ReLU(),
            nn.Linear(64, 1))

    def forward(self, x):
        return self.layers(x).squeeze(-1)
''',
        "a sigmoid at the end": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1))

    def forward(self, x):
        return torch.sigmoid(self.layers(x)).squeeze(-1)
''',
        "squeeze() without a dim: 0-d for N = 1": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Linear(in_features, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 1))

    def forward(self, x):
        return self.layers(x).squeeze()
''',
    },
    "ch06-kmeans": {
        "mean of an empty cluster (NaN centroid)": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    g = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(len(X), (1,), generator=g))]
    for _ in range(1, k):
        d2 = (X[:, None] - X[chosen][None]).pow(2).sum(-1).amin(1).double().cpu()
        w = d2 if d2.sum() > 0 else torch.ones_like(d2)
        chosen.append(int(torch.multinomial(w, 1, generator=g)))
    c = X[chosen].clone()
    for _ in range(num_iters):
        labels = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
        one_hot = torch.nn.functional.one_hot(labels, k).to(X.dtype)  # (N, k)
        c = (one_hot.T @ X) / one_hot.sum(0)[:, None]
    return c, labels
''',
        "k-means++ weighted by D(x), not D(x)^2": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    g = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(len(X), (1,), generator=g))]
    for _ in range(1, k):
        d = (X[:, None] - X[chosen][None]).pow(2).sum(-1).amin(1).sqrt()
        d = d.double().cpu()
        w = d if d.sum() > 0 else torch.ones_like(d)
        chosen.append(int(torch.multinomial(w, 1, generator=g)))
    c = X[chosen].clone()
    labels = None
    for _ in range(num_iters):
        new = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
        if labels is not None and torch.equal(new, labels):
            break
        labels = new
        for j in range(k):
            if (labels == j).any():
                c[j] = X[labels == j].mean(0)
    return c, labels
''',
        "random rows without k-means++, never updated after one step": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    g = torch.Generator().manual_seed(seed)
    c = X[torch.randperm(len(X), generator=g)[:k].to(X.device)].clone()
    labels = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
    return c, labels
''',
        "uniform random initial rows (no k-means++): stuck in local minima": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    g = torch.Generator().manual_seed(seed)
    c = X[torch.randperm(len(X), generator=g)[:k].to(X.device)].clone()
    for _ in range(num_iters):
        labels = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
        for j in range(k):
            if (labels == j).any():
                c[j] = X[labels == j].mean(0)
    return c, labels
''',
        "distances instead of squared distances for k-means++ (still fine) but "
        "Manhattan distance for the assignment": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    g = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(len(X), (1,), generator=g))]
    for _ in range(1, k):
        d2 = (X[:, None] - X[chosen][None]).pow(2).sum(-1).amin(1).double().cpu()
        w = d2 if d2.sum() > 0 else torch.ones_like(d2)
        chosen.append(int(torch.multinomial(w, 1, generator=g)))
    c = X[chosen].clone()
    for _ in range(num_iters):
        labels = (X[:, None] - c[None]).abs().sum(-1).argmin(1)
        for j in range(k):
            if (labels == j).any():
                c[j] = X[labels == j].mean(0)
    return c, labels
''',
        "labels as float": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    g = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(len(X), (1,), generator=g))]
    for _ in range(1, k):
        d2 = (X[:, None] - X[chosen][None]).pow(2).sum(-1).amin(1).double().cpu()
        w = d2 if d2.sum() > 0 else torch.ones_like(d2)
        chosen.append(int(torch.multinomial(w, 1, generator=g)))
    c = X[chosen].clone()
    for _ in range(num_iters):
        labels = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
        for j in range(k):
            if (labels == j).any():
                c[j] = X[labels == j].mean(0)
    return c, labels.to(X.dtype)
''',
        "unseeded: the global RNG picks the start": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    chosen = [int(torch.randint(len(X), (1,)))]
    for _ in range(1, k):
        d2 = (X[:, None] - X[chosen][None]).pow(2).sum(-1).amin(1).double().cpu()
        w = d2 if d2.sum() > 0 else torch.ones_like(d2)
        chosen.append(int(torch.multinomial(w, 1)))
    c = X[chosen].clone()
    for _ in range(num_iters):
        labels = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
        for j in range(k):
            if (labels == j).any():
                c[j] = X[labels == j].mean(0)
    return c, labels
''',
        "modifies X in place (centres it)": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    shift = X.mean(0)
    X -= shift
    g = torch.Generator().manual_seed(seed)
    chosen = [int(torch.randint(len(X), (1,), generator=g))]
    for _ in range(1, k):
        d2 = (X[:, None] - X[chosen][None]).pow(2).sum(-1).amin(1).double().cpu()
        w = d2 if d2.sum() > 0 else torch.ones_like(d2)
        chosen.append(int(torch.multinomial(w, 1, generator=g)))
    c = X[chosen].clone()
    for _ in range(num_iters):
        labels = (X[:, None] - c[None]).pow(2).sum(-1).argmin(1)
        for j in range(k):
            if (labels == j).any():
                c[j] = X[labels == j].mean(0)
    return c + shift, labels
''',
        "calls the forbidden sklearn KMeans": '''
def kmeans(X, k, num_iters, seed):
    if X.dim() != 2 or not 1 <= k <= X.shape[0]:
        raise ValueError("bad arguments")
    model = sklearn.cluster.KMeans(n_clusters=k, n_init=1, max_iter=num_iters,
                                   random_state=seed).fit(X.cpu().numpy())
    return (torch.tensor(model.cluster_centers_, dtype=X.dtype, device=X.device),
            torch.tensor(model.labels_, dtype=torch.int64, device=X.device))
''',
    },
    "ch06-epsilon-greedy": {
        "explores with probability 1 - epsilon (swapped)": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon")
    if torch.rand((), generator=generator).item() < 1 - epsilon:
        return int(torch.randint(len(q_values), (), generator=generator))
    return int(q_values.argmax())
''',
        "explores only among the non-greedy actions": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon")
    greedy = int(q_values.argmax())
    if len(q_values) > 1 and torch.rand((), generator=generator).item() < epsilon:
        other = int(torch.randint(len(q_values) - 1, (), generator=generator))
        return other if other < greedy else other + 1
    return greedy
''',
        "uses the global RNG instead of the generator": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon")
    if torch.rand(()).item() < epsilon:
        return int(torch.randint(len(q_values), ()))
    return int(q_values.argmax())
''',
        "ties go to the highest index": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon")
    if torch.rand((), generator=generator).item() < epsilon:
        return int(torch.randint(len(q_values), (), generator=generator))
    return len(q_values) - 1 - int(q_values.flip(0).argmax())
''',
        "returns a tensor": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon")
    if torch.rand((), generator=generator).item() < epsilon:
        return torch.randint(len(q_values), (), generator=generator)
    return q_values.argmax()
''',
        "argmin instead of argmax": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not 0 <= epsilon <= 1:
        raise ValueError("epsilon")
    if torch.rand((), generator=generator).item() < epsilon:
        return int(torch.randint(len(q_values), (), generator=generator))
    return int(q_values.argmin())
''',
        "no ValueError for epsilon outside [0, 1]": '''
def epsilon_greedy(q_values, epsilon, generator):
    if torch.rand((), generator=generator).item() < epsilon:
        return int(torch.randint(len(q_values), (), generator=generator))
    return int(q_values.argmax())
''',
    },
    "ch06-q-learning-update": {
        "bootstraps from a terminal next state (ignores done)": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = r + gamma * Q[s_next].max().item()
    td = target - Q[s, a].item()
    Q[s, a] += alpha * td
    return td
''',
        "SARSA-like: Q[s_next, a] instead of the max": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = r if done else r + gamma * Q[s_next, a].item()
    td = target - Q[s, a].item()
    Q[s, a] += alpha * td
    return td
''',
        "not in place (updates a copy)": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    Q = Q.clone()
    target = r if done else r + gamma * Q[s_next].max().item()
    td = target - Q[s, a].item()
    Q[s, a] += alpha * td
    return td
''',
        "forgets the step size (Q[s, a] = target)": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = r if done else r + gamma * Q[s_next].max().item()
    td = target - Q[s, a].item()
    Q[s, a] = target
    return td
''',
        "discounts the reward too": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = gamma * r if done else gamma * (r + Q[s_next].max().item())
    td = target - Q[s, a].item()
    Q[s, a] += alpha * td
    return td
''',
        "returns the TD error with the wrong sign": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = r if done else r + gamma * Q[s_next].max().item()
    td = target - Q[s, a].item()
    Q[s, a] += alpha * td
    return -td
''',
        "returns the TD error after the update": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = r if done else r + gamma * Q[s_next].max().item()
    Q[s, a] += alpha * (target - Q[s, a].item())
    return target - Q[s, a].item()
''',
        "updates the whole row Q[s]": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    target = r if done else r + gamma * Q[s_next].max().item()
    td = target - Q[s, a].item()
    Q[s] += alpha * td
    return td
''',
    },
}

RIGHT = {
    "ch06-binary-classifier": {
        "nn.Sequential and view(-1)": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(),
                                 nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).view(-1)
''',
        "ModuleList, F.relu and indexing the last column": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        self.linears = nn.ModuleList([nn.Linear(in_features, hidden),
                                      nn.Linear(hidden, 1)])

    def forward(self, x):
        h = F.relu(self.linears[0](x))
        return self.linears[1](h)[:, 0]
''',
        "raw parameters in the stated order, Linear's initialisation": '''
class BinaryClassifier(nn.Module):
    def __init__(self, in_features, hidden=32):
        super().__init__()
        first, second = nn.Linear(in_features, hidden), nn.Linear(hidden, 1)
        self.W1 = nn.Parameter(first.weight.detach().clone())
        self.b1 = nn.Parameter(first.bias.detach().clone())
        self.W2 = nn.Parameter(second.weight.detach().clone())
        self.b2 = nn.Parameter(second.bias.detach().clone())

    def forward(self, x):
        h = (x @ self.W1.T + self.b1).clamp(min=0)
        return (h @ self.W2.T + self.b2).flatten()
''',
    },
    "ch06-multilabel-metrics": {
        "counting with sum and all": '''
def multilabel_metrics(y_true, y_pred):
    if y_true.dim() != 2 or y_pred.shape != y_true.shape:
        raise ValueError(f"bad shapes {y_true.shape}, {y_pred.shape}")
    n, labels = y_true.shape
    same = y_true.long() == y_pred.long()
    hamming = (n * labels - int(same.sum())) / (n * labels)
    return float(hamming), float(int(same.all(dim=1).sum()) / n)
''',
        "Python lists": '''
def multilabel_metrics(y_true, y_pred):
    if len(y_true.shape) != 2 or tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError("y_true and y_pred must be (N, L) of the same shape")
    rows_t = [[int(v) for v in row] for row in y_true.tolist()]
    rows_p = [[int(v) for v in row] for row in y_pred.tolist()]
    wrong = sum(a != b for rt, rp in zip(rows_t, rows_p) for a, b in zip(rt, rp))
    exact = sum(rt == rp for rt, rp in zip(rows_t, rows_p))
    return wrong / (len(rows_t) * len(rows_t[0])), exact / len(rows_t)
''',
    },
    "ch06-r2-score": {
        "1 - MSE / biased variance": '''
def r2_score(y_true, y_pred):
    if y_true.ndim != 1 or y_true.shape != y_pred.shape or y_true.numel() < 2:
        raise ValueError("need two (N,) tensors, N >= 2")
    variance = torch.var(y_true, correction=0)
    if variance == 0:
        raise ValueError("constant y_true")
    return 1 - torch.mean((y_true - y_pred) ** 2) / variance
''',
        "explicit sums with torch.sum": '''
def r2_score(y_true, y_pred):
    if y_true.dim() != 1 or y_pred.dim() != 1 or len(y_true) != len(y_pred):
        raise ValueError("shapes")
    if len(y_true) < 2:
        raise ValueError("N < 2")
    centred = y_true - torch.sum(y_true) / len(y_true)
    ss_tot = torch.sum(centred * centred)
    if ss_tot.item() == 0.0:
        raise ValueError("constant")
    residual = y_true - y_pred
    return (ss_tot - torch.sum(residual * residual)) / ss_tot
''',
    },
    "ch06-regressor": {
        "three named layers and F.relu": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        self.fc1 = nn.Linear(in_features, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 1)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x).reshape(-1)
''',
        "a loop over a ModuleList": '''
class Regressor(nn.Module):
    def __init__(self, in_features, hidden=16):
        super().__init__()
        sizes = [in_features, hidden, hidden, 1]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes, sizes[1:]))

    def forward(self, x):
        for layer in self.layers[:-1]:
            x = torch.relu(layer(x))
        return self.layers[-1](x).squeeze(1)
''',
    },
    "ch06-kmeans": {
        "cumsum + rand + searchsorted, scatter-add means, centroid-change stop": '''
def kmeans(X, k, num_iters, seed):
    if X.ndim != 2:
        raise ValueError("X must be (N, D)")
    N, D = X.shape
    if k < 1 or k > N:
        raise ValueError("need 1 <= k <= N")
    g = torch.Generator().manual_seed(seed)
    Xc = X.detach().cpu().double()
    idx = [int(torch.rand((), generator=g) * N)]
    best = ((Xc - Xc[idx[0]]) ** 2).sum(1)
    for _ in range(1, k):
        if best.sum() > 0:
            cdf = torch.cumsum(best, 0)
            u = torch.rand((), generator=g, dtype=torch.float64) * cdf[-1]
            i = int(torch.searchsorted(cdf, u, right=True).clamp(max=N - 1))
        else:
            i = int(torch.randint(N, (), generator=g))
        idx.append(i)
        best = torch.minimum(best, ((Xc - Xc[i]) ** 2).sum(1))
    c = X[torch.tensor(idx, device=X.device)].clone()
    for _ in range(num_iters):
        d = ((X[:, None, :] - c[None, :, :]) ** 2).sum(-1)
        labels = torch.argmin(d, dim=1)
        sums = torch.zeros_like(c).index_add_(0, labels, X)
        counts = torch.bincount(labels, minlength=k).to(X.dtype)
        new_c = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], c)
        if torch.equal(new_c, c):
            break
        c = new_c
    return c, labels
''',
        "explicit Python loops over points and clusters": '''
def kmeans(X, k, num_iters, seed):
    if len(X.shape) != 2 or not (1 <= k <= X.shape[0]):
        raise ValueError("bad X or k")
    g = torch.Generator().manual_seed(seed)
    n = X.shape[0]
    rows = [int(torch.randint(0, n, (1,), generator=g)[0])]
    while len(rows) < k:
        d2 = torch.stack([((X - X[r]) ** 2).sum(1) for r in rows]).min(0).values
        w = d2.cpu().double()
        if float(w.sum()) == 0.0:
            w = torch.ones(n, dtype=torch.float64)
        rows.append(int(torch.multinomial(w / w.sum(), 1, generator=g)[0]))
    centroids = torch.stack([X[r] for r in rows]).clone()
    labels = torch.zeros(n, dtype=torch.int64, device=X.device)
    for it in range(num_iters):
        dist = torch.stack([((X - centroids[j]) ** 2).sum(1) for j in range(k)], 1)
        new_labels = dist.argmin(1)
        if it > 0 and bool((new_labels == labels).all()):
            break
        labels = new_labels
        for j in range(k):
            mask = labels == j
            if int(mask.sum()) > 0:
                centroids[j] = X[mask].sum(0) / mask.sum()
    return centroids, labels
''',
    },
    "ch06-epsilon-greedy": {
        "multinomial over the epsilon-greedy distribution": '''
def epsilon_greedy(q_values, epsilon, generator):
    if epsilon < 0 or epsilon > 1:
        raise ValueError("epsilon must be in [0, 1]")
    A = q_values.shape[0]
    probs = torch.full((A,), epsilon / A, dtype=torch.float64)
    probs[int(torch.argmax(q_values))] += 1 - epsilon
    return int(torch.multinomial(probs, 1, generator=generator).item())
''',
        "draws the random action first, then the coin, from one rand(2)": '''
def epsilon_greedy(q_values, epsilon, generator):
    if not (0.0 <= epsilon <= 1.0):
        raise ValueError(f"bad epsilon {epsilon}")
    u = torch.rand(2, generator=generator)
    A = len(q_values)
    if u[1].item() < epsilon:
        return min(int(u[0].item() * A), A - 1)
    values = q_values.tolist()
    return values.index(max(values))
''',
    },
    "ch06-q-learning-update": {
        "blend form with a (1 - done) mask": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    old = float(Q[s, a])
    target = r + gamma * (1.0 - float(done)) * float(Q[s_next].max())
    Q[s, a] = (1 - alpha) * old + alpha * target
    return target - old
''',
        "index_put_ with tensors on Q's device": '''
def q_learning_update(Q, s, a, r, s_next, alpha, gamma, done=False):
    bootstrap = torch.zeros((), dtype=Q.dtype, device=Q.device)
    if not done:
        bootstrap = torch.amax(Q[s_next])
    target = r + gamma * bootstrap
    delta = target - Q[s, a]
    Q.index_put_((torch.tensor([s], device=Q.device),
                  torch.tensor([a], device=Q.device)),
                 (Q[s, a] + alpha * delta).reshape(1))
    return delta.item()
''',
    },
}
