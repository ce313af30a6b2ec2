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
    "ch04-sgd-momentum": {
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
