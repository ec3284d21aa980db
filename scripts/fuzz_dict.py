"""Writes a libFuzzer dictionary for the trigger events to stdout: JSON syntax, and the keys
and values (up to 64 characters) of every event under events/ and of events/seed.json, so
that the fuzzer reaches the directory's entries rather than guessing them byte by byte.

Usage: python3 scripts/fuzz_dict.py > target/fuzz/json.dict   (make fuzz does this)
"""

import glob
import json
import os

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SYNTAX = ["{", "}", "[", "]", ":", ",", '"', "null", "true", "false", "0", "-1", "1e309",
          '"1"', '"2"', '"3"', '"4"', '"1.0"', "\\u0000", "\\ud800", '\\"']


def strings(value, out):
    if isinstance(value, dict):
        for key, item in value.items():
            out.add(json.dumps(key))
            strings(item, out)
    elif isinstance(value, list):
        for item in value:
            strings(item, out)
    elif isinstance(value, str) and len(value) <= 64:
        out.add(json.dumps(value))


def main():
    tokens = set(SYNTAX)
    files = glob.glob(os.path.join(ROOT, "events", "*", "*.json"))
    files.append(os.path.join(ROOT, "events", "seed.json"))
    for path in sorted(files):
        with open(path, encoding="utf-8") as f:
            strings(json.load(f), tokens)
    print("# libFuzzer dictionary written by scripts/fuzz_dict.py")
    for token in sorted(tokens):
        if all(32 <= ord(c) <= 126 for c in token):
            print('"%s"' % token.replace("\\", "\\\\").replace('"', '\\"'))


if __name__ == "__main__":
    main()
