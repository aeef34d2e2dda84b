import os
import sys

# `python -m rulelint` puts the working directory first on sys.path. Run inside a rules
# repository, a committed yaml.py, lark.py or eql_*.py would then be imported as code:
# drop that entry before anything else is imported (the `rulelint` script never adds it).
if sys.path and sys.path[0] in ("", os.getcwd()):
    del sys.path[0]

from rulelint.cli.main import entry  # noqa: E402

entry()
