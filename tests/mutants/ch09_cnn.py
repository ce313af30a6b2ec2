"""ch09: planted wrong answers (must lose points) and right answers written
differently (must pass)."""

_RESIDUAL_INIT = '''
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride,
                               padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                nn.BatchNorm2d(out_channels))
'''

_SEPARABLE_INIT = '''
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   stride=stride, padding=padding,
                                   groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)
'''

_SE_INIT = '''
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError("channels // reduction is 0")
        self.fc1 = nn.Linear(channels, channels // reduction)
        self.fc2 = nn.Linear(channels // reduction, channels)
'''

WRONG = {
    "ch09-conv2d-output-size": {
        "dilation ignored": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = (size + 2 * padding - (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "ceil instead of floor": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = math.ceil((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "padding on one side only": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = (size + padding - dilation * (kernel - 1) - 1) // stride + 1
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "no + 1": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "int() truncates towards 0 (1 instead of an error)": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = int((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1
    if out < 1:
        raise ValueError("no output")
    return out
''',
        "never raises": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
''',
        "returns a float": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    out = math.floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride)
    if out + 1 < 1:
        raise ValueError("no output")
    return float(out + 1)
''',
    },
    "ch09-conv2d": {
        "calls F.conv2d": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight, bias, stride=stride, padding=padding)
''',
        "flipped kernel (a true convolution)": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    weight = weight.flip(2, 3)
    c_out, _, k_h, k_w = weight.shape
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    h_out = (x.shape[2] + 2 * p_h - k_h) // s_h + 1
    w_out = (x.shape[3] + 2 * p_w - k_w) // s_w + 1
    cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w), stride=(s_h, s_w))
    out = (weight.reshape(c_out, -1) @ cols).reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
''',
        "C_in and C_out swapped when flattening the weight": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    c_out, c_in, k_h, k_w = weight.shape
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    h_out = (x.shape[2] + 2 * p_h - k_h) // s_h + 1
    w_out = (x.shape[3] + 2 * p_w - k_w) // s_w + 1
    cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w), stride=(s_h, s_w))
    w = weight.transpose(0, 1).reshape(c_out, -1)
    out = (w @ cols).reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
''',
        "kH and kW swapped": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    c_out, c_in, k_h, k_w = weight.shape
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    h_out = (x.shape[2] + 2 * p_h - k_w) // s_h + 1
    w_out = (x.shape[3] + 2 * p_w - k_h) // s_w + 1
    cols = F.unfold(x, (k_w, k_h), padding=(p_h, p_w), stride=(s_h, s_w))
    out = (weight.transpose(2, 3).reshape(c_out, -1) @ cols)
    out = out.reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
''',
        "the stride's first entry used for both axes": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    s = stride if isinstance(stride, int) else stride[0]
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    c_out, _, k_h, k_w = weight.shape
    h_out = (x.shape[2] + 2 * p_h - k_h) // s + 1
    w_out = (x.shape[3] + 2 * p_w - k_w) // s + 1
    cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w), stride=s)
    out = (weight.reshape(c_out, -1) @ cols).reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
''',
        "subsampled from the wrong offset": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    c_out, _, k_h, k_w = weight.shape
    h_full = x.shape[2] + 2 * p_h - k_h + 1
    w_full = x.shape[3] + 2 * p_w - k_w + 1
    cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w))
    out = (weight.reshape(c_out, -1) @ cols).reshape(len(x), c_out, h_full, w_full)
    h_out, w_out = (h_full - 1) // s_h + 1, (w_full - 1) // s_w + 1
    out = torch.roll(out, (-1, -1), dims=(2, 3))[:, :, ::s_h, ::s_w]
    out = out[:, :, :h_out, :w_out]
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
''',
        "bias added along the last axis": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    c_out, _, k_h, k_w = weight.shape
    h_out = (x.shape[2] + 2 * p_h - k_h) // s_h + 1
    w_out = (x.shape[3] + 2 * p_w - k_w) // s_w + 1
    cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w), stride=(s_h, s_w))
    out = (weight.reshape(c_out, -1) @ cols).reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias
''',
        "padding forgotten": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    c_out, _, k_h, k_w = weight.shape
    h_out = (x.shape[2] - k_h) // s_h + 1
    w_out = (x.shape[3] - k_w) // s_w + 1
    cols = F.unfold(x, (k_h, k_w), stride=(s_h, s_w))
    out = (weight.reshape(c_out, -1) @ cols).reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
''',
        "always float32": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    x, weight = x.float(), weight.float()
    s_h, s_w = (stride, stride) if isinstance(stride, int) else stride
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    c_out, _, k_h, k_w = weight.shape
    h_out = (x.shape[2] + 2 * p_h - k_h) // s_h + 1
    w_out = (x.shape[3] + 2 * p_w - k_w) // s_w + 1
    cols = F.unfold(x, (k_h, k_w), padding=(p_h, p_w), stride=(s_h, s_w))
    out = (weight.reshape(c_out, -1) @ cols).reshape(len(x), c_out, h_out, w_out)
    return out if bias is None else out + bias.float().reshape(1, -1, 1, 1)
''',
    },
    "ch09-max-pool2d": {
        "calls F.max_pool2d": '''
def max_pool2d(x, kernel, stride=None):
    return F.max_pool2d(x, kernel, stride)
''',
        "stride defaults to 1": '''
def max_pool2d(x, kernel, stride=None):
    stride = 1 if stride is None else stride
    return x.unfold(2, kernel, stride).unfold(3, kernel, stride).amax(dim=(-2, -1))
''',
        "running maximum starts at 0": '''
def max_pool2d(x, kernel, stride=None):
    s = kernel if stride is None else stride
    h_out = (x.shape[2] - kernel) // s + 1
    w_out = (x.shape[3] - kernel) // s + 1
    out = x.new_zeros(x.shape[0], x.shape[1], h_out, w_out)
    for m in range(kernel):
        for n in range(kernel):
            out = torch.maximum(out, x[:, :, m:m + s * (h_out - 1) + 1:s,
                                       n:n + s * (w_out - 1) + 1:s])
    return out
''',
        "ceil mode (partial windows at the edges kept)": '''
def max_pool2d(x, kernel, stride=None):
    s = kernel if stride is None else stride
    h, w = x.shape[2], x.shape[3]
    extra_h = (-(h - kernel)) % s
    extra_w = (-(w - kernel)) % s
    x = F.pad(x, (0, extra_w, 0, extra_h), value=-math.inf)
    return x.unfold(2, kernel, s).unfold(3, kernel, s).amax(dim=(-2, -1))
''',
        "average instead of max": '''
def max_pool2d(x, kernel, stride=None):
    s = kernel if stride is None else stride
    return x.unfold(2, kernel, s).unfold(3, kernel, s).mean(dim=(-2, -1))
''',
        "pools along the height only": '''
def max_pool2d(x, kernel, stride=None):
    s = kernel if stride is None else stride
    out = x.unfold(2, kernel, s).amax(dim=-1)
    return out[:, :, :, ::s][:, :, :, :(x.shape[3] - kernel) // s + 1]
''',
        "ReLU before pooling (a max that starts at 0)": '''
def max_pool2d(x, kernel, stride=None):
    s = kernel if stride is None else stride
    x = x.clamp(min=0)
    return x.unfold(2, kernel, s).unfold(3, kernel, s).amax(dim=(-2, -1))
''',
    },
    "ch09-residual-block": {
        "no ReLU after the addition": '''
class ResidualBlock(nn.Module):''' + _RESIDUAL_INIT + '''
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return self.bn2(self.conv2(out)) + self.shortcut(x)
''',
        "ReLU before the addition": '''
class ResidualBlock(nn.Module):''' + _RESIDUAL_INIT + '''
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out))) + self.shortcut(x)
''',
        "no shortcut at all": '''
class ResidualBlock(nn.Module):''' + _RESIDUAL_INIT + '''
    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)))
''',
        "always a projection shortcut": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
            nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
''',
        "projection only when the channels change (not the stride)": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
''',
        "stride on the second convolution": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
''',
        "convolutions with a bias": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
''',
        "projection without batch norm": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Identity()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride,
                                      bias=False)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
''',
        "batch norm and ReLU swapped in the main path": '''
class ResidualBlock(nn.Module):''' + _RESIDUAL_INIT + '''
    def forward(self, x):
        out = self.bn1(F.relu(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + self.shortcut(x))
''',
    },
    "ch09-depthwise-separable-conv": {
        "a full convolution instead of a depthwise one (no groups)": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   stride=stride, padding=padding, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
''',
        "bias on the depthwise layer too": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   stride=stride, padding=padding,
                                   groups=in_channels)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
''',
        "no bias on the pointwise layer": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   stride=stride, padding=padding,
                                   groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
''',
        "a ReLU between the two convolutions": '''
class DepthwiseSeparableConv(nn.Module):''' + _SEPARABLE_INIT + '''
    def forward(self, x):
        return self.pointwise(F.relu(self.depthwise(x)))
''',
        "padding given to the pointwise convolution": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   stride=stride, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, padding=padding)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
''',
        "stride ignored": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, kernel_size,
                                   padding=padding, groups=in_channels, bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1)

    def forward(self, x):
        return self.pointwise(self.depthwise(x))
''',
    },
    "ch09-se-block": {
        "max pooling as the squeeze": '''
class SEBlock(nn.Module):''' + _SE_INIT + '''
    def forward(self, x):
        z = x.amax(dim=(2, 3))
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(z))))[:, :, None, None]
''',
        "softmax over the channels instead of sigmoid": '''
class SEBlock(nn.Module):''' + _SE_INIT + '''
    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x * torch.softmax(self.fc2(F.relu(self.fc1(z))), dim=1)[:, :, None, None]
''',
        "no ReLU in the excitation": '''
class SEBlock(nn.Module):''' + _SE_INIT + '''
    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x * torch.sigmoid(self.fc2(self.fc1(z)))[:, :, None, None]
''',
        "returns the input plus the scaled input": '''
class SEBlock(nn.Module):''' + _SE_INIT + '''
    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x + x * torch.sigmoid(self.fc2(F.relu(self.fc1(z))))[:, :, None, None]
''',
        "linear layers without a bias": '''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError("channels // reduction is 0")
        self.fc1 = nn.Linear(channels, channels // reduction, bias=False)
        self.fc2 = nn.Linear(channels // reduction, channels, bias=False)

    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(z))))[:, :, None, None]
''',
        "at least one hidden unit instead of a ValueError": '''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.fc2 = nn.Linear(hidden, channels)

    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(z))))[:, :, None, None]
''',
        "hidden width channels * reduction": '''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels // reduction < 1:
            raise ValueError("channels // reduction is 0")
        self.fc1 = nn.Linear(channels, channels * reduction)
        self.fc2 = nn.Linear(channels * reduction, channels)

    def forward(self, x):
        z = x.mean(dim=(2, 3))
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(z))))[:, :, None, None]
''',
    },
}

RIGHT = {
    "ch09-conv2d-output-size": {
        "math.floor and a float division": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    span = dilation * (kernel - 1) + 1
    out = math.floor((size + 2 * padding - span) / stride) + 1
    if out <= 0:
        raise ValueError(f"a span of {span} does not fit")
    return int(out)
''',
        "counting the start positions with range": '''
def conv2d_output_size(size, kernel, stride=1, padding=0, dilation=1):
    last_start = size + 2 * padding - dilation * (kernel - 1) - 1
    if last_start < 0:
        raise ValueError("the kernel is larger than the padded input")
    return len(range(0, last_start + 1, stride))
''',
    },
    "ch09-conv2d": {
        "loop over the kernel offsets with einsum": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    s_h, s_w = (stride, stride) if isinstance(stride, int) else tuple(stride)
    p_h, p_w = (padding, padding) if isinstance(padding, int) else tuple(padding)
    c_out, c_in, k_h, k_w = weight.shape
    xp = F.pad(x, (p_w, p_w, p_h, p_h))
    h_out = (xp.shape[2] - k_h) // s_h + 1
    w_out = (xp.shape[3] - k_w) // s_w + 1
    out = x.new_zeros(x.shape[0], c_out, h_out, w_out)
    for m in range(k_h):
        for l in range(k_w):
            patch = xp[:, :, m:m + s_h * (h_out - 1) + 1:s_h,
                       l:l + s_w * (w_out - 1) + 1:s_w]
            out = out + torch.einsum("nchw,oc->nohw", patch, weight[:, :, m, l])
    if bias is not None:
        out = out + bias[None, :, None, None]
    return out
''',
        "stride-1 result subsampled afterwards, unfold via Tensor.unfold": '''
def conv2d(x, weight, bias=None, stride=1, padding=0):
    if isinstance(stride, int):
        stride = (stride, stride)
    if isinstance(padding, int):
        padding = (padding, padding)
    c_out, c_in, k_h, k_w = weight.shape
    xp = F.pad(x, (padding[1], padding[1], padding[0], padding[0]))
    patches = xp.unfold(2, k_h, 1).unfold(3, k_w, 1)  # (N, C_in, H', W', kH, kW)
    full = torch.einsum("ncijml,ocml->noij", patches, weight)
    out = full[:, :, ::stride[0], ::stride[1]]
    if bias is not None:
        out = out + bias.view(1, -1, 1, 1)
    return out
''',
    },
    "ch09-max-pool2d": {
        "F.unfold and amax over the window axis": '''
def max_pool2d(x, kernel, stride=None):
    if stride is None:
        stride = kernel
    n, c, h, w = x.shape
    h_out, w_out = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    cols = F.unfold(x, kernel, stride=stride)  # (N, C * k * k, L)
    cols = cols.view(n, c, kernel * kernel, h_out * w_out)
    return cols.amax(dim=2).view(n, c, h_out, w_out)
''',
        "running maximum over the kernel offsets, starting from the first": '''
def max_pool2d(x, kernel, stride=None):
    s = stride or kernel
    h_out = (x.shape[2] - kernel) // s + 1
    w_out = (x.shape[3] - kernel) // s + 1
    out = None
    for m in range(kernel):
        for l in range(kernel):
            part = x[:, :, m:m + s * (h_out - 1) + 1:s, l:l + s * (w_out - 1) + 1:s]
            out = part if out is None else torch.maximum(out, part)
    return out.clone()
''',
    },
    "ch09-residual-block": {
        "the seed guide's version: empty Sequential and an in-place add": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride, bias=False),
                nn.BatchNorm2d(out_channels))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return torch.relu(out)
''',
        "a Sequential body and a flag": '''
class ResidualBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1,
                      bias=False),
            nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels))
        self.project = stride != 1 or in_channels != out_channels
        if self.project:
            self.proj_conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride,
                                       bias=False)
            self.proj_bn = nn.BatchNorm2d(out_channels)

    def forward(self, x):
        skip = self.proj_bn(self.proj_conv(x)) if self.project else x
        return F.relu(self.body(x) + skip)
''',
    },
    "ch09-depthwise-separable-conv": {
        "raw parameters and F.conv2d with groups": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.stride, self.padding, self.groups = stride, padding, in_channels
        self.w_depth = nn.Parameter(
            0.1 * torch.randn(in_channels, 1, kernel_size, kernel_size))
        self.w_point = nn.Parameter(0.1 * torch.randn(out_channels, in_channels, 1, 1))
        self.b_point = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x):
        x = F.conv2d(x, self.w_depth, stride=self.stride, padding=self.padding,
                     groups=self.groups)
        return F.conv2d(x, self.w_point, self.b_point)
''',
        "stride on the pointwise layer (same result, more work)": '''
class DepthwiseSeparableConv(nn.Module):
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, in_channels, kernel_size, padding=padding,
                      groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, 1, stride=stride))

    def forward(self, x):
        return self.net(x)
''',
    },
    "ch09-se-block": {
        "nn.Sequential excitation and AdaptiveAvgPool2d (the seed guide's)": '''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        if channels < reduction:
            raise ValueError("need channels >= reduction")
        self.squeeze = nn.AdaptiveAvgPool2d(1)
        self.excitation = nn.Sequential(
            nn.Linear(channels, channels // reduction), nn.ReLU(),
            nn.Linear(channels // reduction, channels), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.excitation(self.squeeze(x).view(b, c)).view(b, c, 1, 1)
        return x * y.expand_as(x)
''',
        "sum divided by H * W and einsum for the scaling": '''
class SEBlock(nn.Module):
    def __init__(self, channels, reduction=16):
        super().__init__()
        hidden = channels // reduction
        if hidden == 0:
            raise ValueError(f"{channels} channels, reduction {reduction}")
        self.down = nn.Linear(channels, hidden)
        self.up = nn.Linear(hidden, channels)

    def forward(self, x):
        z = x.sum(dim=(-2, -1)) / (x.shape[-2] * x.shape[-1])
        s = 1 / (1 + torch.exp(-self.up(torch.relu(self.down(z)))))
        return torch.einsum("nchw,nc->nchw", x, s)
''',
    },
}
