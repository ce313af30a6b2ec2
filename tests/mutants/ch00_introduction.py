"""ch00 (stub, being rewritten): planted wrong answers and right answers."""
WRONG = {
    "ch00-relu": {
        "abs": "def relu(x):\n    return x.abs()\n",
        "built-in": "def relu(x):\n    return torch.relu(x)\n",
    },
}
RIGHT = {"ch00-relu": {"where": "def relu(x):\n    return torch.where(x > 0, x, 0 * x)\n"}}
