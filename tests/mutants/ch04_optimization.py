"""ch04: planted wrong answers (must lose points) and right answers written
differently (must pass)."""
WRONG = {
    "ch04-gradient-descent": {
        "gradient ascent (+ instead of -)": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = [x0.clone()]
    for _ in range(num_steps):
        path.append(path[-1] + lr * grad_fn(path[-1]))
    return torch.stack(path)
''',
        "off by one: x0 left out of the path": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    x, path = x0.clone(), []
    for _ in range(num_steps):
        x = x - lr * grad_fn(x)
        path.append(x)
    return torch.stack(path)
''',
        "off by one: one update too many": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = [x0.clone()]
    for _ in range(num_steps + 1):
        path.append(path[-1] - lr * grad_fn(path[-1]))
    return torch.stack(path[1:])
''',
        "returns only the final point": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    x = x0.clone()
    for _ in range(num_steps):
        x = x - lr * grad_fn(x)
    return x
''',
        "modifies x0 in place": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = [x0.clone()]
    for _ in range(num_steps):
        x0 -= lr * grad_fn(x0)
        path.append(x0.clone())
    return torch.stack(path)
''',
        "gradient taken at x0 every time": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path, g = [x0.clone()], grad_fn(x0)
    for _ in range(num_steps):
        path.append(path[-1] - lr * g)
    return torch.stack(path)
''',
        "result in float32 whatever x0's dtype": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = [x0.clone()]
    for _ in range(num_steps):
        path.append(path[-1] - lr * grad_fn(path[-1]))
    return torch.stack(path).float()
''',
        "stops early at a zero gradient": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = [x0.clone()]
    for _ in range(num_steps):
        g = grad_fn(path[-1])
        if not g.any():
            break
        path.append(path[-1] - lr * g)
    return torch.stack(path)
''',
        "stops once the gradient is below a tolerance": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = [x0.clone()]
    for _ in range(num_steps):
        g = grad_fn(path[-1])
        if g.abs().max() < 1e-8:
            break
        path.append(path[-1] - lr * g)
    return torch.stack(path)
''',
        "calls torch.optim.SGD": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    x = x0.clone().requires_grad_()
    optimizer = torch.optim.SGD([x], lr=lr)
    path = [x0.clone()]
    for _ in range(num_steps):
        x.grad = grad_fn(x.detach())
        optimizer.step()
        path.append(x.detach().clone())
    return torch.stack(path)
''',
    },
    "ch04-max-stable-lr": {
        "1 / lambda_max (factor 2 missing)": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return 1 / (v @ (H @ v))
""",
        "returns lambda_max instead of 2 / lambda_max": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return v @ (H @ v)
""",
        "2 / lambda_min (power iteration on the inverse)": """
def max_stable_lr(H, num_iters):
    H_inv = torch.linalg.inv(H)
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        w = H_inv @ v
        v = w / w.square().sum().sqrt()
    return 2 * (v @ (H_inv @ v))
""",
        "2 / Frobenius norm (a safe bound, not the limit)": """
def max_stable_lr(H, num_iters):
    return 2 / H.square().sum().sqrt()
""",
        "2 / largest diagonal entry": """
def max_stable_lr(H, num_iters):
    return 2 / H.diagonal().max()
""",
        "2 / largest absolute row sum (Gershgorin bound)": """
def max_stable_lr(H, num_iters):
    return 2 / H.abs().sum(dim=1).max()
""",
        "2 / trace": """
def max_stable_lr(H, num_iters):
    return 2 / H.diagonal().sum()
""",
        "calls torch.linalg.eigvalsh": """
def max_stable_lr(H, num_iters):
    return 2 / torch.linalg.eigvalsh(H)[-1]
""",
        "calls numpy.linalg.eigvalsh": """
import numpy as np


def max_stable_lr(H, num_iters):
    top = np.linalg.eigvalsh(H.detach().cpu().numpy())[-1]
    return torch.tensor(2 / top, dtype=H.dtype, device=H.device)
""",
        "spectral norm with torch.linalg.matrix_norm(ord=2)": """
def max_stable_lr(H, num_iters):
    return 2 / torch.linalg.matrix_norm(H, ord=2)
""",
        "spectral norm with torch.linalg.norm(ord=2)": """
def max_stable_lr(H, num_iters):
    return 2 / torch.linalg.norm(H, 2)
""",
        "starts from e_1 (orthogonal to q_max for a diagonal H)": """
def max_stable_lr(H, num_iters):
    v = torch.zeros(H.shape[0], dtype=H.dtype, device=H.device)
    v[0] = 1.0
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return 2 / (v @ (H @ v))
""",
        "ignores num_iters (always 5 products)": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(5):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return 2 / (v @ (H @ v))
""",
        "no normalisation inside the loop (overflows)": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        v = H @ v
    return 2 * (v @ v) / (v @ (H @ v))
""",
        "returns a Python float": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return 2 / (v @ (H @ v)).item()
""",
        "result in float32 whatever H's dtype": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return (2 / (v @ (H @ v))).float()
""",
        "rescales H in place": """
def max_stable_lr(H, num_iters):
    scale = H.abs().max()
    H.div_(scale)
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        w = H @ v
        v = w / w.square().sum().sqrt()
    return 2 / ((v @ (H @ v)) * scale)
""",
    },
    "ch04-sgd-momentum": {
        "EMA momentum v = mu v + (1 - mu) g (the seed's formula)": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    if velocity is None:
        velocity = torch.zeros_like(param)
    new_velocity = momentum * velocity + (1 - momentum) * g
    return param - lr * new_velocity, new_velocity
''',
        "Sutskever form: velocity holds -lr * v": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    if velocity is None:
        velocity = torch.zeros_like(param)
    new_velocity = momentum * velocity - lr * g
    return param + new_velocity, new_velocity
''',
        "weight decay added after the momentum buffer": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    new_velocity = grad if velocity is None else momentum * velocity + grad
    return param - lr * (new_velocity + weight_decay * param), new_velocity
''',
        "weight decay ignored": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    new_velocity = grad if velocity is None else momentum * velocity + grad
    return param - lr * new_velocity, new_velocity
''',
        "Nesterov step instead of heavy ball": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * (g + momentum * new_velocity), new_velocity
''',
        "first step scaled by momentum (v = mu * g)": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    if velocity is None:
        velocity = g
    new_velocity = momentum * velocity + g
    return param - lr * new_velocity, new_velocity
''',
        "modifies param and velocity in place": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    if velocity is None:
        velocity = g.clone()
    else:
        velocity.mul_(momentum).add_(g)
    param.sub_(lr * velocity)
    return param, velocity
''',
        "momentum=0 shortcut that drops the weight decay": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    if momentum == 0:
        return param - lr * grad, grad.clone()
    g = grad + weight_decay * param
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * new_velocity, new_velocity
''',
        "momentum=0 returns the raw gradient as the velocity": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, grad.clone()
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * new_velocity, new_velocity
''',
        "momentum=0 returns no velocity": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    if momentum == 0:
        return param - lr * g, None
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * new_velocity, new_velocity
''',
        "returns the caller's grad tensor as the first velocity": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad if weight_decay == 0 else grad + weight_decay * param
    new_velocity = g if velocity is None else momentum * velocity + g
    return param - lr * new_velocity, new_velocity
''',
        "gradient ascent": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    g = grad + weight_decay * param
    new_velocity = g if velocity is None else momentum * velocity + g
    return param + lr * new_velocity, new_velocity
''',
    },
    "ch04-adam": {
        "no bias correction": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    return param - lr * new_m / (new_v.sqrt() + eps), new_m, new_v
''',
        "bias correction with t counted from 0 (t - 1)": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    m_hat = new_m / (1 - beta1 ** (t - 1))
    v_hat = new_v / (1 - beta2 ** (t - 1))
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
''',
        "bias correction one step ahead (t + 1)": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    m_hat = new_m / (1 - beta1 ** (t + 1))
    v_hat = new_v / (1 - beta2 ** (t + 1))
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
''',
        "eps inside the square root": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat + eps).sqrt(), new_m, new_v
''',
        "betas swapped": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta2, beta1 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
''',
        "second moment from |g| instead of g**2": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g.abs()
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
''',
        "decoupled (AdamW) decay instead of the L2 penalty": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    decayed = param * (1 - lr * weight_decay)
    return decayed - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
''',
        "modifies param, m and v in place": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    m.mul_(beta1).add_((1 - beta1) * g)
    v.mul_(beta2).add_((1 - beta2) * g * g)
    m_hat = m / (1 - beta1**t)
    v_hat = v / (1 - beta2**t)
    param.sub_(lr * m_hat / (v_hat.sqrt() + eps))
    return param, m, v
''',
        "moments kept in float32": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = (grad + weight_decay * param).float()
    new_m = beta1 * m.float() + (1 - beta1) * g
    new_v = beta2 * v.float() + (1 - beta2) * g * g
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), new_m, new_v
''',
        "returns the bias-corrected moments as the state": '''
def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    m_hat = (beta1 * m + (1 - beta1) * g) / (1 - beta1**t)
    v_hat = (beta2 * v + (1 - beta2) * g * g) / (1 - beta2**t)
    return param - lr * m_hat / (v_hat.sqrt() + eps), m_hat, v_hat
''',
    },
    "ch04-adamw": {
        "L2 penalty in the gradient (that is Adam, not AdamW)": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    return adam_step(param, grad, m, v, t, lr=lr, betas=betas, eps=eps,
                     weight_decay=weight_decay)
''',
        "decay applied after the Adam step": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    new_param, new_m, new_v = adam_step(param, grad, m, v, t, lr=lr, betas=betas,
                                        eps=eps)
    return new_param * (1 - lr * weight_decay), new_m, new_v
''',
        "decay not multiplied by the learning rate": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    return adam_step(param * (1 - weight_decay), grad, m, v, t, lr=lr,
                     betas=betas, eps=eps)
''',
        "decay also fed into m and v": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    new_param, new_m, new_v = adam_step(param, grad, m, v, t, lr=lr, betas=betas,
                                        eps=eps, weight_decay=weight_decay)
    return new_param - lr * weight_decay * param, new_m, new_v
''',
        "wrong default weight decay (0)": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=0.0):
    return adam_step(param * (1 - lr * weight_decay), grad, m, v, t, lr=lr,
                     betas=betas, eps=eps)
''',
        "decays param in place": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    param.mul_(1 - lr * weight_decay)
    return adam_step(param, grad, m, v, t, lr=lr, betas=betas, eps=eps)
''',
        "no bias correction": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    beta1, beta2 = betas
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    decayed = param * (1 - lr * weight_decay)
    return decayed - lr * new_m / (new_v.sqrt() + eps), new_m, new_v
''',
    },
}
RIGHT = {
    "ch04-gradient-descent": {
        "preallocated path filled row by row": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    path = x0.new_empty((num_steps + 1, *x0.shape))
    path[0] = x0
    for k in range(num_steps):
        path[k + 1] = path[k] - lr * grad_fn(path[k])
    return path
''',
        "while loop with torch.sub(alpha=...)": '''
def gradient_descent(grad_fn, x0, lr, num_steps):
    x, points = x0.detach().clone(), []
    while True:
        points.append(x)
        if len(points) > num_steps:
            break
        x = torch.sub(x, grad_fn(x), alpha=lr)
    return torch.stack(points, dim=0)
''',
    },
    "ch04-max-stable-lr": {
        "ones start, |Hv| as the estimate, torch.linalg.vector_norm": """
def max_stable_lr(H, num_iters):
    v = torch.ones(H.shape[0], dtype=H.dtype, device=H.device)
    for _ in range(num_iters):
        v = H @ v
        v = v / torch.linalg.vector_norm(v)
    return 2.0 / torch.linalg.vector_norm(H @ v)
""",
        "the hinted start, Rayleigh quotient v.Hv / v.v with einsum": """
def max_stable_lr(H, num_iters):
    gen = torch.Generator().manual_seed(0)
    v = torch.randn(H.shape[0], generator=gen, dtype=H.dtype).to(H.device)
    for _ in range(num_iters):
        v = torch.einsum("ij,j->i", H, v)
        v = v / v.norm()
    rayleigh = torch.einsum("i,ij,j->", v, H, v) / torch.einsum("i,i->", v, v)
    return torch.full((), 2.0, dtype=H.dtype, device=H.device) / rayleigh
""",
    },
    "ch04-sgd-momentum": {
        "torch's own code path: a clone of the gradient as the first buffer": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    d_p = grad.add(param, alpha=weight_decay) if weight_decay != 0 else grad
    if momentum != 0:
        if velocity is None:
            d_p = torch.clone(d_p).detach()
        else:
            d_p = velocity.mul(momentum).add(d_p)
    else:
        d_p = d_p.clone()
    return param.add(d_p, alpha=-lr), d_p
''',
        "zeros for a missing velocity, torch.add with alpha": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    if velocity is None:
        velocity = torch.zeros_like(param)
    d_p = torch.add(grad, param, alpha=weight_decay)
    buf = velocity.mul(momentum).add(d_p)
    return torch.add(param, buf, alpha=-lr), buf
''',
        "EMA form with the learning rate rescaled by 1 / (1 - mu)": '''
def sgd_momentum_step(param, grad, velocity, lr, momentum, weight_decay=0.0):
    # u = (1 - mu) v is the EMA velocity; the same path needs lr / (1 - mu) on u.
    g = grad + weight_decay * param
    u_old = 0 if velocity is None else (1 - momentum) * velocity
    u = momentum * u_old + (1 - momentum) * g
    new_velocity = u / (1 - momentum)
    return param - lr * new_velocity, new_velocity
''',
    },
    "ch04-adam": {
        "the paper's efficient form (step size and eps rescaled)": '''
import math


def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    g = grad + weight_decay * param
    new_m = beta1 * m + (1 - beta1) * g
    new_v = beta2 * v + (1 - beta2) * g * g
    alpha_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    eps_hat = eps * math.sqrt(1 - beta2**t)
    return param - alpha_t * new_m / (new_v.sqrt() + eps_hat), new_m, new_v
''',
        "torch's arrangement: step size and sqrt of the correction": '''
import math


def adam_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
              weight_decay=0.0):
    beta1, beta2 = betas
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    exp_avg = torch.lerp(m, grad, 1 - beta1)
    exp_avg_sq = v.mul(beta2).addcmul(grad, grad, value=1 - beta2)
    step_size = lr / (1 - beta1**t)
    denom = exp_avg_sq.sqrt() / math.sqrt(1 - beta2**t) + eps
    return param.addcdiv(exp_avg, denom, value=-step_size), exp_avg, exp_avg_sq
''',
    },
    "ch04-adamw": {
        "the paper's efficient form (step size and eps rescaled)": '''
import math


def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    beta1, beta2 = betas
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad * grad
    alpha_t = lr * math.sqrt(1 - beta2**t) / (1 - beta1**t)
    eps_hat = eps * math.sqrt(1 - beta2**t)
    decayed = param * (1 - lr * weight_decay)
    return decayed - alpha_t * new_m / (new_v.sqrt() + eps_hat), new_m, new_v
''',
        "written out in full, without adam_step": '''
def adamw_step(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
               weight_decay=1e-2):
    beta1, beta2 = betas
    new_m = beta1 * m + (1 - beta1) * grad
    new_v = beta2 * v + (1 - beta2) * grad.square()
    m_hat = new_m / (1 - beta1**t)
    v_hat = new_v / (1 - beta2**t)
    update = m_hat / (torch.sqrt(v_hat) + eps)
    return param - lr * weight_decay * param - lr * update, new_m, new_v
''',
    },
}
