// A second load generator, built differently from src/bin/loadgen.rs: Node.js and the `ws`
// library (its own framing, masking, buffering and write timing, in a JavaScript event loop).
// It speaks the same command line and output protocol as the Rust one, so the load driver can
// run either (`driver --generator node`): the markers CONNECTED, WINDOW_START and WINDOW_END
// on stdout, then one JSON line with the results.
//
//   node loadgen.mjs --addr 127.0.0.1:PORT [--conns N] [--size B] [--text]
//                    [--warmup 2s] [--duration 5s] [--window 1s] [--connect-timeout 30s]
//
// Each connection keeps exactly one message in flight, as in the Rust generator.

import { WebSocket } from "ws";

function parseDuration(text) {
  const m = /^([0-9.]+)(ms|s)$/.exec(text);
  if (!m) throw new Error(`bad duration ${text}`);
  return m[2] === "ms" ? Number(m[1]) : Number(m[1]) * 1000;
}

function options(argv) {
  const o = { conns: 100, size: 20, text: false, warmup: 2000, duration: 5000, window: 1000, connectTimeout: 30000 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = () => argv[++i];
    switch (flag) {
      case "--addr": o.addr = value(); break;
      case "--conns": o.conns = Number(value()); break;
      case "--size": o.size = Number(value()); break;
      case "--text": o.text = true; break;
      case "--warmup": o.warmup = parseDuration(value()); break;
      case "--duration": o.duration = parseDuration(value()); break;
      case "--window": o.window = parseDuration(value()); break;
      case "--connect-timeout": o.connectTimeout = parseDuration(value()); break;
      case "--verify": break; // every echo's length and bytes are checked anyway
      default: throw new Error(`unknown option ${flag}`);
    }
  }
  if (!o.addr) throw new Error("--addr is required");
  return o;
}

const o = options(process.argv.slice(2));
const payload = o.text ? "x".repeat(o.size) : Buffer.alloc(o.size, 0x61);
let completed = 0;
let errors = 0;
let firstError = null;
let open = 0;

function fail(e) {
  errors++;
  firstError ??= String(e && e.message ? e.message : e);
}

function connect() {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://${o.addr}/`, { perMessageDeflate: false });
    const timer = setTimeout(() => { fail("connect timeout"); ws.terminate(); resolve(null); }, o.connectTimeout);
    ws.on("open", () => { clearTimeout(timer); open++; resolve(ws); });
    ws.on("error", (e) => { clearTimeout(timer); fail(e); resolve(null); });
    ws.on("close", () => { open--; });
    ws.on("message", (data, isBinary) => {
      if (data.length !== o.size || isBinary === o.text) fail("wrong echo");
      completed++;
      ws.send(payload);
    });
  });
}

const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const t0 = performance.now();
const sockets = (await Promise.all(Array.from({ length: o.conns }, connect))).filter(Boolean);
const connectS = (performance.now() - t0) / 1000;
console.log(`CONNECTED ${sockets.length}`);
if (sockets.length === 0) {
  console.log(JSON.stringify({ fatal: `no connection opened: ${firstError}` }));
  process.exit(1);
}
for (const ws of sockets) ws.send(payload);
await sleep(o.warmup);
console.log("WINDOW_START");
const start = performance.now();
const cpuStart = cpu();
const doneStart = completed;
const errorsStart = errors;
const windows = [];
let prev = start;
let donePrev = completed;
// (A timer may fire a little early: a remainder under 1 ms is no window.)
while (start + o.duration - prev >= 1) {
  await sleep(Math.min(o.window, start + o.duration - prev));
  const now = performance.now();
  windows.push((completed - donePrev) / ((now - prev) / 1000));
  prev = now;
  donePrev = completed;
}
console.log("WINDOW_END");
const elapsed = (prev - start) / 1000;
const msgs = completed - doneStart;
const cpuS = cpu() - cpuStart;
console.log(JSON.stringify({
  mode: "load",
  generator: `node ${process.version}, ws`,
  conns: o.conns,
  size: o.size,
  text: o.text,
  verify: false,
  connect_s: connectS,
  warmup_s: o.warmup / 1000,
  duration_s: elapsed,
  msgs,
  msgs_per_sec: msgs / elapsed,
  windows,
  open_at_end: open,
  errors,
  errors_in_window: errors - errorsStart,
  first_error: firstError,
  cpu_s: cpuS,
  cpu_us_per_msg: msgs > 0 ? (cpuS * 1e6) / msgs : 0,
  deflate: null,
}));
for (const ws of sockets) ws.terminate();
process.exit(0);
