"""A push worker that SIGKILLs itself mid-batch, after recording a given number of sends.

Run by test_workers.py as a real separate process:
    python -m tests.push.dying_worker '<app config JSON>' <sends before death>
"""

import json
import os
import signal
import sys

from server import create_app
from server.push.worker import Worker


class DyingWorker(Worker):
    def __init__(self, app, die_after):
        super().__init__(app)
        self.die_after = die_after
        self.recorded = 0

    def _flush(self, pending_writes):
        count = len(pending_writes)
        super()._flush(pending_writes)
        self.recorded += count
        if self.recorded >= self.die_after:
            os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    config, die_after = json.loads(sys.argv[1]), int(sys.argv[2])
    DyingWorker(create_app(config), die_after).drain()
    sys.exit(3)  # not reached: the worker dies mid-batch
