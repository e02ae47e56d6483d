"""MiniStack (its Athena confined, see ``ministack_app``) wrapped in the call recorder, for
hypercorn (``recording_app:app``).

Imported only inside the emulator process, which ``Emulator`` starts with the log's path
in ``BOVESPA_CALL_LOG``.
"""

import os
from pathlib import Path

from services.tool.local.ministack_app import app as ministack
from services.tool.local.recorder import CALL_LOG_ENV, Recorder

app = Recorder(ministack, Path(os.environ[CALL_LOG_ENV]))
