#!/usr/bin/env node
// Real-peer test: the echo sample's room page (examples/echo/static/room.html) in two tabs
// of Debian's headless Chromium, each on another sample process (joined by --backplane).
//
//   node room-page.mjs http://127.0.0.1:5000/room http://127.0.0.1:5001/room [--room NAME]
//
// Steps: load the page in both tabs, join the same room in each, then tab one says
// something until tab two shows it (a room's channel is subscribed moments after its first
// member joins; until then messages are lost, as the backplane's at-most-once delivery
// allows), then tab two answers and tab one must show the answer, then both leave. Each
// wait has STEP_TIMEOUT_MS, the whole run TOTAL_TIMEOUT_MS. Exit 0 only when every step
// happened; otherwise the missing step and both tabs' logs go to stderr and the exit code
// is 1 (2 for bad arguments). The browser is always closed and its profile dir removed.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const STEP_TIMEOUT_MS = 10_000;
const LAUNCH_TIMEOUT_MS = 20_000;
const TOTAL_TIMEOUT_MS = 60_000;
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
  process.stderr.write(`${message}\nusage: node room-page.mjs URL_ONE URL_TWO [--room NAME]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
const urls = [];
let room = 'browsers';
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--room') {
    if (i + 1 >= args.length) usage('--room needs a value');
    room = args[++i];
  } else if (args[i].startsWith('--')) usage(`unknown option ${args[i]}`);
  else urls.push(args[i]);
}
if (urls.length !== 2) usage('two page URLs');

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const profileDir = mkdtempSync(join(tmpdir(), 'ropeway-room-page-'));
let context = null;
const tabs = [];
let currentStep = 'start';

function log(line) {
  process.stdout.write(`${line}\n`);
}

async function cleanup() {
  if (context) {
    try {
      await Promise.race([context.close(), new Promise((r) => setTimeout(r, 10_000))]);
    } catch (e) {
      process.stderr.write(`${e.message}\n`);
    }
  }
  rmSync(profileDir, { recursive: true, force: true });
}

async function fail(message) {
  process.stderr.write(`FAIL step "${currentStep}": ${message}\n`);
  for (const [i, tab] of tabs.entries()) {
    try {
      const lines = await tab.evaluate(() => [
        document.getElementById('state')?.textContent,
        ...Array.from(document.querySelectorAll('#log li')).map((li) => li.textContent),
      ]);
      process.stderr.write(`tab ${i + 1}: ${JSON.stringify(lines)}\n`);
    } catch (e) {
      process.stderr.write(`tab ${i + 1} not readable: ${e.message}\n`);
    }
  }
  await cleanup();
  process.exit(1);
}

async function waitFor(tab, predicate, arg, what) {
  try {
    await tab.waitForFunction(predicate, arg, { timeout: STEP_TIMEOUT_MS, polling: 50 });
  } catch (e) {
    throw new Error(`${what}: not seen within ${STEP_TIMEOUT_MS} ms`);
  }
}

const shows = (text) =>
  Array.from(document.querySelectorAll('#log li')).some((li) => li.textContent === text);

async function say(tab, text) {
  await tab.fill('#message', text, { timeout: STEP_TIMEOUT_MS });
  await tab.click('#send', { timeout: STEP_TIMEOUT_MS });
}

async function step(name, fn) {
  currentStep = name;
  const started = Date.now();
  await fn();
  log(`ok   ${name} (${Date.now() - started} ms)`);
}

async function run() {
  await step('launch chromium', async () => {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: LAUNCH_TIMEOUT_MS,
      handleSIGINT: false,
      handleSIGTERM: false,
    });
    tabs.push(context.pages()[0] ?? (await context.newPage()));
    tabs.push(await context.newPage());
  });

  for (const [i, tab] of tabs.entries()) {
    await step(`tab ${i + 1} joins room ${room} at ${urls[i]}`, async () => {
      const response = await tab.goto(urls[i], { waitUntil: 'load', timeout: STEP_TIMEOUT_MS });
      if (!response || !response.ok()) {
        throw new Error(`GET ${urls[i]} answered ${response ? response.status() : 'nothing'}`);
      }
      await tab.fill('#room', room, { timeout: STEP_TIMEOUT_MS });
      await tab.click('#join', { timeout: STEP_TIMEOUT_MS });
      await waitFor(tab, (r) => document.getElementById('state')?.textContent === `in room ${r}`, room, `"in room ${room}"`);
    });
  }

  await step('what tab 1 says reaches tab 2 on the other process', async () => {
    const deadline = Date.now() + STEP_TIMEOUT_MS;
    for (let attempt = 1; ; attempt++) {
      const text = `hello from tab 1 #${attempt}`;
      await say(tabs[0], text);
      await waitFor(tabs[0], shows, text, `tab 1 showing its own ${JSON.stringify(text)}`);
      try {
        await tabs[1].waitForFunction(shows, text, { timeout: 500, polling: 50 });
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`tab 2 never showed a message from tab 1`);
      }
    }
  });

  await step('tab 2 answers and tab 1 hears it', async () => {
    const text = 'hello back from tab 2 ✓';
    await say(tabs[1], text);
    await waitFor(tabs[0], shows, text, `tab 1 showing ${JSON.stringify(text)}`);
  });

  await step('both leave', async () => {
    for (const tab of tabs) {
      await tab.click('#leave', { timeout: STEP_TIMEOUT_MS });
      await waitFor(tab, () => document.getElementById('state')?.textContent === 'left (code 1000)', null, '"left (code 1000)"');
    }
  });
}

const overall = setTimeout(() => fail(`the whole run took longer than ${TOTAL_TIMEOUT_MS} ms`), TOTAL_TIMEOUT_MS);
try {
  await run();
  clearTimeout(overall);
  await cleanup();
  log('PASS room page: two tabs on two processes');
  process.exit(0);
} catch (e) {
  clearTimeout(overall);
  await fail(e.message ?? String(e));
}
