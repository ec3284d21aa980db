"""moto_server, answering one request at a time.

moto's DynamoDB transactions are not isolated between concurrent requests: a cancelled
TransactWriteItems restores a copy of the whole table taken when it started, undoing
transactions that committed meanwhile (or resurrecting its own writes). Real DynamoDB
serializes conflicting transactions. Serving one request at a time gives the tests that
guarantee; concurrency is still exercised on the client side (requests queue here).

Usage: .venv/bin/python scripts/moto_server.py [moto_server options, e.g. -H 127.0.0.1 -p 0]
"""

import threading

import moto.server

_run_simple = moto.server.run_simple
_one_at_a_time = threading.Lock()


def _serialized_run_simple(host, port, app, **options):
    def serialized(environ, start_response):
        with _one_at_a_time:
            return list(app(environ, start_response))

    return _run_simple(host, port, serialized, **options)


moto.server.run_simple = _serialized_run_simple

if __name__ == "__main__":
    moto.server.main()
