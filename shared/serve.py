"""One service process as `make up` runs it: `python -m shared.serve catalog --port 8001`.

uvicorn with the service's app factory. On SIGTERM or SIGINT it stops taking connections, lets
the requests in flight finish (up to `--graceful-timeout` seconds), runs the app's shutdown (the
consumers finish their message, commit and leave their group; the outbox relay finishes its pass)
and exits with status 0. uvicorn's own command line re-raises the signal once it has stopped, so a
parent would see a death by signal; here the stop that was asked for is a success.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
from types import FrameType

import uvicorn

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def _stop(signum: int, frame: FrameType | None) -> None:
    # Before uvicorn takes the signals over (while importing), and again when it re-raises the
    # signal after its graceful stop: either way the process ends, successfully.
    raise SystemExit(0)


def _exit(status: int) -> None:
    """Exit now: everything the app holds is closed by its shutdown; the interpreter's teardown
    of every imported module would add about a second (several under load) to each stop."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def main(argv: list[str] | None = None) -> int:
    """Serve one service until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m shared.serve", description=__doc__)
    parser.add_argument("service", help="catalog, pilots, analytics or gateway")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--graceful-timeout", type=int, default=5, help="seconds for requests in flight")
    args = parser.parse_args(argv)
    # A parent that blocked these signals (the old `make up` did) would make this process deaf to
    # them: the mask is inherited across exec.
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    for sig in STOP_SIGNALS:
        signal.signal(sig, _stop)
    server = uvicorn.Server(
        uvicorn.Config(
            f"services.{args.service}.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=False,
            timeout_graceful_shutdown=args.graceful_timeout,
        )
    )
    with contextlib.suppress(SystemExit):  # the stop signal, re-raised by uvicorn once it had stopped
        server.run()
    _exit(0 if server.started else 3)  # 3: uvicorn's status for a failed startup
    return 0


if __name__ == "__main__":
    sys.exit(main())
