"""Student-side nbgrader settings, read by JupyterLab's Assignments tab.

The exchange is the course's local one (graders/exchange, the same as in
graders/config.py); a JupyterHub deployment configures its shared exchange.
"""

import os

c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dlcourse"
c.Exchange.root = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir,
                               "graders", "exchange")
