"""Test-suite set-up (for tests/ and the nbval run over solutions/): Jupyter,
IPython and matplotlib write to a scratch folder.

Nothing the tests start (kernels, nbgrader, nbval) writes into $HOME.
"""

import atexit
import os
import shutil
import tempfile

from graders.runenv import tool_env

_SCRATCH = tempfile.mkdtemp(prefix="dlcourse-tests-")
os.environ.update(tool_env(_SCRATCH))
# pytest-xdist runs one kernel per core: one BLAS/OpenMP thread each avoids
# oversubscribing the cores (timings are measured by graders/benchmark.py).
os.environ.setdefault("OMP_NUM_THREADS", "1")
atexit.register(shutil.rmtree, _SCRATCH, ignore_errors=True)
