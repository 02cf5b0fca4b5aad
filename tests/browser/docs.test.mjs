// Browser test of the /docs page (§4): headless Debian chromium, driven by npm playwright-core, against the real
// mvi-runtime serving examples/hello. It loads /docs, checks that every operation of /openapi.json is listed and
// that no request leaves 127.0.0.1, runs `hello` through the UI ("Try it out" -> body -> "Execute"), and changes the
// greeting_phrase parameter through the UI, then checks GET /parameters (through the UI and over HTTP).
//
//   MVI_RUNTIME_BIN=build/mvi-runtime node tests/browser/docs.test.mjs
//
// Needs /usr/bin/chromium and node_modules/ (both installed by scripts/setup.sh); registered as the ctest `browser`.
// Bounded: 20 s for the service to start, 15 s per UI step, 120 s overall. The service and the browser are always
// stopped. A failure saves a screenshot under /tmp and the run exits 1; the last line is "N passed, M failed".
// MVI_DOCS_SCREENSHOT=/path.png also saves a screenshot of the page after the last test.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const SERVICE = path.join(REPO, "examples", "hello", "service.py");
const CHROMIUM = "/usr/bin/chromium";
const STARTUP_MS = 20_000;
const STEP_MS = 15_000;
const OVERALL_MS = 120_000;
const LISTENING_RE = /listening on http:\/\/127\.0\.0\.1:(\d+)/;

const results = [];
let server = null;
let browser = null;
let page = null;
let serverOutput = "";

function log(line) {
  process.stdout.write(`${line}\n`);
}

// ---- setup checks that fail with an actionable message -------------------------------------------------------

function loadPlaywright() {
  const require = createRequire(path.join(REPO, "package.json"));
  try {
    return require("playwright-core");
  } catch (err) {
    throw new Error(`cannot load playwright-core from ${REPO}/node_modules (${err.message}); run scripts/setup.sh ` +
                    "(or `npm ci` in the repository root)");
  }
}

function runtimeBin() {
  const bin = process.env.MVI_RUNTIME_BIN
    ? path.resolve(process.env.MVI_RUNTIME_BIN)
    : path.join(REPO, "build", "mvi-runtime");
  if (!existsSync(bin)) throw new Error(`mvi-runtime not found at ${bin}: build it, or set MVI_RUNTIME_BIN`);
  return bin;
}

// ---- the service -----------------------------------------------------------------------------------------------

function startService(bin) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("MVI_") || key.toLowerCase().startsWith("daeploy") || key === "PYTHONPATH" ||
        key === "PYTHONHOME") delete env[key];
  }
  env.PYTHONDONTWRITEBYTECODE = "1";
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ["--host", "127.0.0.1", "--port", "0", SERVICE], {
      cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"], detached: true, // own process group
    });
    server = child;
    let buffered = "";
    let done = false;
    const timer = setTimeout(() => finish(new Error(
      `the service printed no "listening on http://127.0.0.1:PORT" line within ${STARTUP_MS / 1000} s`)), STARTUP_MS);
    function finish(err, port) {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (err) reject(new Error(`${err.message}\n--- service output ---\n${serverOutput.slice(-4000)}`));
      else resolve(port);
    }
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk) => {
      serverOutput += chunk;
      buffered += chunk;
      const m = LISTENING_RE.exec(buffered);
      if (m) finish(null, Number(m[1]));
    });
    child.stderr.on("data", (chunk) => { serverOutput += chunk; });
    child.on("error", (err) => finish(new Error(`cannot start ${bin}: ${err.message}`)));
    child.on("exit", (code, signal) => finish(new Error(`the service exited (code ${code}, signal ${signal}) before listening`)));
  });
}

async function stopService() {
  const child = server;
  server = null;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const signalGroup = (sig) => {
    try { process.kill(-child.pid, sig); } catch { try { child.kill(sig); } catch { /* already gone */ } }
  };
  signalGroup("SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(10_000).then(() => false)]);
  if (!stopped) {
    signalGroup("SIGKILL");
    await Promise.race([exited, sleep(5_000)]);
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

async function httpJson(base, method, route, body) {
  const res = await fetch(base + route, {
    method,
    headers: body === undefined ? {} : { "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
}

// ---- UI helpers ------------------------------------------------------------------------------------------------

function operation(tag, operationId) {
  return page.locator(`#operations-${tag}-${operationId}`);
}

async function expand(op) {
  await op.waitFor({ state: "visible" });
  if (!(await op.evaluate((el) => el.classList.contains("is-open")))) await op.locator(".opblock-summary").first().click();
  await op.locator(".opblock-body").waitFor({ state: "visible" });
}

// "Try it out", optionally replace the JSON body, "Execute"; returns {status, body} as the UI shows them.
async function tryItOut(op, body) {
  await expand(op);
  const tryOut = op.locator("button.try-out__btn", { hasText: "Try it out" });
  if ((await tryOut.count()) > 0) await tryOut.click(); // otherwise already in try-out mode (Cancel / Reset shown)
  if (body !== undefined) {
    const textarea = op.locator("textarea.body-param__text");
    await textarea.waitFor({ state: "visible" });
    await textarea.fill(JSON.stringify(body));
  }
  await op.locator("button.execute").click();
  const row = op.locator(".live-responses-table tbody tr.response").first();
  await row.waitFor({ state: "visible" });
  const status = (await row.locator(".response-col_status").textContent()).trim();
  const shown = (await row.locator(".response-col_description pre").first().textContent()).trim();
  return { status, body: shown };
}

function assert(cond, message) {
  if (!cond) throw new Error(message);
}

// ---- tests -----------------------------------------------------------------------------------------------------

async function main() {
  const { chromium } = loadPlaywright();
  assert(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/setup.sh (apt package chromium)`);
  const bin = runtimeBin();
  const port = await startService(bin);
  const base = `http://127.0.0.1:${port}`;
  log(`service listening on ${base}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 30_000,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1400 } });
  page.setDefaultTimeout(STEP_MS);
  const foreign = [];
  const pageErrors = [];
  page.on("request", (req) => {
    const url = new URL(req.url());
    if (!["data:", "blob:"].includes(url.protocol) && url.host !== `127.0.0.1:${port}`) foreign.push(req.url());
  });
  page.on("pageerror", (err) => pageErrors.push(err.message));

  const spec = (await httpJson(base, "GET", "/openapi.json")).json;
  assert(spec && spec.paths, "GET /openapi.json did not return a document");

  await test("/docs renders Swagger UI from the binary's own assets, no other host contacted", async () => {
    const resp = await page.goto(`${base}/docs`, { waitUntil: "load" });
    assert(resp.status() === 200, `GET /docs answered ${resp.status()}`);
    await page.locator(".swagger-ui .info .title").waitFor({ state: "visible" });
    const title = (await page.locator(".swagger-ui .info .title").textContent()).trim();
    assert(title.startsWith(spec.info.title), `page title ${JSON.stringify(title)} is not the service name ${spec.info.title}`);
    await page.locator(".opblock").first().waitFor({ state: "visible" });
    assert(foreign.length === 0, `the page requested other hosts: ${foreign.join(", ")}`);
    assert(pageErrors.length === 0, `JavaScript errors on the page: ${pageErrors.join("; ")}`);
  });

  await test("every operation of /openapi.json is listed, every entrypoint among them", async () => {
    const missing = [];
    let entrypoints = 0;
    for (const [route, item] of Object.entries(spec.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if ((op.tags ?? []).includes("entrypoints")) entrypoints++;
        const block = page.locator(`.opblock.opblock-${method}`, {
          has: page.locator(`.opblock-summary-path[data-path="${route}"]`),
        });
        if ((await block.count()) !== 1) missing.push(`${method.toUpperCase()} ${route}`);
      }
    }
    assert(entrypoints >= 1, "the document lists no entrypoint");
    assert(missing.length === 0, `operations not shown on /docs: ${missing.join(", ")}`);
    await operation("entrypoints", "hello").waitFor({ state: "visible" });
  });

  await test('hello through the UI: Try it out -> {"name": "Ada"} -> Execute -> "Hello Ada"', async () => {
    const { status, body } = await tryItOut(operation("entrypoints", "hello"), { name: "Ada" });
    assert(status === "200", `the UI shows status ${status}, body ${body}`);
    assert(body === '"Hello Ada"', `the UI shows body ${body}, expected "Hello Ada"`);
  });

  await test("change greeting_phrase through the UI, then GET /parameters shows it (UI and HTTP)", async () => {
    const { status, body } = await tryItOut(operation("parameters", "set_parameter_greeting_phrase"),
                                            { greeting_phrase: "Bonjour" });
    assert(status === "200", `POST /parameters/greeting_phrase through the UI: status ${status}, body ${body}`);
    assert(JSON.parse(body).greeting_phrase === "Bonjour", `POST /parameters/greeting_phrase answered ${body}`);

    const listed = await tryItOut(operation("parameters", "list_parameters"));
    assert(listed.status === "200", `GET /parameters through the UI: status ${listed.status}`);
    assert(JSON.parse(listed.body).greeting_phrase === "Bonjour", `GET /parameters in the UI shows ${listed.body}`);

    const direct = await httpJson(base, "GET", "/parameters");
    assert(direct.status === 200 && direct.json?.greeting_phrase === "Bonjour",
           `GET /parameters over HTTP: ${direct.status} ${direct.text}`);

    const hello = await tryItOut(operation("entrypoints", "hello"), { name: "Ada" });
    assert(hello.body === '"Bonjour Ada"', `hello after the change shows ${hello.body}, expected "Bonjour Ada"`);
  });

  if (process.env.MVI_DOCS_SCREENSHOT) await page.screenshot({ path: process.env.MVI_DOCS_SCREENSHOT, fullPage: true });
}

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`ok   ${name} (${Date.now() - started} ms)`);
  } catch (err) {
    results.push({ name, ok: false });
    let shot = "";
    if (page) {
      const file = `/tmp/mvi-docs-failure-${Date.now()}.png`;
      try {
        await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
        shot = `\n     screenshot: ${file}`;
      } catch { /* the page may be gone */ }
    }
    log(`FAIL ${name}\n     ${String(err.message).split("\n").join("\n     ")}${shot}`);
  }
}

async function cleanup() {
  if (browser) {
    const b = browser;
    browser = null;
    await Promise.race([b.close().catch(() => {}), sleep(10_000)]);
  }
  await stopService();
}

let exitCode = 1;
const watchdog = setTimeout(async () => {
  log(`FAIL the browser test did not finish within ${OVERALL_MS / 1000} s`);
  results.push({ name: "overall time limit", ok: false });
  await cleanup();
  summary();
  process.exit(1);
}, OVERALL_MS);

function summary() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  log(`${passed} passed, ${failed} failed`);
  return failed;
}

try {
  await main();
} catch (err) {
  results.push({ name: "setup", ok: false });
  log(`FAIL setup: ${err.message}`);
} finally {
  await cleanup();
  clearTimeout(watchdog);
}
const failed = summary();
exitCode = failed === 0 && results.length > 0 ? 0 : 1;
process.exit(exitCode);
