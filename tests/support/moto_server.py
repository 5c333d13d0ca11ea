"""moto's server for the tests, with DynamoDB requests applied one at a time.

DynamoDB makes every single-item write, conditional check and transaction atomic. moto's
threaded server does not: two concurrent ADDs to one item can lose one, and two transactions
can both pass a condition on the same counter. The store's conformance cases run writes
concurrently to prove the adapters rely on DynamoDB's guarantees, so the emulator has to give
them. Other services (SQS long polls above all) stay concurrent.

Usage: python moto_server.py HOST PORT
"""

import sys
import threading

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple

dispatcher = DomainDispatcherApplication(create_backend_app)
dynamodb = threading.Lock()


def app(environ, start_response):
    if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
        with dynamodb:
            # The whole answer is produced under the lock.
            return list(dispatcher(environ, start_response))
    return dispatcher(environ, start_response)


if __name__ == "__main__":
    host, port = sys.argv[1], int(sys.argv[2])
    run_simple(host, port, app, threaded=True, request_handler=MotoRequestHandler)
