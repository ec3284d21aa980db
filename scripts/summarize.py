#!/usr/bin/env python3
"""Human summaries for scripts/demo.sh and scripts/pool.sh (Python 3 standard library only).

  summarize.py bins < cargo-metadata.json          workspace binary names, one a line
  summarize.py target-dir < cargo-metadata.json    cargo's target directory
  summarize.py invoke FUNCTION EVENT STDOUT STDERR RC TALLY [EXPLANATION]
        one event's outcome (what Cognito would get back), compared with the
        EVENT's .expected.json when there is one; a mismatch's diff goes beside STDOUT.
        With EXPLANATION (tenantctl explain --json, run before the event): why, the sources
        that answered and the rule that decided, and whether explain agrees with the function.
        Exit 3 when the function gave no answer at all (not even an error).
  summarize.py delta BEFORE AFTER [quiet]          what changed in the directory (export documents)
  summarize.py overview BEFORE AFTER               tenants' members and userCount, before -> after
  summarize.py mutants OUTCOMES_JSON                a cargo-mutants run: counts, and every missed mutant
  summarize.py totals TALLY                        one closing line; exit 1 on failures when DEMO_STRICT=1
  summarize.py directory DOCUMENT [CLIENTS]        a directory document, tenant by tenant (CLIENTS: a
                                                   localpool state file, to name app client ids)
"""

import difflib
import json
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# `cargo lambda invoke -v` logs the function's error document, Rust-Debug-escaped.
DEBUG_ERROR = re.compile(r'error received from server error="(.*)"\s*$')


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def unescape_rust_debug(s):
    s = re.sub(r"\\u\{([0-9a-fA-F]+)\}", lambda m: "\\u%04x" % int(m.group(1), 16)
               if int(m.group(1), 16) <= 0xFFFF else chr(int(m.group(1), 16)), s)
    return json.loads('"' + s + '"')


def parse_error(stderr_text):
    """The function's error as {"errorType", "errorMessage"} and whether it is exact.

    Exact: taken from the -v debug line. Otherwise rebuilt from the report that
    cargo lambda prints (message wrapped at 80 columns; re-joined with spaces)."""
    lines = [ANSI.sub("", l) for l in stderr_text.splitlines()]
    for line in lines:
        m = DEBUG_ERROR.search(line)
        if m:
            try:
                doc = json.loads(unescape_rust_debug(m.group(1)))
                if isinstance(doc, dict) and "errorMessage" in doc:
                    return doc, True
            except ValueError:
                pass
    return None, False


def response_document(stdout_text):
    """The function's answer that `cargo lambda invoke -o json` printed; log lines that
    -v may add before it are skipped."""
    text = ANSI.sub("", stdout_text)
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.lstrip().startswith(("{", "[")):
            try:
                return json.loads("\n".join(lines[i:]))
            except ValueError:
                continue
    return None


def invoke_failure(stderr_text):
    """cargo lambda's own report when there is no error document: first line of it."""
    lines = [ANSI.sub("", l).strip() for l in stderr_text.splitlines()]
    msg = []
    for i, line in enumerate(lines):
        if "×" in line:
            msg.append(line.split("×", 1)[1].strip())
            for cont in lines[i + 1:]:
                if cont.startswith("│"):
                    msg.append(cont.lstrip("│ ").strip())
                else:
                    break
            break
    if not msg:
        msg = [l for l in lines if l and not l.startswith(("DEBUG", "TRACE", "INFO"))][:1]
    return " ".join(msg) or "no output"


def fmt_list(xs):
    return "[" + ", ".join(str(x) for x in xs) + "]"


def short(sub):
    sub = str(sub)
    return sub if len(sub) <= 13 else sub[:8] + "..."


# ------------------------------------------------------------------ per trigger

def pretoken_summary(event, resp):
    r = resp.get("response") or {}
    req = event.get("request") or {}
    parts = []
    cs = r.get("claimsAndScopeOverrideDetails")
    v1 = r.get("claimsOverrideDetails")
    if isinstance(cs, dict) and cs:
        idg = cs.get("idTokenGeneration") or {}
        acc = cs.get("accessTokenGeneration") or {}
        id_claims = idg.get("claimsToAddOrOverride") or {}
        acc_claims = acc.get("claimsToAddOrOverride") or {}
        where = [n for n, c in (("id", id_claims), ("access", acc_claims)) if "tenantId" in c]
        claims = {**acc_claims, **id_claims}
        suppressed = (idg.get("claimsToSuppress") or []) + (acc.get("claimsToSuppress") or [])
        groups = cs.get("groupOverrideDetails")
        scopes_add = acc.get("scopesToAdd") or []
        scopes_del = acc.get("scopesToSuppress") or []
    elif isinstance(v1, dict) and v1:
        claims = v1.get("claimsToAddOrOverride") or {}
        where = ["id"] if "tenantId" in claims else []
        suppressed = v1.get("claimsToSuppress") or []
        groups = v1.get("groupOverrideDetails")
        scopes_add, scopes_del = [], []
    else:
        return "token issued unchanged (no overrides)"

    if where:
        tier = claims.get("tenantTier")
        parts.append(f"tenant {claims.get('tenantId')}" + (f" (tier {tier})" if tier else "")
                     + f" in {'+'.join(where)} token" + ("s" if len(where) > 1 else ""))
        ct = claims.get("custom:tenantId")
        if ct is not None and ct != claims.get("tenantId"):
            parts.append(f"custom:tenantId={ct}")
    else:
        parts.append("no tenant claims")
    if suppressed:
        parts.append("suppressed " + fmt_list(suppressed))

    if groups is None:
        before = ((req.get("groupConfiguration") or {}).get("groupsToOverride")) or []
        parts.append("groups unchanged" + (f" {fmt_list(before)}" if before else ""))
    else:
        g = groups.get("groupsToOverride")
        if g is None:
            parts.append("groups unchanged")
        elif not g:
            parts.append("groups stripped []")
        else:
            parts.append("groups -> " + fmt_list(g))
        role = groups.get("preferredRole")
        if groups.get("iamRolesToOverride") and role:
            parts.append(f"preferredRole {role}")

    if scopes_add:
        parts.append("+scopes " + fmt_list(scopes_add))
    if scopes_del:
        parts.append("-scopes " + fmt_list(scopes_del))
    if cs is not None and not scopes_add and not scopes_del:
        parts.append("scopes untouched")
    return " | ".join(parts)


def presignup_summary(event, resp):
    r = resp.get("response") or {}
    flags = []
    for k in ("autoConfirmUser", "autoVerifyEmail", "autoVerifyPhone"):
        if k in r:
            flags.append(f"{k}={'yes' if r.get(k) else 'no'}")
    return "ADMITTED" + ("  " + " ".join(flags) if flags else "")


def postconfirmation_summary(event, resp):
    return "OK (confirmation accepted; directory changes below)"


def generic_summary(event, resp):
    r = resp.get("response")
    if isinstance(r, dict) and r:
        return "OK  response: " + json.dumps(r, sort_keys=True)[:120]
    return "OK"


SUMMARIES = {
    "pre-token-generation": pretoken_summary,
    "pre-signup": presignup_summary,
    "post-confirmation": postconfirmation_summary,
}


def event_label(function, event):
    src = event.get("triggerSource", "?")
    if function == "pre-token-generation":
        return f"v{event.get('version', '?')} {src}"
    return src


def compare(expected, got_resp, got_err, err_exact):
    if expected is None:
        return "no-expected"
    if isinstance(expected, dict) and "errorMessage" in expected and "response" not in expected:
        if got_err is None:
            return "differs"
        same_msg = " ".join(str(expected["errorMessage"]).split()) == \
            " ".join(str(got_err.get("errorMessage", "")).split())
        same_type = (not err_exact or "errorType" not in expected
                     or expected["errorType"] == got_err.get("errorType"))
        return "match" if same_msg and same_type else "differs"
    return "match" if got_resp is not None and got_resp == expected else "differs"


def write_diff(expected, got, path):
    a = json.dumps(expected, indent=2, sort_keys=True).splitlines(keepends=True)
    b = json.dumps(got, indent=2, sort_keys=True).splitlines(keepends=True)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(difflib.unified_diff(a, b, "expected", "got"))


def explanation_lines(why_path, got_resp, got_err):
    """Why the function answered so (from tenantctl explain), and whether explain agrees."""
    x = load_json(why_path) if why_path else None
    if not isinstance(x, dict):
        return ["      why: (tenantctl explain gave no answer; see .demo/tenantctl.log)"]
    d = x.get("decision") or {}
    tenant = f" {d.get('tenantId')}" if d.get("tenantId") else ""
    if d.get("reason"):
        head = f"      why: deny {d.get('rule')}{tenant}: {d.get('reason')}"
    else:
        head = f"      why: {d.get('decision')}{tenant} by {d.get('rule')}"
    lines = [head]
    for s in x.get("sources") or []:
        if s.get("found"):
            lines.append(f"           {s.get('source')} {s.get('key')}: {s.get('answer')}")
    asked = len(x.get("sources") or [])
    answered = sum(1 for s in x.get("sources") or [] if s.get("found"))
    if asked > answered:
        lines.append(f"           ({asked - answered} more sources consulted found nothing)")
    got = got_resp if got_resp is not None else got_err
    if got is not None:
        agrees = x.get("response") == got or (
            got_err is not None and (x.get("response") or {}).get("errorMessage") == got_err.get("errorMessage"))
        lines.append("           [explain agrees]" if agrees else "           [EXPLAIN DIFFERS from the function]")
    return lines


def cmd_invoke(function, event_path, stdout_path, stderr_path, rc, tally, why_path=""):
    rc = int(rc)
    event = load_json(event_path) or {}
    name = os.path.basename(event_path)[: -len(".json")]
    expected_path = event_path[: -len(".json")] + ".expected.json"
    expected = load_json(expected_path) if os.path.exists(expected_path) else None
    try:
        with open(stderr_path, encoding="utf-8", errors="replace") as f:
            stderr_text = f.read()
    except OSError:
        stderr_text = ""

    try:
        with open(stdout_path, encoding="utf-8", errors="replace") as f:
            stdout_text = f.read()
    except OSError:
        stdout_text = ""

    resp, err, exact, status, exit_code = None, None, False, None, 0
    if rc == 0:
        resp = response_document(stdout_text)
        if isinstance(resp, dict):
            line = SUMMARIES.get(function, generic_summary)(event, resp)
        else:
            line, status = "answered with something that is not a JSON object", "failed"
    else:
        # cargo lambda's -v log goes to stdout, its error report to stderr.
        err, exact = parse_error(stdout_text + "\n" + stderr_text)
        if err is not None:
            line = f"DENIED  {err.get('errorMessage')}"
        elif rc == 124:
            line, status, exit_code = "no answer (invoke timed out)", "failed", 3
        else:
            line, status, exit_code = f"no answer: {invoke_failure(stderr_text)}", "failed", 3

    if status is None:
        status = compare(expected, resp, err, exact)
    mark = {"match": "[matches expected]", "differs": "[DIFFERS from expected]",
            "no-expected": "[no .expected.json]", "failed": "[FAILED]"}[status]
    print(f"  * {name}  ({event_label(function, event)})  {mark}")
    print(f"      {line}")
    if why_path:
        for why in explanation_lines(why_path, resp, err):
            print(why)
    if status == "differs":
        diff_path = stdout_path[: -len(".json")] + ".diff" if stdout_path.endswith(".json") \
            else stdout_path + ".diff"
        got = resp if resp is not None else err
        write_diff(expected, got, diff_path)
        print(f"      diff: {os.path.relpath(diff_path)}")
    if status == "failed":
        print(f"      see {os.path.relpath(stderr_path)} and the function log (.demo/watch.log)")
    with open(tally, "a", encoding="utf-8") as f:
        f.write(f"{function}\t{name}\t{status}\n")
    return exit_code


# ------------------------------------------------------------------ directory documents

def sections(doc):
    doc = doc if isinstance(doc, dict) else {}

    def low(x):
        return str(x or "").lower()

    keyed = {
        "tenants": lambda t: ("tenant", t.get("id")),
        "tiers": lambda t: ("tier", t.get("id")),
        "routes": lambda r: ("route", low(r.get("kind")), r.get("userPoolId") or "", low(r.get("key"))),
        "members": lambda m: ("member", m.get("tenantId"), m.get("userPoolId"), m.get("sub")),
        "invitations": lambda i: ("invitation", i.get("tenantId"), i.get("userPoolId"), low(i.get("email"))),
    }
    out = {}
    for sec, key in keyed.items():
        items = doc.get(sec) or []
        out[sec] = {key(i): i for i in items if isinstance(i, dict)}
    return out


def describe(sec, item):
    if sec == "members":
        return (f"member {item.get('tenantId')} <- {item.get('userPoolId')}/{short(item.get('sub'))}"
                f" roles {fmt_list(item.get('roles') or [])}")
    if sec == "invitations":
        return f"invitation {item.get('email')} -> {item.get('tenantId')}"
    if sec == "tenants":
        return f"tenant {item.get('id')}"
    if sec == "tiers":
        return f"tier {item.get('id')}"
    if sec == "routes":
        return f"route {item.get('kind')} {item.get('key')} -> {item.get('tenantId')}"
    return json.dumps(item, sort_keys=True)


def cmd_delta(before_path, after_path, quiet=""):
    """quiet: print nothing when nothing changed (pre token generation rarely writes)."""
    before, after = load_json(before_path), load_json(after_path)
    if not isinstance(before, dict) or not isinstance(after, dict):
        if not quiet:
            print("      directory: (tenantctl export gave no JSON document; see .demo/tenantctl.log)")
        return 0
    b, a = sections(before), sections(after)
    lines = []
    for sec in ("members", "invitations", "tenants", "routes", "tiers"):
        for k in a[sec].keys() - b[sec].keys():
            lines.append("+ " + describe(sec, a[sec][k]))
        for k in b[sec].keys() - a[sec].keys():
            what = "used" if sec == "invitations" else "removed"
            lines.append(f"- {describe(sec, b[sec][k])} ({what})")
        for k in a[sec].keys() & b[sec].keys():
            old, new = b[sec][k], a[sec][k]
            if old != new:
                changes = [f"{f} {old.get(f)!s} -> {new.get(f)!s}"
                           for f in sorted(set(old) | set(new)) if old.get(f) != new.get(f)]
                lines.append(f"~ {describe(sec, new)}: " + ", ".join(changes))
    if not lines and not quiet:
        print("      directory unchanged")
    for line in sorted(lines, key=lambda l: (l[2:], l[0])):
        print("      " + line)
    return 0


def cmd_overview(before_path, after_path):
    before, after = load_json(before_path), load_json(after_path)
    if not isinstance(before, dict) or not isinstance(after, dict):
        print("  (tenantctl export gave no JSON document; see .demo/tenantctl.log)")
        return 0

    def facts(doc):
        tenants = {t.get("id"): t for t in doc.get("tenants") or [] if isinstance(t, dict)}
        members = {}
        for m in doc.get("members") or []:
            if isinstance(m, dict):
                members[m.get("tenantId")] = members.get(m.get("tenantId"), 0) + 1
        return tenants, members, len(doc.get("invitations") or [])

    tb, mb, ib = facts(before)
    ta, ma, ia = facts(after)

    def arrow(x, y):
        x = "-" if x is None else str(x)
        y = "-" if y is None else str(y)
        return x if x == y else f"{x} -> {y}"

    # userCount is not part of the directory document; shown only if the export has it.
    counted = any("userCount" in t for t in list(tb.values()) + list(ta.values()))
    print(f"  {'tenant':<20} {'status':<12} members" + ("    userCount" if counted else ""))
    for tid in sorted(set(tb) | set(ta), key=str):
        t_old, t_new = tb.get(tid, {}), ta.get(tid, {})
        row = (f"  {str(tid):<20} {arrow(t_old.get('status'), t_new.get('status')):<12} "
               f"{arrow(mb.get(tid, 0), ma.get(tid, 0))}")
        if counted:
            row = f"{row:<44}{arrow(t_old.get('userCount'), t_new.get('userCount'))}"
        print(row.rstrip())
    print(f"  open invitations: {arrow(ib, ia)}")
    return 0


def cmd_directory(doc_path, state_path=None):
    doc = load_json(doc_path)
    if not isinstance(doc, dict):
        print(f"  ({doc_path} is not a directory document)")
        return 1
    state = load_json(state_path) if state_path else None
    client_names = {v: k for k, v in ((state or {}).get("clients") or {}).items()}
    tiers = {t.get("id"): t.get("scopes") or [] for t in doc.get("tiers") or []}
    for t in doc.get("tenants") or []:
        tid = t.get("id")
        facts = [f"tier {t.get('tier')} (scopes {fmt_list(tiers.get(t.get('tier'), []))})",
                 t.get("status") or "active",
                 "self sign-up" if t.get("selfSignUp") else "invitation only"]
        if t.get("allowedEmailDomains"):
            facts.append("emails @" + ", @".join(t["allowedEmailDomains"]))
        if t.get("maxUsers") is not None:
            facts.append(f"{t['maxUsers']} seats")
        print(f"  {tid}: " + ", ".join(facts))
        for r in doc.get("routes") or []:
            if r.get("tenantId") == tid:
                key = r.get("key")
                if r.get("kind") == "client" and key in client_names:
                    key = f"{key} (app client {client_names[key]})"
                print(f"      {r.get('kind')} route {key}")
        for i in doc.get("invitations") or []:
            if i.get("tenantId") == tid:
                print(f"      invitation {i.get('email')} roles {fmt_list(i.get('roles') or ['(default)'])}")
        members = [m for m in doc.get("members") or [] if m.get("tenantId") == tid]
        if members:
            print(f"      {len(members)} member(s) imported: " + ", ".join(str(m.get("sub")) for m in members))
    return 0


def cmd_totals(tally):
    counts = {"match": 0, "differs": 0, "no-expected": 0, "failed": 0}
    try:
        with open(tally, encoding="utf-8") as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3:
                    counts[parts[2]] = counts.get(parts[2], 0) + 1
    except OSError:
        pass
    total = sum(counts.values())
    print(f"{total} events: {counts['match']} matched expected, {counts['differs']} differed, "
          f"{counts['no-expected']} without expected, {counts['failed']} failed")
    strict = os.environ.get("DEMO_STRICT", "") not in ("", "0")
    return 1 if strict and (counts["differs"] or counts["failed"]) else 0


def cmd_mutants(outcomes_path):
    """The counts of a cargo-mutants run, and each missed or timed-out mutant."""
    doc = load_json(outcomes_path)
    if not isinstance(doc, dict):
        print(f"mutants: no outcomes at {outcomes_path}", file=sys.stderr)
        return 1
    print(f"\nmutants tested: {doc.get('total_mutants', 0)} "
          f"(cargo-mutants {doc.get('cargo_mutants_version', '?')})")
    for key in ("caught", "missed", "unviable", "timeout"):
        print(f"  {key:<9} {doc.get(key, 0)}")
    for outcome in doc.get("outcomes", []):
        summary = outcome.get("summary", "")
        if summary in ("MissedMutant", "Timeout"):
            scenario = outcome.get("scenario")
            mutant = scenario.get("Mutant", scenario) if isinstance(scenario, dict) else scenario
            # cargo-mutants names a mutant "file:line:column: what it replaces".
            name = mutant.get("name", "?") if isinstance(mutant, dict) else str(mutant)
            print(f"  {summary}: {name}")
    return 1 if doc.get("missed", 0) or doc.get("timeout", 0) else 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 64
    cmd, args = argv[1], argv[2:]
    if cmd == "bins":
        meta = json.load(sys.stdin)
        members = set(meta.get("workspace_members") or [])
        names = sorted({t["name"] for p in meta["packages"] if p["id"] in members
                        for t in p["targets"] if "bin" in t["kind"]})
        print("\n".join(names))
        return 0
    if cmd == "target-dir":
        print(json.load(sys.stdin)["target_directory"])
        return 0
    if cmd == "invoke":
        return cmd_invoke(*args)
    if cmd == "delta":
        return cmd_delta(*args)
    if cmd == "overview":
        return cmd_overview(*args)
    if cmd == "totals":
        return cmd_totals(*args)
    if cmd == "directory":
        return cmd_directory(*args)
    if cmd == "mutants":
        return cmd_mutants(*args)
    print(f"unknown command {cmd!r}\n{__doc__}", file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
