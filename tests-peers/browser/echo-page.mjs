#!/usr/bin/env node
// Real-peer test: drives the echo sample page (examples/echo/static/index.html) in
// Debian's headless Chromium against a running echo server.
//
//   node echo-page.mjs http://127.0.0.1:5000/ [--expect-extensions permessage-deflate]
//                      [--expect-http-version HTTP/2] [--chromium-arg --disable-http2]
//                      [--screenshot out.png] [--message TEXT]
//
// Steps: load the page, Connect, wait for "Open" and for the row in which the server says
// which HTTP version carried the WebSocket (checked against --expect-http-version if
// given), send a non-ASCII message, wait for the same text to come back, check the
// negotiated extensions (if asked), Close Socket, wait for the close row with "Code: 1000".
// An https:// page is loaded with --ignore-certificate-errors (the sample's --self-signed
// certificate). Each wait has STEP_TIMEOUT_MS, the whole run
// TOTAL_TIMEOUT_MS. Exit 0 only when every step happened; otherwise the missing step and
// the page's log go to stderr and the exit code is 1 (2 for bad arguments).
// The browser is always closed and its profile dir removed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 10_000;
const STEP_GUARD_MS = 25_000;
const LAUNCH_TIMEOUT_MS = 20_000; // a cold first start on 2 cores can take a few seconds
const TOTAL_TIMEOUT_MS = 60_000;
const CLEANUP_TIMEOUT_MS = 10_000;
const DEFAULT_MESSAGE = 'héllo wörld ✓ 1234';
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--no-first-run',
  '--disable-quic',
  '--disable-component-update',
  '--disable-sync',
];

function usage(message) {
  process.stderr.write(
    `${message}\nusage: node echo-page.mjs PAGE_URL [--expect-extensions SUBSTRING] ` +
      '[--expect-http-version VERSION] [--chromium-arg ARG] [--screenshot PATH] [--message TEXT]\n',
  );
  process.exit(2);
}

function parseArgs(argv) {
  const opts = {
    url: null,
    expectExtensions: null,
    expectHttpVersion: null,
    chromiumArgs: [],
    screenshot: null,
    message: DEFAULT_MESSAGE,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${arg} needs a value`);
      return argv[++i];
    };
    if (arg === '--expect-extensions') opts.expectExtensions = value();
    else if (arg === '--expect-http-version') opts.expectHttpVersion = value();
    else if (arg === '--chromium-arg') opts.chromiumArgs.push(value());
    else if (arg === '--screenshot') opts.screenshot = value();
    else if (arg === '--message') opts.message = value();
    else if (arg === '-h' || arg === '--help') usage('');
    else if (arg.startsWith('--')) usage(`unknown option ${arg}`);
    else if (opts.url === null) opts.url = arg;
    else usage(`unexpected argument ${arg}`);
  }
  if (opts.url === null) usage('missing PAGE_URL');
  try {
    const u = new URL(opts.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') usage(`not an http(s) URL: ${opts.url}`);
  } catch {
    usage(`not a URL: ${opts.url}`);
  }
  return opts;
}

class StepFailed extends Error {}

const opts = parseArgs(process.argv.slice(2));
const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const profileDir = mkdtempSync(join(tmpdir(), 'ropeway-echo-page-'));
const consoleLines = [];
let context = null;
let page = null;
let currentStep = 'start';
let cleanupDone = null;
let failing = false;

function log(line) {
  process.stdout.write(`${line}\n`);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new StepFailed(`${what}: not done within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Each wait inside a step is bounded by STEP_TIMEOUT_MS and says what it missed; the
// step's own bound is only a safety net for a call that hangs.
async function step(name, fn) {
  currentStep = name;
  const started = Date.now();
  try {
    await withTimeout(Promise.resolve().then(fn), STEP_GUARD_MS, name);
  } catch (e) {
    if (e instanceof StepFailed) throw e;
    // A Playwright error: its message (with its call log) says enough; the stack does not.
    throw new StepFailed(stripAnsi(e.message ?? String(e)));
  }
  log(`ok   ${name} (${Date.now() - started} ms)`);
}

function stripAnsi(text) {
  return text.replace(/\x1b\[[0-9;]*m/g, '');
}

// Waits until `predicate(arg)` is true in the page; on timeout, says what was missing.
async function waitInPage(predicate, arg, missing) {
  try {
    await page.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 50 });
  } catch (e) {
    const why = e.name === 'TimeoutError' ? `not seen within ${STEP_TIMEOUT_MS} ms` : stripAnsi(e.message);
    throw new StepFailed(`${missing}: ${why}`);
  }
}

async function pageSnapshot() {
  if (!page) return null;
  try {
    return await withTimeout(
      page.evaluate(() => ({
        state: document.getElementById('stateLabel')?.textContent ?? '(no #stateLabel)',
        error: document.getElementById('errorText')?.textContent ?? '',
        rows: Array.from(document.querySelectorAll('#commsLog tr')).map((tr) =>
          Array.from(tr.cells)
            .map((td) => td.textContent)
            .join(' | '),
        ),
      })),
      3_000,
      'reading the page',
    );
  } catch (e) {
    return { unreadable: e.message };
  }
}

async function screenshot() {
  if (!opts.screenshot || !page) return;
  try {
    await withTimeout(page.screenshot({ path: opts.screenshot, fullPage: true }), 5_000, 'screenshot');
    log(`screenshot written to ${opts.screenshot}`);
  } catch (e) {
    process.stderr.write(`could not write the screenshot: ${e.message}\n`);
  }
}

// Runs once; later callers wait for the same cleanup.
function cleanup() {
  cleanupDone ??= (async () => {
    if (context) {
      try {
        await withTimeout(context.close(), CLEANUP_TIMEOUT_MS, 'closing the browser');
      } catch (e) {
        process.stderr.write(`${e.message}\n`);
      }
    }
    rmSync(profileDir, { recursive: true, force: true });
  })();
  return cleanupDone;
}

// Reports the first failure only: once the overall timeout has fired, the steps still
// running fail too (the browser is closing under them), and that is no news.
async function fail(message) {
  if (failing) return new Promise(() => {});
  failing = true;
  process.stderr.write(`FAIL step "${currentStep}": ${message}\n`);
  const snap = await pageSnapshot();
  if (snap?.unreadable) {
    process.stderr.write(`page not readable: ${snap.unreadable}\n`);
  } else if (snap) {
    process.stderr.write(`state label: ${JSON.stringify(snap.state)}`);
    process.stderr.write(snap.error ? `, error text: ${JSON.stringify(snap.error)}\n` : '\n');
    process.stderr.write(`communication log (${snap.rows.length} rows):\n`);
    for (const row of snap.rows) process.stderr.write(`  ${row}\n`);
  }
  if (consoleLines.length) {
    process.stderr.write('browser console:\n');
    for (const line of consoleLines.slice(-20)) process.stderr.write(`  ${line}\n`);
  }
  await screenshot();
  await cleanup();
  process.exit(1);
}

async function run() {
  const pageUrl = new URL(opts.url);
  const secure = pageUrl.protocol === 'https:';
  const expectedWsUrl = `${secure ? 'wss' : 'ws'}://${pageUrl.host}/ws?announce`;
  const message = opts.message;

  await step('launch chromium', async () => {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(secure ? ['--ignore-certificate-errors'] : []), ...opts.chromiumArgs],
      timeout: LAUNCH_TIMEOUT_MS,
      // This script's own handlers report the page's log, then close the browser.
      handleSIGINT: false,
      handleSIGTERM: false,
      viewport: { width: 1100, height: 720 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
    page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message}`));
  });

  await step('load the page', async () => {
    const response = await page.goto(opts.url, { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
    if (!response || !response.ok()) {
      throw new StepFailed(`GET ${opts.url} answered ${response ? response.status() : 'nothing'}`);
    }
    await waitInPage(
      () => document.getElementById('stateLabel')?.textContent === 'Ready to connect...',
      null,
      'the state label "Ready to connect..."',
    );
    const wsUrl = await page.inputValue('#connectionUrl');
    if (wsUrl !== expectedWsUrl) {
      throw new StepFailed(`the URL box reads ${JSON.stringify(wsUrl)}, expected ${JSON.stringify(expectedWsUrl)}`);
    }
  });

  await step('connect', async () => {
    await page.click('#connectButton', { timeout: STEP_TIMEOUT_MS });
    await waitInPage(
      () => document.getElementById('stateLabel')?.textContent === 'Open',
      null,
      'the state label "Open"',
    );
    await waitInPage(
      () => document.querySelector('#commsLog tr[data-kind="open"]') !== null,
      null,
      'the "Connection opened" log row',
    );
  });

  await step('the server says which HTTP version carried the WebSocket', async () => {
    await waitInPage(
      () => document.querySelector('#commsLog tr[data-kind="transport"]') !== null,
      null,
      'the log row naming the HTTP version',
    );
    const version = await page.evaluate(() =>
      document.querySelector('#commsLog tr[data-kind="transport"]').getAttribute('data-http-version'),
    );
    log(`     the WebSocket rides ${version} (the page's log)`);
    if (opts.expectHttpVersion !== null && version !== opts.expectHttpVersion) {
      throw new StepFailed(`the page says ${JSON.stringify(version)}, expected ${JSON.stringify(opts.expectHttpVersion)}`);
    }
  });

  const negotiated = await page.evaluate(() => {
    const row = document.querySelector('#commsLog tr[data-kind="open"]');
    return { extensions: row.getAttribute('data-extensions'), protocol: row.getAttribute('data-protocol') };
  });
  log(`     negotiated extensions: ${JSON.stringify(negotiated.extensions)}, protocol: ${JSON.stringify(negotiated.protocol)}`);

  if (opts.expectExtensions !== null) {
    await step(`extensions contain "${opts.expectExtensions}"`, async () => {
      if (!negotiated.extensions.includes(opts.expectExtensions)) {
        throw new StepFailed(
          `negotiated extensions ${JSON.stringify(negotiated.extensions)} do not contain ` +
            JSON.stringify(opts.expectExtensions),
        );
      }
    });
  }

  await step('send and receive the echo', async () => {
    await page.fill('#sendMessage', message, { timeout: STEP_TIMEOUT_MS });
    await page.click('#sendButton', { timeout: STEP_TIMEOUT_MS });
    await waitInPage(
      (text) =>
        Array.from(document.querySelectorAll('#commsLog tr[data-kind="receive"] td.data')).some(
          (td) => td.textContent === text,
        ),
      message,
      `a received log row with exactly ${JSON.stringify(message)}`,
    );
  });

  await step('close with code 1000', async () => {
    await page.click('#closeButton', { timeout: STEP_TIMEOUT_MS });
    await waitInPage(
      () =>
        Array.from(document.querySelectorAll('#commsLog tr[data-kind="close"]')).some((tr) =>
          tr.textContent.includes('Code: 1000.'),
        ),
      null,
      'a close log row with "Code: 1000"',
    );
    await waitInPage(
      () => document.getElementById('stateLabel')?.textContent === 'Closed',
      null,
      'the state label "Closed"',
    );
  });

  const errors = consoleLines.filter((l) => l.startsWith('error') || l.startsWith('pageerror'));
  if (errors.length) {
    currentStep = 'no page errors';
    throw new StepFailed(`the page logged errors:\n  ${errors.join('\n  ')}`);
  }

  await screenshot();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => fail(`stopped by ${signal}`));
}

const overall = setTimeout(
  () => fail(`the whole run took longer than ${TOTAL_TIMEOUT_MS} ms`),
  TOTAL_TIMEOUT_MS,
);

try {
  await run();
  clearTimeout(overall);
  await cleanup();
  log('PASS echo page: connect, echo, close');
  process.exit(0);
} catch (e) {
  clearTimeout(overall);
  await fail(e instanceof StepFailed ? e.message : e.stack || String(e));
}
