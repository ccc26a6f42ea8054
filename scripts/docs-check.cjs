#!/usr/bin/env node
// docs-check.cjs - browser check of /docs (Swagger UI) and /redoc (ReDoc),
// adapted from the team's shared docs-check.cjs tool; run it through
// scripts/docs-browser-check.sh, which installs what it needs.
//
// Usage: node docs-check.cjs BASE_URL [OUT_DIR]
// Env:   PW_DEPS   dir whose node_modules holds playwright-core
//        CHROMIUM  browser binary (default: chromium on PATH)
//        DOCS_USER, DOCS_PASSWORD  the account Swagger UI's Authorize logs in
//                  with (default: the first superuser of the dev setup)
//
// Fails (exit 1) when a page:
//  - does not render every operation of /openapi.json (matched by
//    operationId, so a route missing from a viewer is named);
//  - answers without a Content-Security-Policy, logs a console error, or
//    throws;
//  - sends a request outside BASE_URL's origin. A request the CSP blocks
//    (ReDoc always tries its "Redocly" logo from a CDN) never leaves the
//    browser: it is reported as blocked, and so is its console message.
// On /docs it also logs in through "Authorize" (the OAuth2 password flow of
// the document, POST /auth/login) and runs "Try it out" on GET /users/me,
// which must answer 200, then again on the page opened anew (persistAuthorization),
// then with the browser's clock moved past the access token's expiry: the
// page must refresh the session first (one POST /auth/refresh answering 200,
// then GET /users/me 200 with the new access token, kept in localStorage),
// share one refresh between requests sent at once, and log out when the
// refresh is refused (401). See refreshCheck.
// Screenshots: OUT_DIR/docs.png, docs-try-it-out.png, redoc.png.
"use strict";
const path = require("path");
const fs = require("fs");
const { createRequire } = require("module");

const base = process.argv[2];
const out = process.argv[3] || ".";
if (!base) { console.error("usage: docs-check.cjs BASE_URL [OUT_DIR]"); process.exit(2); }
const req = createRequire(path.join(path.resolve(process.env.PW_DEPS || "."), "noop.js"));
const { chromium } = req("playwright-core");
const exe = process.env.CHROMIUM || findOnPath("chromium");
if (!exe) { console.error("no chromium on PATH (apt-get install chromium)"); process.exit(2); }
const user = process.env.DOCS_USER || "admin@example.com";
const password = process.env.DOCS_PASSWORD || "adminpassword123";
const origin = new URL(base).origin;
const TIMEOUT = 20000;
// URLs whose "Failed to load resource: ... 401" console error a check
// provokes on purpose (the refused refresh of refreshCheck)
const expectedFailures = new Set();

function findOnPath(name) {
  for (const dir of (process.env.PATH || "").split(path.delimiter)) {
    const p = path.join(dir, name);
    try { fs.accessSync(p, fs.constants.X_OK); return p; } catch (_) { /* next */ }
  }
  return null;
}

// operationIds a viewer rendered, from the ids it gives its elements
const viewers = {
  docs: {
    path: "/docs",
    rendered: page => page.$$eval(".swagger-ui .opblock[id]", els => els.map(e => e.id)),
    // Swagger UI: id="operations-<tag>-<operationId>"
    has: (ids, opId) => ids.some(id => id.endsWith("-" + opId)),
  },
  redoc: {
    path: "/redoc",
    rendered: page => page.$$eval("[data-section-id*='operation/']",
                                   els => els.map(e => e.getAttribute("data-section-id"))),
    // ReDoc: data-section-id="tag/<tag>/operation/<operationId>"
    has: (ids, opId) => ids.some(id => id.endsWith("operation/" + opId)),
  },
};

// Swagger UI's Authorize and Try it out on GET /users/me; returns problems
async function tryItOut(page, doc) {
  const op = doc.paths["/users/me"].get;
  const block = page.locator(`.opblock[id$="-${op.operationId}"]`);
  const problems = [];
  const execute = async when => {
    if (!/\bis-open\b/.test(await block.getAttribute("class"))) {
      await block.locator(".opblock-summary-control").click();
    }
    if (!(await block.locator(".execute").count())) await block.locator(".try-out__btn").click();
    const [resp] = await Promise.all([
      page.waitForResponse(r => r.url() === origin + "/users/me", { timeout: TIMEOUT }),
      block.locator(".execute").click(),
    ]);
    if (resp.status() !== 200) problems.push(`Try it out GET /users/me ${when}: HTTP ${resp.status()}`);
  };

  await page.locator(".auth-wrapper .authorize").click();
  const dialog = page.locator(".modal-ux");
  await dialog.locator("#oauth_username").fill(user);
  await dialog.locator("#oauth_password").fill(password);
  const [login] = await Promise.all([
    page.waitForResponse(r => r.url() === origin + "/auth/login", { timeout: TIMEOUT }),
    dialog.locator(".auth-container").first().locator("button.authorize").click(),
  ]);
  if (login.status() !== 200) problems.push(`Authorize: POST /auth/login HTTP ${login.status()}`);
  await dialog.locator(".btn-done").first().click();

  await execute("after Authorize");
  await block.screenshot({ path: path.join(out, "docs-try-it-out.png") });
  // open the page anew, as a user would: a reload would keep the deep link
  // of the operation in the URL (see docs/swagger-init.js)
  await page.goto(base + "/docs", { waitUntil: "load", timeout: TIMEOUT });
  await page.waitForSelector(".swagger-ui .opblock", { timeout: TIMEOUT });
  await execute("after a reload");
  problems.push(...await refreshCheck(page, execute));
  return problems;
}

// The session refresh of docs/swagger-init.js, in the page as it stands
// after tryItOut (authorized, GET /users/me open). The access token cannot
// be made to expire without the signing key, so the browser's clock is
// moved past it instead: Playwright's page.clock.setFixedTime changes what
// Date.now() answers in the page (its timers keep running) and nothing in
// the page knows it is under test. Then:
//  - "Try it out" on GET /users/me must first POST /auth/refresh with the
//    stored refresh token (200) and go out with the new access token (200),
//    which is the one kept in localStorage (persistAuthorization);
//  - three requests at once must share one refresh (a refresh token works
//    once: a second use after the grace window ends the session);
//  - a refused refresh (401) must log the scheme out (the request still
//    goes out, with the access token it had).
const SCHEME = "OAuth2PasswordBearer";
async function refreshCheck(page, execute) {
  const problems = [];
  const stored = () => page.evaluate(s => {
    const a = JSON.parse(localStorage.getItem("authorized") || "{}")[s];
    return a ? a.token : null;
  }, SCHEME);
  const expOf = jwt => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString()).exp;
  const refreshes = [], calls = [];
  const onResponse = r => {
    const u = r.url();
    if (u === origin + "/auth/refresh" && r.request().method() === "POST") refreshes.push(r);
    if (u === origin + "/users/me") calls.push(r);
  };
  page.on("response", onResponse);
  // the Authorize form's password is never kept (persistAuthorization)
  const kept = await page.evaluate(s => {
    const a = JSON.parse(localStorage.getItem("authorized") || "{}")[s];
    return a ? Object.keys(a) : [];
  }, SCHEME);
  if (kept.includes("password")) problems.push("Authorize: the password is kept in localStorage");
  try {
    const old = await stored();
    if (!old || !old.refresh_token) return ["refresh: no refresh_token in the stored login answer"];
    await page.clock.setFixedTime(expOf(old.access_token) * 1000 + 60000);

    await execute("with an expired access token");
    const fresh = await stored();
    if (refreshes.length !== 1) {
      problems.push(`refresh: ${refreshes.length} POST /auth/refresh before GET /users/me, not 1`);
    } else {
      const r = refreshes[0];
      const sent = JSON.parse(r.request().postData() || "{}").refresh_token;
      const body = r.status() === 200 ? await r.json() : {};
      if (r.status() !== 200) problems.push(`refresh: POST /auth/refresh HTTP ${r.status()}`);
      if (sent !== old.refresh_token) problems.push("refresh: POST /auth/refresh did not send the stored refresh token");
      const auth = calls.length ? await calls[0].request().headerValue("authorization") : null;
      if (auth !== "Bearer " + body.access_token) {
        problems.push("refresh: GET /users/me did not go out with the refreshed access token");
      }
      if (!fresh || fresh.access_token !== body.access_token || fresh.refresh_token !== body.refresh_token) {
        problems.push("refresh: the new pair is not the one kept in localStorage");
      }
    }

    // three at once through the page's interceptor: one refresh between them
    refreshes.length = 0;
    const headers = await page.evaluate(async token => {
      const intercept = window.ui.getConfigs().requestInterceptor;
      const reqs = await Promise.all([1, 2, 3].map(() => intercept({
        url: location.origin + "/users/me", method: "GET", headers: { Authorization: "Bearer " + token },
      })));
      return reqs.map(r => r.headers.Authorization);
    }, fresh && fresh.access_token);
    const newest = await stored();
    if (refreshes.length !== 1 || refreshes[0].status() !== 200) {
      problems.push(`refresh: 3 requests at once made ${refreshes.length} refreshes ` +
                    `(HTTP ${refreshes.map(r => r.status()).join(", ")}), not one answering 200`);
    }
    if (!newest || headers.some(h => h !== "Bearer " + newest.access_token)) {
      problems.push("refresh: 3 requests at once did not all get the refreshed access token");
    }

    // a refresh token the server refuses, as if another tab had stored it
    // (the interceptor takes a pair persisted by another tab over its own):
    // the scheme is logged out
    refreshes.length = 0;
    await page.evaluate(s => {
      const all = JSON.parse(localStorage.getItem("authorized"));
      all[s].token.refresh_token = "refused-on-purpose-by-docs-check";
      localStorage.setItem("authorized", JSON.stringify(all));
    }, SCHEME);
    expectedFailures.add(origin + "/auth/refresh");
    await execute("with a refused refresh token");
    if (refreshes.length !== 1 || refreshes[0].status() !== 401) {
      problems.push(`refresh: a refused refresh token: POST /auth/refresh ` +
                    `${refreshes.map(r => "HTTP " + r.status()).join(", ") || "not sent"}, not one 401`);
    }
    if (await stored()) problems.push("refresh: a refused refresh did not log out (still in localStorage)");
    if (!(await page.locator(".auth-wrapper .authorize.unlocked").count())) {
      problems.push("refresh: a refused refresh did not log out (Authorize still locked)");
    }
  } finally {
    page.off("response", onResponse);
  }
  return problems;
}

(async () => {
  const doc = await (await fetch(base + "/openapi.json")).json();
  const opIds = Object.values(doc.paths).flatMap(item =>
    ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
      .filter(m => item[m]).map(m => item[m].operationId));

  const browser = await chromium.launch({
    executablePath: exe, headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-dev-shm-usage",
           "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  let failed = 0;
  for (const [name, viewer] of Object.entries(viewers)) {
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    const foreign = new Set(), blocked = new Set(), consoleErrors = [], errors = [];
    const isForeign = u => !u.startsWith(origin + "/") && !/^(data|blob):/.test(u);
    page.on("request", r => { if (isForeign(r.url())) foreign.add(r.url()); });
    page.on("requestfailed", r => {
      if (isForeign(r.url()) && (r.failure() || {}).errorText === "csp") blocked.add(r.url());
    });
    page.on("console", m => {
      if (m.type() !== "error") return;
      if (expectedFailures.has(m.location().url) && /status of 401/.test(m.text())) return;
      consoleErrors.push(m.text());
    });
    page.on("pageerror", e => errors.push(String(e)));

    const t0 = Date.now();
    let ids = [];
    try {
      const resp = await page.goto(base + viewer.path, { waitUntil: "load", timeout: TIMEOUT });
      if (resp.status() !== 200) throw new Error("HTTP " + resp.status());
      if (!resp.headers()["content-security-policy"]) errors.push("no Content-Security-Policy header");
      await page.waitForFunction(n => document.querySelectorAll(
        ".swagger-ui .opblock[id], [data-section-id*='operation/']").length >= n,
        opIds.length, { timeout: TIMEOUT });
      ids = await viewer.rendered(page);
      await page.screenshot({ path: path.join(out, name + ".png") });
      if (name === "docs") errors.push(...await tryItOut(page, doc));
    } catch (e) { errors.push(String(e.message || e)); }

    const missing = opIds.filter(id => !viewer.has(ids, id));
    const left = [...foreign].filter(u => !blocked.has(u));
    // the browser's own report of a request the CSP blocked is expected
    errors.push(...consoleErrors.filter(t => ![...blocked].some(u => t.includes(u))));
    const ok = missing.length === 0 && left.length === 0 && errors.length === 0;
    if (!ok) failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${name} ${viewer.path} operations=${opIds.length - missing.length}/${opIds.length} ` +
                `${Date.now() - t0}ms foreign=${left.length} blocked-by-csp=${blocked.size} errors=${errors.length}`);
    for (const id of missing) console.log("     not rendered: " + id);
    for (const u of left) console.log("     request left the origin: " + u);
    for (const u of blocked) console.log("     blocked by the CSP: " + u);
    for (const e of errors) console.log("     error: " + e.slice(0, 300));
    await ctx.close();
  }
  await browser.close();
  console.log(`${Object.keys(viewers).length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
})().catch(e => { console.error(e); process.exit(1); });
