"""nbgrader configuration: the course root is this folder (see graders/config.py).

source = solutions/, release = notebooks/; submissions, autograded notebooks,
feedback and the gradebook live under graders/ and are never committed.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from graders.config import configure  # noqa: E402

configure(get_config(), HERE)  # noqa: F821
