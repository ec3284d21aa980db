// The adapter against a stand-in for `cargo lambda watch` (node --test local-pool/test/).
"use strict";

const assert = require("node:assert/strict");
const fs = require("node:fs");
const http = require("node:http");
const os = require("node:os");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { after, before, test } = require("node:test");

const adapter = require("../lambda-adapter.js");

/** Listens on a free loopback port; resolves to its base URL. */
function listen(server) {
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${server.address().port}`)),
  );
}

function post(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST" }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on("error", reject);
    req.end(body);
  });
}

// The stand-in answers like `cargo lambda watch`: per binary name, from `answers`.
const seen = [];
const answers = {};
const upstream = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const name = req.url.split("/")[3];
    seen.push({ name, body: Buffer.concat(chunks).toString() });
    const [status, body] = answers[name] ?? [404, '{"title":"Missing function"}'];
    res.writeHead(status, { "content-type": "application/json" });
    res.end(body);
  });
});
const journal = [];
const front = http.createServer(() => {});
let upstreamUrl;
let frontUrl;

before(async () => {
  upstreamUrl = await listen(upstream);
  front.on("request", adapter.handler({ upstream: upstreamUrl, record: (e) => journal.push(e) }));
  frontUrl = await listen(front);
});

after(() => {
  front.close();
  upstream.close();
});

const invoke = (name, event) =>
  post(`${frontUrl}/2015-03-31/functions/${encodeURIComponent(name)}/invocations`, JSON.stringify(event));

const signUpEvent = {
  version: "0",
  triggerSource: "PreSignUp_SignUp",
  userPoolId: "local_Abc12345",
  userName: "someone",
  callerContext: { clientId: "client1" },
  request: { userAttributes: { sub: "s-1", email: "jane@acme.example", name: "Jane" } },
  response: {},
};

test("trigger names and ARNs map to the binaries; other names pass as they are", () => {
  assert.equal(adapter.functionName("PreSignUp"), "pre-signup");
  assert.equal(adapter.functionName("PostConfirmation"), "post-confirmation");
  assert.equal(adapter.functionName("PreTokenGeneration"), "pre-token-generation");
  assert.equal(
    adapter.functionName(encodeURIComponent("arn:aws:lambda:us-east-1:000000000000:function:PreSignUp:$LATEST")),
    "pre-signup",
  );
  assert.equal(adapter.functionName("pre-signup"), "pre-signup");
  assert.equal(adapter.functionName("constructor"), "constructor");
});

test("a function error becomes HTTP 200, X-Amz-Function-Error: Unhandled and the error document", async () => {
  const doc = { errorType: "SIGNUP_NOT_ALLOWED", errorMessage: "SIGNUP_NOT_ALLOWED: sign-up is not allowed" };
  answers["pre-signup"] = [500, JSON.stringify(doc)];
  const res = await invoke("PreSignUp", signUpEvent);
  assert.equal(res.status, 200);
  assert.equal(res.headers["x-amz-function-error"], "Unhandled");
  assert.deepEqual(JSON.parse(res.body), doc);
  assert.equal(seen.at(-1).name, "pre-signup");
  assert.deepEqual(JSON.parse(seen.at(-1).body), signUpEvent, "the event is forwarded untouched");
});

test("an error without a document is still a function error, never the upstream's text", async () => {
  answers["pre-signup"] = [500, "thread panicked at src/main.rs"];
  const res = await invoke("PreSignUp", signUpEvent);
  assert.equal(res.status, 200);
  assert.equal(res.headers["x-amz-function-error"], "Unhandled");
  assert.deepEqual(JSON.parse(res.body), {
    errorType: "Runtime.Unknown",
    errorMessage: "the function failed (HTTP 500)",
  });
});

test("a success passes as it is, without the function error header", async () => {
  const out = { ...signUpEvent, response: { autoConfirmUser: false, autoVerifyEmail: false, autoVerifyPhone: false } };
  answers["pre-signup"] = [200, JSON.stringify(out)];
  const res = await invoke("PreSignUp", signUpEvent);
  assert.equal(res.status, 200);
  assert.equal(res.headers["x-amz-function-error"], undefined);
  assert.deepEqual(JSON.parse(res.body), out);
});

test("a version 1 answer's groups and roles are also written as the claims Cognito sets", async () => {
  const tokenEvent = { ...signUpEvent, triggerSource: "TokenGeneration_Authentication" };
  const response = {
    claimsOverrideDetails: {
      claimsToAddOrOverride: { tenantId: "acme", "custom:tenantId": "acme" },
      groupOverrideDetails: {
        groupsToOverride: ["admin"],
        iamRolesToOverride: ["arn:aws:iam::1:role/r"],
        preferredRole: "arn:aws:iam::1:role/r",
      },
    },
  };
  answers["pre-token-generation"] = [200, JSON.stringify({ ...tokenEvent, response })];
  const res = await invoke("PreTokenGeneration", tokenEvent);
  const claims = JSON.parse(res.body).response.claimsOverrideDetails.claimsToAddOrOverride;
  assert.deepEqual(claims, {
    tenantId: "acme",
    "custom:tenantId": "acme",
    "cognito:groups": ["admin"],
    "cognito:roles": ["arn:aws:iam::1:role/r"],
    "cognito:preferred_role": "arn:aws:iam::1:role/r",
  });
  assert.deepEqual(journal.at(-1).answer, response, "the journal keeps the function's own answer");

  // No groupOverrideDetails (the groups do not change): nothing is added.
  const plain = { claimsOverrideDetails: { claimsToAddOrOverride: { tenantId: "acme" } } };
  answers["pre-token-generation"] = [200, JSON.stringify({ ...tokenEvent, response: plain })];
  const res2 = await invoke("PreTokenGeneration", tokenEvent);
  assert.deepEqual(JSON.parse(res2.body).response, plain);
});

test("the journal carries ids and answers, never an email, name or username", async () => {
  answers["pre-signup"] = [500, '{"errorType":"TENANT_SUSPENDED","errorMessage":"TENANT_SUSPENDED: suspended"}'];
  await invoke("PreSignUp", signUpEvent);
  const entry = journal.at(-1);
  assert.deepEqual(
    { ...entry, ms: 0 },
    {
      function: "pre-signup",
      triggerSource: "PreSignUp_SignUp",
      version: "0",
      userPoolId: "local_Abc12345",
      clientId: "client1",
      sub: "s-1",
      status: 200,
      functionError: "Unhandled",
      answer: { errorType: "TENANT_SUSPENDED", errorMessage: "TENANT_SUSPENDED: suspended" },
      ms: 0,
    },
  );
  const text = JSON.stringify(journal);
  for (const secret of ["jane@acme.example", "Jane", "someone"]) assert.ok(!text.includes(secret), secret);
});

test("an unknown function is Lambda's 404, not a function error", async () => {
  const res = await invoke("NoSuchTrigger", signUpEvent);
  assert.equal(res.status, 404);
  assert.equal(res.headers["x-amzn-errortype"], "ResourceNotFoundException");
  assert.equal(res.headers["x-amz-function-error"], undefined);
});

test("an unreachable upstream is a service error (502), not a function error", async () => {
  const closed = http.createServer();
  const url = await listen(closed);
  await new Promise((r) => closed.close(r));
  const lone = http.createServer(adapter.handler({ upstream: url, record: () => {} }));
  const loneUrl = await listen(lone);
  try {
    const res = await post(`${loneUrl}/2015-03-31/functions/PreSignUp/invocations`, "{}");
    assert.equal(res.status, 502);
    assert.equal(res.headers["x-amz-function-error"], undefined);
  } finally {
    lone.close();
  }
});

test("the program announces its address, journals to a file and stops on TERM", async () => {
  answers["pre-signup"] = [500, '{"errorType":"SIGNUP_NOT_ALLOWED","errorMessage":"SIGNUP_NOT_ALLOWED: no"}'];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lambda-adapter-"));
  const journalFile = path.join(dir, "journal.jsonl");
  const child = spawn(
    process.execPath,
    [path.join(__dirname, "..", "lambda-adapter.js"), "--upstream", upstreamUrl, "--journal", journalFile],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  try {
    const url = await new Promise((resolve, reject) => {
      let out = "";
      child.stdout.on("data", (c) => {
        out += c;
        const m = out.match(/^lambda-adapter listening on (http:\/\/\S+)$/m);
        if (m) resolve(m[1]);
      });
      child.on("exit", (code) => reject(new Error(`exited ${code} before listening`)));
    });
    const res = await post(`${url}/2015-03-31/functions/PreSignUp/invocations`, JSON.stringify(signUpEvent));
    assert.equal(res.headers["x-amz-function-error"], "Unhandled");
    const lines = fs.readFileSync(journalFile, "utf8").trim().split("\n").map(JSON.parse);
    assert.equal(lines.length, 1);
    assert.equal(lines[0].answer.errorType, "SIGNUP_NOT_ALLOWED");
  } finally {
    const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
    child.kill("SIGTERM");
    assert.deepEqual(await exited, { code: 0, signal: null });
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
