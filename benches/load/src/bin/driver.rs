//! The driver: runs every contender's echo server through every case with
//! the load generator, in interleaved order (A B C … A B C …), and writes
//! `benches/results/latest.{md,json,svg}`.
//!
//! ```text
//! cargo run -p ropeway-bench-load --release --bin driver -- [--quick]
//! ```
//!
//! Each run starts a fresh server process (pinned to one CPU, the load
//! generator to another, where there are two), samples the server's and the
//! load generator's CPU time and RSS from /proc exactly when the load
//! generator reports the start and the end of its measured window, and stops
//! both processes. The compression cases (`-deflate`) run only the contenders
//! that support permessage-deflate. The broadcast cases start the servers with
//! `--broadcast` and the load generator with `--broadcast N` (N subscribers and
//! a publisher); their rates count deliveries. See `benches/load/README.md`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use ropeway_bench_load::cli::{Flags, die, raise_fd_limit};
use ropeway_bench_load::procfs::{self, Sample};
use ropeway_bench_load::report::{
    self, CaseInfo, ContenderInfo, Machine, Report, Run, cpus_allowed_list, parse_cpu_list,
};
use ropeway_bench_load::server::{DEFLATE_LEVEL, EXIT_WITH_PARENT_ENV};
use ropeway_bench_load::{CONTENDERS, Contender, callgrind, readme};

/// The contender that ratios are measured against when it is in the run.
const PREFERRED_BASELINE: &str = "ropeway";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// N connections, one message of `size` bytes in flight on each.
    Load,
    /// N connections, handshake only, held open.
    Idle,
    /// N subscribers and one publisher of `size`-byte messages, each sent to all N.
    Broadcast,
}

impl Kind {
    /// The name in the report (`CaseInfo::kind`).
    fn name(self) -> &'static str {
        match self {
            Kind::Load => "load",
            Kind::Idle => "idle",
            Kind::Broadcast => "broadcast",
        }
    }
}

struct Case {
    id: &'static str,
    kind: Kind,
    conns: usize,
    size: usize,
    text: bool,
    /// permessage-deflate on (server `--deflate`, load generator `--deflate`,
    /// JSON-like text records); only contenders that support it run the case.
    deflate: bool,
}

impl Case {
    /// Why `con` sits out this case, or `None` if it runs it: compression cases need the
    /// extension; uWebSockets' `broadcast_test` needs the all-to-all route.
    fn skip_reason(&self, con: &Contender, uws_generator: bool) -> Option<&'static str> {
        if self.deflate && !con.deflate {
            Some("no permessage-deflate support")
        } else if uws_generator && self.kind == Kind::Broadcast && !con.all_to_all {
            Some("no all-to-all route for uWebSockets' broadcast_test")
        } else {
            None
        }
    }
}

impl Settings {
    /// Whether `con` runs `case` in this run (see [`Case::skip_reason`]).
    fn runs(&self, case: &Case, con: &Contender) -> bool {
        case.skip_reason(con, self.uws_generator).is_none()
    }
}

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { id: "100x20B", kind: Kind::Load, conns: 100, size: 20, text: false, deflate: false },
    Case { id: "100x512B", kind: Kind::Load, conns: 100, size: 512, text: false, deflate: false },
    Case { id: "10x16KiB", kind: Kind::Load, conns: 10, size: 16 << 10, text: false, deflate: false },
    Case { id: "500x16KiB", kind: Kind::Load, conns: 500, size: 16 << 10, text: false, deflate: false },
    Case { id: "1x1MiB", kind: Kind::Load, conns: 1, size: 1 << 20, text: false, deflate: false },
    Case { id: "100x20B-text", kind: Kind::Load, conns: 100, size: 20, text: true, deflate: false },
    Case { id: "idle-10000", kind: Kind::Idle, conns: 10_000, size: 0, text: false, deflate: false },
    Case { id: "idle-50000", kind: Kind::Idle, conns: 50_000, size: 0, text: false, deflate: false },
    Case { id: "broadcast-100x20B", kind: Kind::Broadcast, conns: 100, size: 20, text: false, deflate: false },
    Case { id: "broadcast-500x20B", kind: Kind::Broadcast, conns: 500, size: 20, text: false, deflate: false },
    Case { id: "broadcast-1000x20B", kind: Kind::Broadcast, conns: 1_000, size: 20, text: false, deflate: false },
    Case { id: "broadcast-1000x512B", kind: Kind::Broadcast, conns: 1_000, size: 512, text: false, deflate: false },
    Case { id: "10x16KiB-deflate", kind: Kind::Load, conns: 10, size: 16 << 10, text: true, deflate: true },
    Case { id: "100x512B-deflate", kind: Kind::Load, conns: 100, size: 512, text: true, deflate: true },
];

const USAGE: &str = "usage: driver [--quick] [options]

  --quick              1 repeat, short windows (warm-up 0.5s, 1.5s measured, idle hold 2s)
  --repeats N          repeats of the whole interleaved sequence (default 3)
  --warmup D --duration D --window D --hold D   override the timings
  --baseline NAME      contender for the ratio column (default: ropeway if present, else the first)
  --contenders a,b     run only these contenders (names as in the table)
  --cases a,b          run only these cases (100x20B 100x512B 10x16KiB 500x16KiB 1x1MiB 100x20B-text
                       idle-10000 idle-50000 broadcast-100x20B broadcast-500x20B
                       broadcast-1000x20B broadcast-1000x512B 10x16KiB-deflate
                       100x512B-deflate); the -deflate cases run only the contenders that
                       support permessage-deflate (ropeway, ropeway-smol, yawc)
  --verify             the load generator compares every echoed byte
  --no-pin             do not pin the server and the load generator to CPUs
  --no-build           do not run `cargo build` for the server and load generator binaries
  --out DIR            where latest.{md,json,svg} go (default benches/results)
  --from-json FILE     measure nothing: rewrite latest.md and latest.svg beside FILE from its numbers
  --generator NAME     the load generator for load cases: rust (default, src/bin/loadgen.rs),
                       node (node/loadgen.mjs: Node.js + ws; run `npm ci` in benches/load/node;
                       the broadcast cases use the Rust one) or uws (uWebSockets' own
                       load_test and broadcast_test, built by uws/build.sh: binary echo cases,
                       and 20 B broadcast as all-to-all on `/`; other cases use the Rust one)
  --instructions       after the timed runs, run each load case once more per contender with
                       the server under valgrind's callgrind: user-space instructions per message
  --readme             with --from-json: also rewrite the README's results section

A full run (no --quick, no --out) also rewrites the README's results section.";

struct Settings {
    quick: bool,
    repeats: usize,
    warmup: Duration,
    duration: Duration,
    window: Duration,
    hold: Duration,
    verify: bool,
    /// Also count each server's instructions per message under callgrind.
    instructions: bool,
    baseline: String,
    contenders: Vec<&'static Contender>,
    cases: Vec<&'static Case>,
    out_dir: PathBuf,
    /// Whether the README's copy of the results is rewritten (runs into the default
    /// output directory only, so a trial run elsewhere never touches it).
    update_readme: bool,
    log_dir: PathBuf,
    bin_dir: PathBuf,
    /// (server CPU, load generator CPU).
    pin: Option<(usize, usize)>,
    /// The load generator: the Rust one (`None`), or the Node.js one (`node/loadgen.mjs`),
    /// built differently, to see what one generator's timing hides.
    node_generator: Option<PathBuf>,
    /// `--generator uws`: uWebSockets' generators through `uws_loadgen`.
    uws_generator: bool,
}

fn main() {
    let mut f = Flags::from_env();
    if let Some(json) = f.value("from-json").unwrap_or_else(|e| die(&e, USAGE)) {
        let readme = f.switch("readme");
        f.finish().unwrap_or_else(|e| die(&e, USAGE));
        let report = redraw(Path::new(&json));
        if readme {
            update_readme(&report);
        }
        return;
    }
    let s = parse(&mut f).unwrap_or_else(|e| die(&e, USAGE));
    f.finish().unwrap_or_else(|e| die(&e, USAGE));
    // Children inherit the limit: the servers need ~50,000 descriptors in the largest idle
    // case (raising the hard limit needs privileges; see `raise_fd_limit`).
    raise_fd_limit(65_536);

    let pinning = match s.pin {
        Some((srv, lg)) => format!(
            "server pinned to CPU {srv}, load generator to CPU {lg} (taskset); driver unpinned"
        ),
        None => "not pinned".to_owned(),
    };
    let machine = Machine::detect(pinning);
    let lock = cargo_lock()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let contenders: Vec<ContenderInfo> = s
        .contenders
        .iter()
        .map(|c| ContenderInfo {
            name: c.name.into(),
            bin: c.bin.into(),
            krate: c.krate.into(),
            version: if c.external {
                external_version(&s.bin_dir, c)
            } else {
                report::locked_version(&lock, c.krate)
            },
            deflate: c.deflate,
        })
        .collect();
    let cases: Vec<CaseInfo> = s
        .cases
        .iter()
        .map(|c| CaseInfo {
            id: c.id.into(),
            kind: c.kind.name().into(),
            conns: c.conns,
            size: c.size,
            text: c.text,
            deflate: c.deflate,
        })
        .collect();

    let per_repeat: usize = s
        .cases
        .iter()
        .map(|case| s.contenders.iter().filter(|c| s.runs(case, c)).count())
        .sum();
    for case in &s.cases {
        for con in &s.contenders {
            if let Some(reason) = case.skip_reason(con, s.uws_generator) {
                eprintln!("driver: {} skips {} ({reason})", case.id, con.name);
            }
        }
    }
    let total = s.repeats * per_repeat;
    eprintln!(
        "driver: {} contenders, {} cases, {} repeats = {total} runs; baseline {}; {}",
        s.contenders.len(),
        s.cases.len(),
        s.repeats,
        s.baseline,
        machine.pinning
    );
    let mut runs = Vec::with_capacity(total);
    let mut n = 0;
    for rep in 0..s.repeats {
        for case in &s.cases {
            for con in s.contenders.iter().filter(|c| s.runs(case, c)) {
                n += 1;
                let run = match case.kind {
                    Kind::Load | Kind::Broadcast => run_load(&s, case, con, rep),
                    Kind::Idle => run_idle(&s, case, con, rep),
                };
                eprintln!("[{n}/{total}] {}", describe(&run, case));
                runs.push(run);
            }
        }
    }

    let counted = if s.instructions {
        count_instructions(&s)
    } else {
        Vec::new()
    };
    let summary = report::summarize(&cases, &contenders, &s.baseline, &runs, &counted);
    let report = Report {
        machine,
        config: serde_json::json!({
            "quick": s.quick,
            "repeats": s.repeats,
            "warmup_s": s.warmup.as_secs_f64(),
            "duration_s": s.duration.as_secs_f64(),
            "window_s": s.window.as_secs_f64(),
            "hold_s": s.hold.as_secs_f64(),
            "verify": s.verify,
            "clock_ticks_per_sec": procfs::clock_ticks_per_sec(),
            "deflate_level": DEFLATE_LEVEL,
        }),
        baseline: s.baseline.clone(),
        contenders,
        cases,
        runs,
        counted,
        summary,
    };
    if let Err(e) = std::fs::create_dir_all(&s.out_dir) {
        die(
            &format!("cannot create {}: {e}", s.out_dir.display()),
            USAGE,
        );
    }
    let json = serde_json::to_string_pretty(&report).expect("the report serializes");
    write_or_die(&s.out_dir.join("latest.json"), &json);
    write_md_svg(&report, &s.out_dir);
    if s.update_readme {
        update_readme(&report);
    }
}

/// Puts the run's compact tables into the repository README, between its markers.
fn update_readme(report: &Report) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| die(&format!("{}: {e}", path.display()), USAGE));
    match readme::splice(&text, &readme::section(report)) {
        Some(updated) => {
            write_or_die(&path, &updated);
            eprintln!("driver: updated the results in {}", path.display());
        }
        None => eprintln!(
            "driver: {} has no results markers; left unchanged",
            path.display()
        ),
    }
}

/// Writes `latest.md` and `latest.svg` next to each other and prints the markdown.
fn write_md_svg(report: &Report, dir: &Path) {
    let md = report.markdown();
    write_or_die(&dir.join("latest.md"), &md);
    let svg = dir.join("latest.svg");
    if let Err(e) = report.draw_svg(&svg) {
        eprintln!("driver: could not draw {}: {e}", svg.display());
    }
    println!("{md}");
    eprintln!("driver: wrote {}/latest.{{md,svg}}", dir.display());
}

/// `--from-json`: re-renders the markdown and the chart from a run's raw
/// numbers (no measurement), e.g. after changing the report's layout.
fn redraw(json: &Path) -> Report {
    let text = std::fs::read_to_string(json)
        .unwrap_or_else(|e| die(&format!("{}: {e}", json.display()), USAGE));
    let report: Report = serde_json::from_str(&text)
        .unwrap_or_else(|e| die(&format!("{}: {e}", json.display()), USAGE));
    write_md_svg(&report, json.parent().unwrap_or(Path::new(".")));
    report
}

fn write_or_die(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        die(&format!("cannot write {}: {e}", path.display()), USAGE);
    }
}

/// The workspace's `Cargo.lock`: the nearest one above this crate.
fn cargo_lock() -> Option<PathBuf> {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .map(|d| d.join("Cargo.lock"))
        .find(|p| p.is_file())
}

fn parse(f: &mut Flags) -> Result<Settings, String> {
    let quick = f.switch("quick");
    let (repeats, warmup, duration, window, hold) = if quick {
        (1, 0.5, 1.5, 0.5, 2.0)
    } else {
        (3, 2.0, 5.0, 1.0, 3.0)
    };
    let secs = Duration::from_secs_f64;
    let repeats = f.parsed("repeats")?.unwrap_or(repeats);
    let warmup = f.duration("warmup")?.unwrap_or(secs(warmup));
    let duration = f.duration("duration")?.unwrap_or(secs(duration));
    let window = f.duration("window")?.unwrap_or(secs(window));
    let hold = f.duration("hold")?.unwrap_or(secs(hold));
    let verify = f.switch("verify");
    let instructions = f.switch("instructions");
    let no_pin = f.switch("no-pin");
    let no_build = f.switch("no-build");
    let generator = f.value("generator")?;
    let uws_generator = generator.as_deref() == Some("uws");
    let node_generator = match generator.as_deref() {
        None | Some("rust" | "uws") => None,
        Some("node") => Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("node/loadgen.mjs")),
        Some(other) => return Err(format!("--generator {other}: expected rust, node or uws")),
    };

    let list = |v: Option<String>| -> Option<Vec<String>> {
        v.map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
    };
    let named = list(f.value("contenders")?);
    let all_named = named.is_none();
    let mut contenders = select(CONTENDERS, named, |c| c.name, "contender")?;
    let cases = select(CASES, list(f.value("cases")?), |c| c.id, "case")?;
    if contenders.is_empty() || cases.is_empty() || repeats == 0 {
        return Err("nothing to run".into());
    }
    let baseline = match f.value("baseline")? {
        Some(b) if contenders.iter().any(|c| c.name == b) => b,
        Some(b) => return Err(format!("baseline {b} is not among the contenders run")),
        None if contenders.iter().any(|c| c.name == PREFERRED_BASELINE) => {
            PREFERRED_BASELINE.into()
        }
        None => contenders[0].name.into(),
    };
    let out = f.value("out")?;
    // Only a full run into the default directory speaks for the project's README.
    let update_readme = out.is_none() && !quick;
    let out_dir = match out {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../results"),
    };
    let log_dir = out_dir.join("tmp");
    std::fs::create_dir_all(&log_dir).map_err(|e| format!("{}: {e}", log_dir.display()))?;

    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let bin_dir = exe
        .parent()
        .ok_or("no directory for the driver binary")?
        .to_path_buf();
    let release = bin_dir.file_name().is_some_and(|n| n == "release");
    if !release {
        eprintln!("driver: WARNING: not a release build — numbers are meaningless; use --release");
    }
    if !no_build {
        build_bins(&bin_dir, release)?;
    }
    if all_named {
        // The default set: an external server that was never built is left out, not fatal.
        contenders.retain(|c| {
            let built = !c.external || bin_dir.join(c.bin).is_file();
            if !built {
                eprintln!(
                    "driver: {} left out: {} not built (run benches/load/uws/build.sh)",
                    c.name, c.bin
                );
            }
            built
        });
    }
    let generators: &[&str] = if uws_generator {
        &[
            "loadgen",
            "uws_loadgen",
            "uws_load_test",
            "uws_broadcast_test",
        ]
    } else {
        &["loadgen"]
    };
    for &bin in contenders.iter().map(|c| &c.bin).chain(generators) {
        if !bin_dir.join(bin).is_file() {
            return Err(format!(
                "{} is missing (build it, or drop --no-build)",
                bin_dir.join(bin).display()
            ));
        }
    }

    let cpus = parse_cpu_list(&cpus_allowed_list());
    let have_taskset = Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let pin = if no_pin {
        None
    } else if cpus.len() < 2 {
        eprintln!("driver: fewer than 2 CPUs allowed ({cpus:?}): not pinning");
        None
    } else if !have_taskset {
        eprintln!("driver: taskset not found: not pinning");
        None
    } else {
        Some((cpus[0], cpus[1]))
    };
    Ok(Settings {
        quick,
        repeats,
        warmup,
        duration,
        window,
        hold,
        verify,
        instructions,
        baseline,
        contenders,
        cases,
        out_dir,
        update_readme,
        log_dir,
        bin_dir,
        node_generator,
        uws_generator,
        pin,
    })
}

/// `cargo run --bin driver` builds only the driver: build the servers and
/// the load generator too, into the same target directory and profile.
fn build_bins(bin_dir: &Path, release: bool) -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let target_dir = bin_dir.parent().ok_or("no target directory")?;
    let mut cmd = Command::new(cargo);
    cmd.args([
        "build",
        "-p",
        "ropeway-bench-load",
        "--bins",
        "--target-dir",
    ])
    .arg(target_dir)
    .current_dir(env!("CARGO_MANIFEST_DIR"));
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().map_err(|e| format!("cargo build: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build failed: {status}"))
    }
}

/// A child process that is killed and reaped when dropped, whatever happens.
struct Proc {
    child: Child,
    lines: Receiver<String>,
}

impl Proc {
    fn spawn(bin: &Path, args: &[String], cpu: Option<usize>, log: &Path) -> Result<Self, String> {
        let mut cmd = match cpu {
            Some(cpu) => {
                let mut c = Command::new("taskset");
                c.arg("-c").arg(cpu.to_string()).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let stderr = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let mut child = cmd
            .args(args)
            .env(EXIT_WITH_PARENT_ENV, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self { child, lines })
    }

    fn pid(&self) -> u32 {
        // taskset execs the program, so the pid is the program's.
        self.child.id()
    }

    /// The next stdout line, or an error at the deadline or at EOF.
    fn line(&self, deadline: Instant, what: &str) -> Result<String, String> {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(l) => Ok(l),
            Err(RecvTimeoutError::Timeout) => Err(format!("timed out waiting for {what}")),
            Err(RecvTimeoutError::Disconnected) => Err(format!("exited before {what}")),
        }
    }

    /// Fails if the process has already exited.
    fn check_alive(&mut self, who: &str) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(Some(st)) => Err(format!("{who} exited early ({st})")),
            _ => Ok(()),
        }
    }

    /// Waits up to `limit` for a clean exit.
    fn wait(&mut self, limit: Duration) {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a fresh server for one run and waits for `READY <addr>`.
fn start_server(
    s: &Settings,
    case: &Case,
    con: &Contender,
    log: &Path,
    callgrind_out: Option<&Path>,
) -> Result<(Proc, String), String> {
    let bin = s.bin_dir.join(con.bin);
    let (program, mut args) = match callgrind_out {
        Some(prefix) => callgrind::wrap(&bin, prefix),
        None => (bin, Vec::new()),
    };
    args.extend(["--addr".to_owned(), "127.0.0.1:0".to_owned()]);
    if case.deflate {
        args.push("--deflate".to_owned());
    }
    if case.kind == Kind::Broadcast {
        args.push("--broadcast".to_owned());
    }
    let server = Proc::spawn(&program, &args, s.pin.map(|p| p.0), log)?;
    // Valgrind takes a few seconds to start a program.
    let wait = if callgrind_out.is_some() { 60 } else { 10 };
    let line = server.line(Instant::now() + Duration::from_secs(wait), "READY")?;
    let addr = line
        .strip_prefix("READY ")
        .ok_or_else(|| format!("expected READY <addr>, got {line:?}"))?
        .trim()
        .to_owned();
    Ok((server, addr))
}

fn log_path(s: &Settings, rep: usize, case: &Case, con: &Contender, who: &str) -> PathBuf {
    s.log_dir
        .join(format!("{rep}-{}-{}-{who}.log", case.id, con.name))
}

fn new_run(case: &Case, con: &Contender, rep: usize) -> Run {
    Run {
        case: case.id.into(),
        contender: con.name.into(),
        rep,
        ..Run::default()
    }
}

fn ticks_s(a: Sample, b: Sample) -> f64 {
    procfs::ticks_to_duration(b.cpu_ticks.saturating_sub(a.cpu_ticks)).as_secs_f64()
}

fn user_s(a: Sample, b: Sample) -> f64 {
    procfs::ticks_to_duration(b.user_ticks.saturating_sub(a.user_ticks)).as_secs_f64()
}

fn take_json(run: &mut Run, line: &str) -> Result<serde_json::Value, String> {
    let v: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("bad JSON from loadgen: {e}: {line}"))?;
    run.errors = v["errors"].as_u64().unwrap_or(0);
    run.first_error = v["first_error"].as_str().map(str::to_owned);
    run.connect_s = v["connect_s"].as_f64();
    run.loadgen = Some(v.clone());
    if let Some(f) = v["fatal"].as_str() {
        return Err(format!("loadgen: {f}"));
    }
    Ok(v)
}

fn run_load(s: &Settings, case: &Case, con: &Contender, rep: usize) -> Run {
    let mut run = new_run(case, con, rep);
    if let Err(e) = try_load(s, case, con, rep, &mut run, None) {
        run.failure = Some(e);
        run.msgs_per_sec = None;
    }
    run
}

fn try_load(
    s: &Settings,
    case: &Case,
    con: &Contender,
    rep: usize,
    run: &mut Run,
    callgrind_out: Option<&Path>,
) -> Result<(), String> {
    let log = log_path(s, rep, case, con, "server");
    let (mut server, addr) = start_server(s, case, con, &log, callgrind_out)?;
    let secs = |d: Duration| format!("{}s", d.as_secs_f64());
    let conns = if case.kind == Kind::Broadcast {
        "--broadcast"
    } else {
        "--conns"
    };
    let mut args: Vec<String> = vec![
        "--addr".into(),
        addr,
        conns.into(),
        case.conns.to_string(),
        "--size".into(),
        case.size.to_string(),
        "--warmup".into(),
        secs(s.warmup),
        "--duration".into(),
        secs(s.duration),
        "--window".into(),
        secs(s.window),
        "--connect-timeout".into(),
        "30s".into(),
    ];
    if case.text {
        args.push("--text".into());
    }
    if s.verify {
        args.push("--verify".into());
    }
    if case.deflate {
        args.push("--deflate".into());
    }
    // The Node.js generator has no broadcast mode.
    let node = s
        .node_generator
        .as_ref()
        .filter(|_| case.kind != Kind::Broadcast);
    // uWebSockets' generators: binary echo, and broadcast of 20 B (all-to-all on `/`).
    let uws = s.uws_generator
        && !case.text
        && !case.deflate
        && (case.kind == Kind::Load || case.size == 20);
    let loadgen = match node {
        Some(script) => {
            args.insert(0, script.display().to_string());
            PathBuf::from("node")
        }
        None if uws => s.bin_dir.join("uws_loadgen"),
        None => s.bin_dir.join("loadgen"),
    };
    let mut lg = Proc::spawn(
        &loadgen,
        &args,
        s.pin.map(|p| p.1),
        &log_path(s, rep, case, con, "loadgen"),
    )?;
    // uws_loadgen's windows are 4 s (uSockets' timer granularity): warm-up and duration are
    // rounded up to them.
    let slack = if uws { 8 } else { 0 };
    let deadline = Instant::now() + Duration::from_secs(45 + slack) + 2 * (s.warmup + s.duration);
    // The process whose CPU is the load generator's: uws_loadgen names its child.
    let mut lg_pid = lg.pid();
    // The clock, both processes' CPU time and RSS, and the machine's CPU time, read together.
    let sample = |lg_pid: u32| {
        (
            Instant::now(),
            procfs::sample(server.pid()),
            procfs::sample(lg_pid),
            procfs::system_ticks().unwrap_or_default(),
        )
    };
    let (mut start, mut end) = (None, None);
    let json = loop {
        let line = lg.line(deadline, "the load generator's result")?;
        match line.split_whitespace().next().unwrap_or("") {
            "PID" => {
                lg_pid = line[3..]
                    .trim()
                    .parse()
                    .map_err(|e| format!("{line}: {e}"))?;
            }
            "WINDOW_START" => {
                if callgrind_out.is_some() {
                    callgrind::zero(server.pid())?;
                }
                start = Some(sample(lg_pid));
            }
            "WINDOW_END" => {
                if callgrind_out.is_some() {
                    callgrind::dump(server.pid())?;
                }
                end = Some(sample(lg_pid));
            }
            l if l.starts_with('{') => break line,
            _ => {}
        }
    };
    let v = take_json(run, &json)?;
    lg.wait(Duration::from_secs(5));
    server.check_alive("server")?;
    let (Some((t0, s0, l0, m0)), Some((t1, s1, l1, m1))) = (start, end) else {
        return Err("the load generator reported no window".into());
    };
    run.msgs = v["msgs"].as_u64().unwrap_or(0);
    run.msgs_per_sec = v["msgs_per_sec"].as_f64();
    run.windows = v["windows"]
        .as_array()
        .map(|a| a.iter().filter_map(|x| x.as_f64()).collect())
        .unwrap_or_default();
    run.window_s = Some((t1 - t0).as_secs_f64());
    run.server_cpu_s = Some(ticks_s(s0, s1));
    run.loadgen_cpu_s = Some(ticks_s(l0, l1));
    run.server_user_s = Some(user_s(s0, s1));
    let ticks = |a: u64, b: u64| procfs::ticks_to_duration(b.saturating_sub(a)).as_secs_f64();
    let ours = ticks(s0.cpu_ticks, s1.cpu_ticks) + ticks(l0.cpu_ticks, l1.cpu_ticks);
    run.other_cpu_s = Some((ticks(m0.busy, m1.busy) - ours).max(0.0));
    run.irq_cpu_s = Some(ticks(m0.irq, m1.irq));
    run.loadgen_user_s = Some(user_s(l0, l1));
    run.server_rss_before_kib = Some(s0.rss_kib);
    run.server_rss_after_kib = Some(s1.rss_kib);
    if run.errors > 0 && v["open_at_end"].as_u64() == Some(0) {
        return Err("every connection failed".into());
    }
    if let Some(prefix) = callgrind_out {
        run.instructions = Some(callgrind::first_dump_total(prefix, server.pid())?);
    }
    Ok(())
}

/// The version an external contender's build script wrote beside its binary
/// (`<bin>.version`: uws/build.sh writes the pinned commit), if any.
fn external_version(bin_dir: &Path, con: &Contender) -> Option<String> {
    let text = std::fs::read_to_string(bin_dir.join(format!("{}.version", con.bin))).ok()?;
    Some(text.trim().to_owned()).filter(|v| !v.is_empty())
}

/// `--instructions`: each load case once per contender with the server under callgrind.
fn count_instructions(s: &Settings) -> Vec<Run> {
    if !callgrind::available() {
        eprintln!("driver: valgrind/callgrind_control not found: no instruction counts");
        return Vec::new();
    }
    let todo: Vec<(&Case, &Contender)> = s
        .cases
        .iter()
        .filter(|c| c.kind != Kind::Idle)
        .flat_map(|case| {
            s.contenders
                .iter()
                .filter(move |c| s.runs(case, c))
                .map(move |con| (*case, *con))
        })
        .collect();
    let mut counted = Vec::with_capacity(todo.len());
    for (i, (case, con)) in todo.iter().enumerate() {
        let mut run = new_run(case, con, 0);
        let prefix = s
            .log_dir
            .join(format!("callgrind-{}-{}", case.id, con.name));
        if let Err(e) = try_load(s, case, con, 0, &mut run, Some(&prefix)) {
            run.failure = Some(e);
        }
        let per_msg = run.instructions_per_msg();
        match (&run.failure, per_msg) {
            (None, Some(n)) => eprintln!(
                "[callgrind {}/{}] {} {}: {n:.0} instructions/msg",
                i + 1,
                todo.len(),
                case.id,
                con.name
            ),
            (failure, _) => eprintln!(
                "[callgrind {}/{}] {} {}: FAILED {}",
                i + 1,
                todo.len(),
                case.id,
                con.name,
                failure.as_deref().unwrap_or("no count")
            ),
        }
        counted.push(run);
    }
    counted
}

fn run_idle(s: &Settings, case: &Case, con: &Contender, rep: usize) -> Run {
    let mut run = new_run(case, con, rep);
    if let Err(e) = try_idle(s, case, con, rep, &mut run) {
        run.failure = Some(e);
    }
    run
}

fn try_idle(
    s: &Settings,
    case: &Case,
    con: &Contender,
    rep: usize,
    run: &mut Run,
) -> Result<(), String> {
    // The server and the load generator inherit the driver's limit (raised in `main`): one
    // that cannot hold every connection would fail only after the connect timeout.
    let need = case.conns as u64 + 64;
    let limit = fd_limit();
    if limit < need {
        return Err(format!(
            "RLIMIT_NOFILE is {limit}, and {} connections need about {need} descriptors in the \
             server and in the load generator: raise the hard limit (`ulimit -Hn`, or run with \
             CAP_SYS_RESOURCE)",
            case.conns
        ));
    }
    let (mut server, addr) =
        start_server(s, case, con, &log_path(s, rep, case, con, "server"), None)?;
    // Let the freshly started server settle before the baseline sample.
    std::thread::sleep(Duration::from_millis(200));
    let before = procfs::sample(server.pid());
    let args: Vec<String> = vec![
        "--addr".into(),
        addr,
        "--idle".into(),
        case.conns.to_string(),
        "--hold".into(),
        format!("{}s", s.hold.as_secs_f64()),
        "--connect-timeout".into(),
        "60s".into(),
    ];
    let mut lg = Proc::spawn(
        &s.bin_dir.join("loadgen"),
        &args,
        s.pin.map(|p| p.1),
        &log_path(s, rep, case, con, "loadgen"),
    )?;
    let deadline = Instant::now() + Duration::from_secs(90) + s.hold;
    let mut after = None;
    let json = loop {
        let line = lg.line(deadline, "the load generator's result")?;
        let mut words = line.split_whitespace();
        match words.next().unwrap_or("") {
            "IDLE_OPEN" => {
                run.open = words.next().and_then(|n| n.parse().ok());
                // Every 101 has been read by now; give the server's connection tasks
                // a moment to reach their idle read before sampling.
                std::thread::sleep((s.hold / 2).min(Duration::from_secs(1)));
                after = Some(procfs::sample(server.pid()));
            }
            l if l.starts_with('{') => break line,
            _ => {}
        }
    };
    let v = take_json(run, &json)?;
    lg.wait(Duration::from_secs(5));
    server.check_alive("server")?;
    let after = after.ok_or("the load generator never reported its connections open")?;
    run.server_rss_before_kib = Some(before.rss_kib);
    run.server_rss_after_kib = Some(after.rss_kib);
    if let Some(open) = v["open_at_end"].as_u64() {
        run.open = Some(run.open.unwrap_or(open).min(open));
    }
    Ok(())
}

/// The soft `RLIMIT_NOFILE` in force (0 if it cannot be read).
fn fd_limit() -> u64 {
    rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(0, |(soft, _)| soft)
}

fn describe(run: &Run, case: &Case) -> String {
    let head = format!("rep {} {} {}:", run.rep, run.case, run.contender);
    if let Some(f) = &run.failure {
        return format!("{head} FAILED: {f}");
    }
    let deflate = match (run.echo_ratio(), run.plain_echoes()) {
        (Some(r), plain) => format!(
            "; echoes deflated to {:.0} %, {plain} uncompressed",
            r * 100.0
        ),
        (None, _) => String::new(),
    };
    let errs = if run.errors > 0 {
        format!(
            " — {} errors, first: {}",
            run.errors,
            run.first_error.as_deref().unwrap_or("?")
        )
    } else {
        String::new()
    };
    let unit = if case.kind == Kind::Broadcast {
        "deliveries"
    } else {
        "msgs"
    };
    match case.kind {
        Kind::Load | Kind::Broadcast => format!(
            "{head} {:.0} {unit}/s; server {:.2} µs/msg ({:.0}% CPU), loadgen {:.2} µs/msg ({:.0}% CPU), other load {:.0}%{deflate}{errs}",
            run.msgs_per_sec.unwrap_or(0.0),
            run.server_us_per_msg().unwrap_or(0.0),
            100.0 * run.server_cpu_s.unwrap_or(0.0) / run.window_s.unwrap_or(1.0),
            run.loadgen_us_per_msg().unwrap_or(0.0),
            100.0 * run.loadgen_cpu_s.unwrap_or(0.0) / run.window_s.unwrap_or(1.0),
            100.0 * run.other_cpu_s.unwrap_or(0.0) / run.window_s.unwrap_or(1.0),
        ),
        Kind::Idle => format!(
            "{head} {} open, {:.0} bytes/connection, connect {:.2}s{errs}",
            run.open.unwrap_or(0),
            run.bytes_per_conn(case.conns).unwrap_or(f64::NAN),
            run.connect_s.unwrap_or(0.0),
        ),
    }
}

/// The entries of `table` named in `names` (all of them when `None`), in the order named.
fn select<T>(
    table: &'static [T],
    names: Option<Vec<String>>,
    name_of: impl Fn(&T) -> &str,
    what: &str,
) -> Result<Vec<&'static T>, String> {
    let Some(names) = names else {
        return Ok(table.iter().collect());
    };
    names
        .iter()
        .map(|n| {
            table
                .iter()
                .find(|entry| name_of(entry) == n)
                .ok_or(format!("unknown {what} {n}"))
        })
        .collect()
}
