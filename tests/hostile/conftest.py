"""The hypothesis profile of the hostile-input tests.

Registered here, applied per test (`support.HOSTILE`), so the hypothesis tests elsewhere
keep their own settings. Derandomized: the same examples every run, a red CI is
reproducible. No example database: nothing is written into the checkout. No deadline: a
shared 2-core machine makes per-example timing meaningless. RULELINT_HOSTILE_EXAMPLES
raises the count (and lets hypothesis explore freely) for local hunting:
`RULELINT_HOSTILE_EXAMPLES=2000 .venv/bin/pytest tests/hostile`.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI_EXAMPLES = 100
EXAMPLES = int(os.environ.get("RULELINT_HOSTILE_EXAMPLES", CI_EXAMPLES))

settings.register_profile(
    "hostile",
    max_examples=EXAMPLES,
    derandomize=EXAMPLES <= CI_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
)
