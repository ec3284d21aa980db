"""Keeps, in each fuzz/corpus/<target>/ given, only the inputs that are JSON objects: the ones
that reach the handler past "not an event". libFuzzer also keeps inputs that only explore
serde_json's parser; those are not worth a place in the repository or in `make test`'s replay.

Usage: python3 scripts/fuzz_prune.py fuzz/corpus/<target>...   (make fuzz does this)
"""

import json
import os
import sys


def is_object(path):
    try:
        with open(path, "rb") as f:
            return isinstance(json.loads(f.read()), dict)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False


def main(dirs):
    for d in dirs:
        names = sorted(os.listdir(d))
        dropped = [n for n in names if not is_object(os.path.join(d, n))]
        for n in dropped:
            os.remove(os.path.join(d, n))
        print("%s: kept %d JSON objects, dropped %d other inputs" % (d, len(names) - len(dropped), len(dropped)))


if __name__ == "__main__":
    main(sys.argv[1:])
