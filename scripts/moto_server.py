"""moto_server, answering one request at a time.

moto's DynamoDB transactions are not isolated between concurrent requests: a cancelled
TransactWriteItems restores a copy of the whole table taken when it started, undoing
transactions that committed meanwhile (or resurrecting its own writes). Real DynamoDB
serializes conflicting transactions. Serving one request at a time gives the tests that
guarantee; concurrency is still exercised on the client side (requests queue here).

It also copies a table once per TransactWriteItems instead of once per item of it (moto
5.2.5 deep-copies the whole table for every item before applying any, identical copies, so a
100-item transaction on a 10,000-item table took minutes). The rollback is unchanged: the
copies are all taken before the first item is applied.

Usage: .venv/bin/python scripts/moto_server.py [moto_server options, e.g. -H 127.0.0.1 -p 0]
"""

import copy as _copy
import threading

import moto.dynamodb.models as _models
import moto.server


class _CopyOncePerTransaction:
    """moto.dynamodb.models' `copy` module, whose deepcopy of a Table is memoized while a
    transaction takes its backups."""

    memo = None

    def deepcopy(self, value, memo=None):
        if self.memo is not None and isinstance(value, _models.Table):
            if id(value) not in self.memo:
                self.memo[id(value)] = _copy.deepcopy(value)
            return self.memo[id(value)]
        return _copy.deepcopy(value, memo)

    def __getattr__(self, name):
        return getattr(_copy, name)


_copy_shim = _CopyOncePerTransaction()
_models.copy = _copy_shim
_transact_write_items = _models.DynamoDBBackend.transact_write_items


def _transact_copying_once(self, transact_items):
    _copy_shim.memo = {}
    try:
        return _transact_write_items(self, transact_items)
    finally:
        _copy_shim.memo = None


_models.DynamoDBBackend.transact_write_items = _transact_copying_once

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
