"""ch10: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

# --- shared pieces of the module answers ------------------------------------
_LSTM_INIT = '''
class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        for p in self.parameters():
            nn.init.uniform_(p, -hidden_size ** -0.5, hidden_size ** -0.5)
'''
_LSTM_GATES = '''
    def forward(self, x, state=None):
        if state is None:
            state = (x.new_zeros(x.shape[0], self.hidden_size),) * 2
        h, c = state
        gates = (x @ self.weight_ih.T + self.bias_ih
                 + h @ self.weight_hh.T + self.bias_hh)
'''
_GRU_INIT = '''
class GRUCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))
        self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))
        for p in self.parameters():
            nn.init.uniform_(p, -hidden_size ** -0.5, hidden_size ** -0.5)
'''
_GRU_GATES = '''
    def forward(self, x, h=None):
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        gi_r, gi_z, gi_n = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=1)
        gh_r, gh_z, gh_n = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=1)
'''
_LSTM_LAYER_INIT = '''
class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = LSTMCell(input_size, hidden_size)
        self.cell_reverse = LSTMCell(input_size, hidden_size) if bidirectional else None
'''

WRONG = {
    "ch10-rnn-cell": {
        "ReLU instead of tanh": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    pre = x @ W_ih.T + h @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.relu(pre)
''',
        "h W_hh instead of h W_hh^T": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    pre = x @ W_ih.T + h @ W_hh
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.tanh(pre)
''',
        "x W_ih instead of x W_ih^T": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    pre = x @ W_ih + h @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.tanh(pre)
''',
        "forgets b_hh": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    pre = x @ W_ih.T + h @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih
    return torch.tanh(pre)
''',
        "always adds the biases (fails on None)": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    return torch.tanh(x @ W_ih.T + b_ih + h @ W_hh.T + b_hh)
''',
        "sigmoid instead of tanh": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    pre = x @ W_ih.T + h @ W_hh.T
    if b_ih is not None:
        pre = pre + b_ih + b_hh
    return torch.sigmoid(pre)
''',
        "calls the forbidden torch.rnn_tanh_cell": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    return torch.rnn_tanh_cell(x, h, W_ih, W_hh, b_ih, b_hh)
''',
        "computes in float32": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    pre = x.float() @ W_ih.float().T + h.float() @ W_hh.float().T
    if b_ih is not None:
        pre = pre + b_ih.float() + b_hh.float()
    return torch.tanh(pre).to(x.dtype)
''',
    },
    "ch10-lstm-cell": {
        "gates in the order i, f, o, g": _LSTM_INIT + _LSTM_GATES + '''
        i, f, o, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "sigmoid on the candidate g": _LSTM_INIT + _LSTM_GATES + '''
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.sigmoid(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "h = o * c (no tanh on the cell)": _LSTM_INIT + _LSTM_GATES + '''
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * c, c
''',
        "the cell update forgets h instead of c": _LSTM_INIT + _LSTM_GATES + '''
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * h + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "coupled gates: c = f c + (1 - f) g": _LSTM_INIT + _LSTM_GATES + '''
        i, f, g, o = gates.chunk(4, dim=1)
        f = torch.sigmoid(f)
        c = f * c + (1 - f) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "the seed guide's state: torch.zeros(N, H), float32 on the CPU":
            _LSTM_INIT + '''
    def forward(self, x, state=None):
        if state is None:
            state = (torch.zeros(x.shape[0], self.hidden_size),) * 2
        h, c = state
        gates = (x @ self.weight_ih.T + self.bias_ih
                 + h @ self.weight_hh.T + self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "weights stored transposed, (I, 4H)": '''
class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        k = hidden_size ** -0.5
        self.weight_ih = nn.Parameter(
            torch.empty(input_size, 4 * hidden_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(
            torch.empty(hidden_size, 4 * hidden_size).uniform_(-k, k))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size).uniform_(-k, k))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size).uniform_(-k, k))

    def forward(self, x, state=None):
        if state is None:
            state = (x.new_zeros(x.shape[0], self.hidden_size),) * 2
        h, c = state
        gates = x @ self.weight_ih + self.bias_ih + h @ self.weight_hh + self.bias_hh
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "nn.Linear layers (parameters named ih.weight, ...)": '''
class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.ih = nn.Linear(input_size, 4 * hidden_size)
        self.hh = nn.Linear(hidden_size, 4 * hidden_size)

    def forward(self, x, state=None):
        if state is None:
            state = (x.new_zeros(x.shape[0], self.hidden_size),) * 2
        h, c = state
        i, f, g, o = (self.ih(x) + self.hh(h)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "calls the forbidden torch.lstm_cell": _LSTM_INIT + '''
    def forward(self, x, state=None):
        if state is None:
            state = (x.new_zeros(x.shape[0], self.hidden_size),) * 2
        return torch.lstm_cell(x, state, self.weight_ih, self.weight_hh,
                               self.bias_ih, self.bias_hh)
''',
        "updates the caller's cell state in place": _LSTM_INIT + _LSTM_GATES + '''
        i, f, g, o = gates.chunk(4, dim=1)
        c = c.detach().mul_(torch.sigmoid(f)) + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
        "weights initialised from N(0, 1)": '''
class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.randn(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.randn(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.zeros(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.zeros(4 * hidden_size))
''' + _LSTM_GATES + '''
        i, f, g, o = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c
''',
    },
    "ch10-gru-cell": {
        "reset gate outside b_hn: r * (W_hn h) + b_hn": _GRU_INIT + '''
    def forward(self, x, h=None):
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        H = self.hidden_size
        gi_r, gi_z, gi_n = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=1)
        gh = h @ self.weight_hh.T
        r = torch.sigmoid(gi_r + gh[:, :H] + self.bias_hh[:H])
        z = torch.sigmoid(gi_z + gh[:, H:2 * H] + self.bias_hh[H:2 * H])
        n = torch.tanh(gi_n + r * gh[:, 2 * H:] + self.bias_hh[2 * H:])
        return (1 - z) * n + z * h
''',
        "z and 1 - z swapped (the seed guide's convention)":
            _GRU_INIT + _GRU_GATES + '''
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
        return (1 - z) * h + z * n
''',
        "reset gate before the matrix (the original paper's GRU)": _GRU_INIT + '''
    def forward(self, x, h=None):
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        H = self.hidden_size
        gi_r, gi_z, gi_n = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=1)
        gh_r, gh_z, _ = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=1)
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + (r * h) @ self.weight_hh[2 * H:].T + self.bias_hh[2 * H:])
        return (1 - z) * n + z * h
''',
        "gates in the order z, r, n": _GRU_INIT + _GRU_GATES + '''
        z = torch.sigmoid(gi_r + gh_r)
        r = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
        return (1 - z) * n + z * h
''',
        "state zeros float32 on the CPU": _GRU_INIT + '''
    def forward(self, x, h=None):
        if h is None:
            h = torch.zeros(x.shape[0], self.hidden_size)
        gi_r, gi_z, gi_n = (x @ self.weight_ih.T + self.bias_ih).chunk(3, dim=1)
        gh_r, gh_z, gh_n = (h @ self.weight_hh.T + self.bias_hh).chunk(3, dim=1)
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.tanh(gi_n + r * gh_n)
        return (1 - z) * n + z * h
''',
        "calls the forbidden torch.gru_cell": _GRU_INIT + '''
    def forward(self, x, h=None):
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)
        return torch.gru_cell(x, h, self.weight_ih, self.weight_hh, self.bias_ih,
                              self.bias_hh)
''',
        "sigmoid on the candidate n": _GRU_INIT + _GRU_GATES + '''
        r = torch.sigmoid(gi_r + gh_r)
        z = torch.sigmoid(gi_z + gh_z)
        n = torch.sigmoid(gi_n + r * gh_n)
        return (1 - z) * n + z * h
''',
    },
    "ch10-lstm": {
        "backward outputs left in processing order": _LSTM_LAYER_INIT + '''
    def forward(self, x, state=None):
        cells = [self.cell] + ([self.cell_reverse] if self.cell_reverse else [])
        outs, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            hc = None if state is None else (state[0][d], state[1][d])
            seq = x if d == 0 else x.flip(1)
            per_step = []
            for t in range(x.shape[1]):
                hc = cell(seq[:, t], hc)
                per_step.append(hc[0])
            outs.append(torch.stack(per_step, 1))  # not flipped back
            hs.append(hc[0])
            cs.append(hc[1])
        return torch.cat(outs, 2), (torch.stack(hs), torch.stack(cs))
''',
        "backward h_n read at the last position": _LSTM_LAYER_INIT + '''
    def forward(self, x, state=None):
        cells = [self.cell] + ([self.cell_reverse] if self.cell_reverse else [])
        outs, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            hc = None if state is None else (state[0][d], state[1][d])
            steps = range(x.shape[1]) if d == 0 else range(x.shape[1] - 1, -1, -1)
            per_step = {}
            first = None
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc
                first = hc if first is None else first
            outs.append(torch.stack([per_step[t][0] for t in range(x.shape[1])], 1))
            end = hc if d == 0 else first
            hs.append(end[0])
            cs.append(end[1])
        return torch.cat(outs, 2), (torch.stack(hs), torch.stack(cs))
''',
        "the initial state: torch.zeros(D, N, H), float32 on the CPU":
            _LSTM_LAYER_INIT + '''
    def forward(self, x, state=None):
        cells = [self.cell] + ([self.cell_reverse] if self.cell_reverse else [])
        if state is None:
            zeros = torch.zeros(len(cells), x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        outs, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            hc = (state[0][d], state[1][d])
            steps = range(x.shape[1]) if d == 0 else range(x.shape[1] - 1, -1, -1)
            per_step = [None] * x.shape[1]
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc[0]
            outs.append(torch.stack(per_step, 1))
            hs.append(hc[0])
            cs.append(hc[1])
        return torch.cat(outs, 2), (torch.stack(hs), torch.stack(cs))
''',
        "one cell shared by both directions": '''
class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size)
        self.bidirectional = bidirectional

    def forward(self, x, state=None):
        cells = [self.cell] * (2 if self.bidirectional else 1)
        outs, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            hc = None if state is None else (state[0][d], state[1][d])
            steps = range(x.shape[1]) if d == 0 else range(x.shape[1] - 1, -1, -1)
            per_step = [None] * x.shape[1]
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc[0]
            outs.append(torch.stack(per_step, 1))
            hs.append(hc[0])
            cs.append(hc[1])
        return torch.cat(outs, 2), (torch.stack(hs), torch.stack(cs))
''',
        "ignores the initial state": _LSTM_LAYER_INIT + '''
    def forward(self, x, state=None):
        cells = [self.cell] + ([self.cell_reverse] if self.cell_reverse else [])
        outs, hs, cs = [], [], []
        for cell_index, cell in enumerate(cells):
            hc = None
            steps = range(x.shape[1])
            if cell_index:
                steps = reversed(steps)
            per_step = [None] * x.shape[1]
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc[0]
            outs.append(torch.stack(per_step, 1))
            hs.append(hc[0])
            cs.append(hc[1])
        return torch.cat(outs, 2), (torch.stack(hs), torch.stack(cs))
''',
        "concatenates [backward, forward]": _LSTM_LAYER_INIT + '''
    def forward(self, x, state=None):
        cells = [self.cell] + ([self.cell_reverse] if self.cell_reverse else [])
        outs, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            hc = None if state is None else (state[0][d], state[1][d])
            steps = range(x.shape[1]) if d == 0 else range(x.shape[1] - 1, -1, -1)
            per_step = [None] * x.shape[1]
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc[0]
            outs.append(torch.stack(per_step, 1))
            hs.append(hc[0])
            cs.append(hc[1])
        return torch.cat(outs[::-1], 2), (torch.stack(hs), torch.stack(cs))
''',
        "h_n stacked batch first, (N, D, H)": _LSTM_LAYER_INIT + '''
    def forward(self, x, state=None):
        cells = [self.cell] + ([self.cell_reverse] if self.cell_reverse else [])
        outs, hs, cs = [], [], []
        for d, cell in enumerate(cells):
            hc = None if state is None else (state[0][d], state[1][d])
            steps = range(x.shape[1]) if d == 0 else range(x.shape[1] - 1, -1, -1)
            per_step = [None] * x.shape[1]
            for t in steps:
                hc = cell(x[:, t], hc)
                per_step[t] = hc[0]
            outs.append(torch.stack(per_step, 1))
            hs.append(hc[0])
            cs.append(hc[1])
        return torch.cat(outs, 2), (torch.stack(hs, 1), torch.stack(cs, 1))
''',
        "calls the forbidden nn.LSTM": '''
class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size)
        self.cell_reverse = LSTMCell(input_size, hidden_size) if bidirectional else None
        self.hidden_size, self.input_size = hidden_size, input_size

    def forward(self, x, state=None):
        bi = self.cell_reverse is not None
        ref = nn.LSTM(self.input_size, self.hidden_size, batch_first=True,
                      bidirectional=bi).to(x.device, x.dtype)
        params = {"weight_ih_l0": self.cell.weight_ih,
                  "weight_hh_l0": self.cell.weight_hh,
                  "bias_ih_l0": self.cell.bias_ih, "bias_hh_l0": self.cell.bias_hh}
        if bi:
            params.update({k + "_reverse": getattr(self.cell_reverse, k[:-3])
                           for k in list(params)})
        return torch.func.functional_call(ref, params, (x, state))
''',
    },
    "ch10-attention-pooling": {
        "masks with -1e9 (overflows float16)": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        pad = torch.arange(T, device=scores.device) >= lengths[:, None]
        scores = scores.masked_fill(pad, -1e9)
    w = torch.softmax(scores, dim=1)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "mask inverted": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        pad = torch.arange(T, device=scores.device) < lengths[:, None]
        scores = scores.masked_fill(pad, float("-inf"))
    w = torch.softmax(scores, dim=1).nan_to_num(0.0)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "off by one: step t = length kept": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        pad = torch.arange(T, device=scores.device) > lengths[:, None]
        scores = scores.masked_fill(pad, float("-inf"))
    w = torch.softmax(scores, dim=1)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "ignores lengths": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None and ((lengths < 1) | (lengths > T)).any():
        raise ValueError("lengths")
    w = torch.softmax(scores, dim=1)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "masks after the softmax without renormalising": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    w = torch.softmax(scores, dim=1)
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        w = w * (torch.arange(T, device=scores.device) < lengths[:, None])
    return (w[:, :, None] * outputs).sum(1), w
''',
        "masks after the softmax and renormalises (0/0 for huge padded scores)": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    w = torch.softmax(scores, dim=1)
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        w = w * (torch.arange(T, device=scores.device) < lengths[:, None])
        w = w / w.sum(dim=1, keepdim=True)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "padded scores set to 0 instead of -inf": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        scores = scores * (torch.arange(T, device=scores.device) < lengths[:, None])
    w = torch.softmax(scores, dim=1)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "softmax over the batch (dim 0)": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        pad = torch.arange(T, device=scores.device) >= lengths[:, None]
        scores = scores.masked_fill(pad, float("-inf"))
    w = torch.softmax(scores, dim=0).nan_to_num(0.0)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "masks the caller's scores in place": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        pad = torch.arange(T, device=scores.device) >= lengths[:, None]
        scores.masked_fill_(pad, float("-inf"))
    w = torch.softmax(scores, dim=1)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "no ValueError for a length of 0 or above T": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        pad = torch.arange(T, device=scores.device) >= lengths[:, None]
        scores = scores.masked_fill(pad, float("-inf"))
    w = torch.softmax(scores, dim=1)
    return (w[:, :, None] * outputs).sum(1), w
''',
        "returns (weights, pooled)": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if ((lengths < 1) | (lengths > T)).any():
            raise ValueError("lengths")
        pad = torch.arange(T, device=scores.device) >= lengths[:, None]
        scores = scores.masked_fill(pad, float("-inf"))
    w = torch.softmax(scores, dim=1)
    return w, (w[:, :, None] * outputs).sum(1)
''',
    },
}

RIGHT = {
    "ch10-rnn-cell": {
        "F.linear, and tanh written as 1 - 2 / (exp(2a) + 1)": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    a = F.linear(x, W_ih, b_ih) + F.linear(h, W_hh, b_hh)
    return 1 - 2 / (torch.exp(2 * a) + 1)
''',
        "einsum and a zero bias for None": '''
def rnn_cell(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    zero = x.new_zeros(W_ih.shape[0])
    b = (zero if b_ih is None else b_ih) + (zero if b_hh is None else b_hh)
    return torch.tanh(torch.einsum("ni,hi->nh", x, W_ih)
                      + torch.einsum("nk,hk->nh", h, W_hh) + b)
''',
    },
    "ch10-lstm-cell": {
        "one gate at a time with slices, F.linear, sigmoid by hand": '''
class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.zeros(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.zeros(4 * hidden_size, hidden_size))
        self.bias_ih = nn.Parameter(torch.zeros(4 * hidden_size))
        self.bias_hh = nn.Parameter(torch.zeros(4 * hidden_size))
        self.reset_parameters()

    def reset_parameters(self):
        k = 1.0 / math.sqrt(self.hidden_size)
        with torch.no_grad():
            for p in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
                p.uniform_(-k, k)

    def forward(self, x, state=None):
        N, H = x.shape[0], self.hidden_size
        if state is None:
            h = torch.zeros(N, H, dtype=x.dtype, device=x.device)
            c = torch.zeros(N, H, dtype=x.dtype, device=x.device)
        else:
            h, c = state

        def part(k):
            rows = slice(k * H, (k + 1) * H)
            return (F.linear(x, self.weight_ih[rows], self.bias_ih[rows])
                    + F.linear(h, self.weight_hh[rows], self.bias_hh[rows]))

        def sig(z):
            return 1 / (1 + torch.exp(-z))

        i, f, g, o = sig(part(0)), sig(part(1)), torch.tanh(part(2)), sig(part(3))
        c_new = f * c + i * g
        return o * torch.tanh(c_new), c_new
''',
        "addmm, a view as (N, 4, H), unbind": '''
class LSTMCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        bound = hidden_size ** -0.5
        for name, shape in [("weight_ih", (4 * hidden_size, input_size)),
                            ("weight_hh", (4 * hidden_size, hidden_size)),
                            ("bias_ih", (4 * hidden_size,)),
                            ("bias_hh", (4 * hidden_size,))]:
            self.register_parameter(
                name, nn.Parameter(torch.empty(shape).uniform_(-bound, bound)))

    def forward(self, x, state=None):
        if state is None:
            h = c = torch.zeros_like(x[:, :1]).expand(-1, self.hidden_size)
        else:
            h, c = state
        pre = torch.addmm(self.bias_ih + self.bias_hh, x, self.weight_ih.t())
        pre = torch.addmm(pre, h, self.weight_hh.t())
        i, f, g, o = pre.view(x.shape[0], 4, self.hidden_size).unbind(1)
        c = f.sigmoid() * c + i.sigmoid() * g.tanh()
        return o.sigmoid() * c.tanh(), c
''',
    },
    "ch10-gru-cell": {
        "slices of the weights, torch.lerp for the interpolation": '''
class GRUCell(nn.Module):
    def __init__(self, input_size, hidden_size):
        super().__init__()
        H = self.hidden_size = hidden_size
        k = 1 / math.sqrt(H)
        self.weight_ih = nn.Parameter(torch.rand(3 * H, input_size) * 2 * k - k)
        self.weight_hh = nn.Parameter(torch.rand(3 * H, H) * 2 * k - k)
        self.bias_ih = nn.Parameter(torch.rand(3 * H) * 2 * k - k)
        self.bias_hh = nn.Parameter(torch.rand(3 * H) * 2 * k - k)

    def forward(self, x, h=None):
        H = self.hidden_size
        if h is None:
            h = torch.zeros(x.shape[0], H, dtype=x.dtype, device=x.device)
        W_ir, W_iz, W_in = self.weight_ih.split(H)
        W_hr, W_hz, W_hn = self.weight_hh.split(H)
        b_ir, b_iz, b_in = self.bias_ih.split(H)
        b_hr, b_hz, b_hn = self.bias_hh.split(H)
        r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
        z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
        n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
        return torch.lerp(n, h, z)  # n + z (h - n) = (1 - z) n + z h
''',
    },
    "ch10-lstm": {
        "flips the input for the backward direction, then flips back": '''
class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.hidden_size = hidden_size
        self.cell = LSTMCell(input_size, hidden_size)
        if bidirectional:
            self.cell_reverse = LSTMCell(input_size, hidden_size)
        else:
            self.cell_reverse = None

    def _run(self, cell, x, hc):
        hs = []
        for x_t in x.unbind(1):
            hc = cell(x_t, hc)
            hs.append(hc[0])
        return torch.stack(hs, 1), hc

    def forward(self, x, state=None):
        N, H = x.shape[0], self.hidden_size
        D = 1 if self.cell_reverse is None else 2
        if state is None:
            state = (x.new_zeros(D, N, H), x.new_zeros(D, N, H))
        out, (h, c) = self._run(self.cell, x, (state[0][0], state[1][0]))
        outs, hs, cs = [out], [h], [c]
        if D == 2:
            out, (h, c) = self._run(self.cell_reverse, x.flip(1),
                                    (state[0][1], state[1][1]))
            outs.append(out.flip(1))
            hs.append(h)
            cs.append(c)
        return torch.cat(outs, -1), (torch.stack(hs), torch.stack(cs))
''',
        "gates computed from the cells' parameters, no call to LSTMCell": '''
class LSTM(nn.Module):
    def __init__(self, input_size, hidden_size, bidirectional=False):
        super().__init__()
        self.cell = LSTMCell(input_size, hidden_size)
        self.cell_reverse = LSTMCell(input_size, hidden_size) if bidirectional else None

    @staticmethod
    def _step(p, x, h, c):
        gates = (x @ p.weight_ih.T + p.bias_ih) + (h @ p.weight_hh.T + p.bias_hh)
        i, f, g, o = gates.chunk(4, -1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c), c

    def forward(self, x, state=None):
        N, T, _ = x.shape
        H = self.cell.weight_hh.shape[1]
        dirs = [self.cell]
        if self.cell_reverse is not None:
            dirs.append(self.cell_reverse)
        h0 = x.new_zeros(len(dirs), N, H) if state is None else state[0]
        c0 = x.new_zeros(len(dirs), N, H) if state is None else state[1]
        halves, h_n, c_n = [], [], []
        for d, p in enumerate(dirs):
            h, c = h0[d], c0[d]
            order = list(range(T)) if d == 0 else list(range(T))[::-1]
            out = x.new_empty(N, T, H)
            for t in order:
                h, c = self._step(p, x[:, t], h, c)
                out = out.index_copy(1, torch.tensor([t], device=x.device), h[:, None])
            halves.append(out)
            h_n.append(h)
            c_n.append(c)
        return torch.cat(halves, 2), (torch.stack(h_n, 0), torch.stack(c_n, 0))
''',
    },
    "ch10-attention-pooling": {
        "torch.where with the dtype's minimum, a loop-free check of lengths": '''
def attention_pooling(outputs, scores, lengths=None):
    N, T = scores.shape
    if lengths is None:
        lengths = torch.full((N,), T, device=scores.device)
    if lengths.min() < 1 or lengths.max() > T:
        raise ValueError("every length must be in [1, T]")
    valid = torch.arange(T, device=scores.device)[None, :] < lengths[:, None]
    masked = torch.where(valid, scores, torch.finfo(scores.dtype).min)
    weights = torch.softmax(masked, dim=-1)
    weights = torch.where(valid, weights, torch.zeros_like(weights))
    pooled = torch.einsum("nt,nth->nh", weights, outputs)
    return pooled, weights
''',
        "one row at a time, softmax written out over the real steps": '''
def attention_pooling(outputs, scores, lengths=None):
    N, T = scores.shape
    weights = torch.zeros_like(scores)
    for i in range(N):
        L = T if lengths is None else int(lengths[i])
        if not 1 <= L <= T:
            raise ValueError(f"length {L} outside [1, {T}]")
        s = scores[i, :L]
        e = torch.exp(s - s.max())
        weights[i, :L] = e / e.sum()
    return (weights.unsqueeze(2) * outputs).sum(1), weights
''',
        "adds log(mask): 0 on real steps, -inf on padding": '''
def attention_pooling(outputs, scores, lengths=None):
    T = scores.shape[1]
    if lengths is not None:
        if (lengths < 1).any() or (lengths > T).any():
            raise ValueError("bad lengths")
        mask = (torch.arange(T, device=scores.device) < lengths.unsqueeze(1))
        scores = scores + torch.log(mask.to(scores.dtype))
    weights = scores.softmax(dim=1)
    return torch.bmm(weights.unsqueeze(1), outputs).squeeze(1), weights
''',
    },
}
