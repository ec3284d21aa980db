#!/usr/bin/env node
// The Lambda Invoke API as Lambda answers it, in front of `cargo lambda watch`.
// Local setup only (make pool, the end-to-end test); the functions know nothing of it.
// Node's standard library only.
//
//   node local-pool/lambda-adapter.js --upstream http://127.0.0.1:9000 \
//        [--listen 127.0.0.1:0] [--journal FILE]
//
// What it changes between cognito-local and `cargo lambda watch`:
//
// - Function errors. `cargo lambda watch` answers a function's error with HTTP 500 and the
//   error document; Lambda answers HTTP 200, `X-Amz-Function-Error: Unhandled` and the error
//   document, which is what lets a Cognito caller see `PreSignUp failed with error <message>.`
//   (cognito-local turns anything else into "Unexpected error when invoking lambda").
// - Names. cognito-local names the function in that message (`<function> failed with error`),
//   where Cognito names the trigger; so the emulator is configured with the trigger names
//   (PreSignUp, PostConfirmation, PreTokenGeneration) and they are mapped here to the
//   binaries (pre-signup, post-confirmation, pre-token-generation). Other names pass as they are.
// - Groups. Cognito applies a version 1 answer's `groupOverrideDetails` to `cognito:groups`
//   (and `cognito:roles`, `cognito:preferred_role`); cognito-local 5.3.0 ignores it and applies
//   only `claimsToAddOrOverride` to the ID token. The adapter copies the groups and roles into
//   `claimsToAddOrOverride` of the answer it hands the emulator, so the emulator's ID token
//   carries them as Cognito's would. (The access token cognito-local issues never changes.)
//
// Every invocation is one line on standard output and, with --journal, one JSON line in FILE:
// the function, trigger source, version, pool, client, sub, the status, and the function's
// own answer (its `response`, or its error document) before any change. No email, name,
// phone or username.
//
// The first line on standard output is `lambda-adapter listening on http://HOST:PORT`.
"use strict";

const fs = require("node:fs");
const http = require("node:http");

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** The trigger names cognito-local is configured with, and the binaries that serve them. */
const FUNCTIONS = {
  PreSignUp: "pre-signup",
  PostConfirmation: "post-confirmation",
  PreTokenGeneration: "pre-token-generation",
};

/** `arn:aws:lambda:region:account:function:NAME[:qualifier]` or `NAME`, mapped to a binary. */
function functionName(raw) {
  let name = decodeURIComponent(raw);
  const arn = name.match(/^arn:[^:]+:lambda:[^:]*:[^:]*:function:([^:]+)(:.*)?$/);
  if (arn) name = arn[1];
  return Object.hasOwn(FUNCTIONS, name) ? FUNCTIONS[name] : name;
}

/**
 * The version 1 answer with `groupOverrideDetails` also written as claims, the way Cognito
 * applies it to the tokens. Answers without groups (or of other shapes) are returned as they are.
 */
function withGroupClaims(answer) {
  const details = answer?.response?.claimsOverrideDetails;
  const groups = details?.groupOverrideDetails;
  if (!groups || typeof groups !== "object") return answer;
  const claims = { ...(details.claimsToAddOrOverride ?? {}) };
  if (Array.isArray(groups.groupsToOverride)) claims["cognito:groups"] = groups.groupsToOverride;
  if (Array.isArray(groups.iamRolesToOverride) && groups.iamRolesToOverride.length > 0) {
    claims["cognito:roles"] = groups.iamRolesToOverride;
  }
  if (typeof groups.preferredRole === "string" && groups.preferredRole !== "") {
    claims["cognito:preferred_role"] = groups.preferredRole;
  }
  return {
    ...answer,
    response: {
      ...answer.response,
      claimsOverrideDetails: { ...details, claimsToAddOrOverride: claims },
    },
  };
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What the journal keeps of an invocation: ids and the function's answer, no personal data. */
function journalEntry(fn, event, status, functionError, answer, ms) {
  const attributes = event?.request?.userAttributes ?? {};
  return {
    function: fn,
    triggerSource: event?.triggerSource ?? null,
    version: event?.version ?? null,
    userPoolId: event?.userPoolId ?? null,
    clientId: event?.callerContext?.clientId ?? null,
    sub: typeof attributes.sub === "string" ? attributes.sub : null,
    status,
    functionError,
    answer: functionError ? answer : (answer?.response ?? null),
    ms,
  };
}

function reply(res, status, headers, body) {
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** A Lambda service error (not a function error): the SDK caller sees an exception. */
function serviceError(res, status, type, message) {
  reply(res, status, { "x-amzn-errortype": type }, JSON.stringify({ Type: "Service", message }));
}

function forward(upstream, fn, body) {
  const url = new URL(`/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`, upstream);
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: "POST", headers: { "content-type": "application/json" } },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** The adapter as a request handler; `record(entry)` receives each invocation's journal entry. */
function handler({ upstream, record }) {
  return (req, res) => {
    const match = req.method === "POST" ? req.url.split("?")[0].match(INVOKE_PATH) : null;
    if (!match) {
      serviceError(res, 404, "ResourceNotFoundException", `lambda-adapter: no route for ${req.method} ${req.url}`);
      return;
    }
    const fn = functionName(match[1]);
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", async () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const event = parseJson(body);
      const started = process.hrtime.bigint();
      const ms = () => Number((process.hrtime.bigint() - started) / 1000000n);
      let answered;
      try {
        answered = await forward(upstream, fn, body);
      } catch (e) {
        record(journalEntry(fn, event, 502, null, { error: e.code ?? "unreachable" }, ms()));
        serviceError(res, 502, "ServiceException", `lambda-adapter: ${upstream} unreachable (${e.code ?? e.message})`);
        return;
      }
      const answer = parseJson(answered.body);
      if (answered.status >= 200 && answered.status < 300) {
        record(journalEntry(fn, event, answered.status, null, answer, ms()));
        const out = fn === FUNCTIONS.PreTokenGeneration ? withGroupClaims(answer) : answer;
        reply(res, 200, { "x-amz-executed-version": "$LATEST" }, answer === undefined ? answered.body : JSON.stringify(out));
      } else if (answered.status === 404 && typeof answer?.errorMessage !== "string") {
        // `cargo lambda watch` has no such binary: Lambda's "function not found".
        record(journalEntry(fn, event, 404, null, answer ?? null, ms()));
        serviceError(res, 404, "ResourceNotFoundException", `Function not found: ${fn}`);
      } else {
        // A function error: Lambda answers 200 with the error document and the header.
        const doc =
          typeof answer?.errorMessage === "string"
            ? answer
            : { errorType: "Runtime.Unknown", errorMessage: `the function failed (HTTP ${answered.status})` };
        record(journalEntry(fn, event, 200, "Unhandled", doc, ms()));
        reply(res, 200, { "x-amz-function-error": "Unhandled", "x-amz-executed-version": "$LATEST" }, JSON.stringify(doc));
      }
    });
  };
}

function summary(entry) {
  const outcome = entry.functionError
    ? `${entry.functionError} ${entry.answer?.errorType ?? ""}`
    : entry.status === 200
      ? "ok"
      : `HTTP ${entry.status}`;
  return `${entry.triggerSource ?? "?"} -> ${entry.function}: ${outcome} (${entry.ms} ms)`;
}

function parseArgs(argv) {
  const args = { listen: "127.0.0.1:0", upstream: null, journal: null };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === "--upstream") args.upstream = value;
    else if (flag === "--listen") args.listen = value;
    else if (flag === "--journal") args.journal = value;
    else throw new Error(`unknown option ${flag}`);
  }
  if (!args.upstream) throw new Error("--upstream URL is required (cargo lambda watch's invoke address)");
  new URL(args.upstream);
  return args;
}

function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`lambda-adapter: ${e.message}`);
    process.exit(64);
  }
  const journal = args.journal ? fs.openSync(args.journal, "a") : null;
  const record = (entry) => {
    console.log(summary(entry));
    if (journal !== null) fs.writeSync(journal, `${JSON.stringify(entry)}\n`);
  };
  const server = http.createServer(handler({ upstream: args.upstream, record }));
  const at = args.listen.lastIndexOf(":");
  const host = args.listen.slice(0, at);
  const port = Number(args.listen.slice(at + 1));
  server.listen(port, host, () => {
    const address = server.address();
    console.log(`lambda-adapter listening on http://${address.address}:${address.port}`);
  });
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

module.exports = { handler, functionName, withGroupClaims, journalEntry, FUNCTIONS };

if (require.main === module) main();
