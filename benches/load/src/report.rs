//! Results of a driver run: the machine, the raw runs, the per-case summary,
//! and the three files written from them (`latest.md`, `latest.json`,
//! `latest.svg`). Every number comes from the run; nothing is typed in.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};

/// What the run was measured on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    /// `model name` from /proc/cpuinfo.
    pub cpu_model: String,
    /// Logical CPUs the kernel reports.
    pub cores: usize,
    /// CPUs this process may run on (`Cpus_allowed_list`).
    pub cpus_allowed: String,
    /// Kernel release.
    pub kernel: String,
    /// Start of the run, UTC, ISO 8601.
    pub date_utc: String,
    /// `rustc -V`.
    pub rustc: String,
    /// How the server and the load generator were placed on CPUs.
    pub pinning: String,
}

impl Machine {
    /// Reads the machine description from /proc and `rustc -V`.
    pub fn detect(pinning: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let cores = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count()
            .max(1);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into());
        let rustc = std::process::Command::new(std::env::var("RUSTC").unwrap_or("rustc".into()))
            .arg("-V")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|| "unknown".into());
        Self {
            cpu_model,
            cores,
            cpus_allowed: cpus_allowed_list(),
            kernel,
            date_utc: utc_now(),
            rustc,
            pinning,
        }
    }
}

/// `Cpus_allowed_list` of this process, e.g. `0-1`.
pub fn cpus_allowed_list() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_default()
}

/// Expands a CPU list such as `0-3,6` into CPU numbers.
pub fn parse_cpu_list(list: &str) -> Vec<usize> {
    let mut cpus = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                    cpus.extend(a..=b);
                }
            }
            None => cpus.extend(part.parse::<usize>().ok()),
        }
    }
    cpus
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The version of `krate` recorded in a `Cargo.lock`, if it is there once.
pub fn locked_version(lock: &str, krate: &str) -> Option<String> {
    let needle = format!("name = \"{krate}\"");
    let mut found = None;
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l.trim() == needle {
            let v = lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .trim_end_matches('"')
                .to_owned();
            if found.is_some() {
                // Two versions in the graph: say so rather than pick one.
                return Some(format!("{} (several)", found.unwrap_or(v)));
            }
            found = Some(v);
        }
    }
    found
}

/// One contender as run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContenderInfo {
    /// Short name used in tables.
    pub name: String,
    /// Server binary.
    pub bin: String,
    /// The crate it measures.
    pub krate: String,
    /// Its version from Cargo.lock.
    pub version: Option<String>,
    /// It supports permessage-deflate, so it runs the compression cases.
    #[serde(default)]
    pub deflate: bool,
}

/// One case as run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseInfo {
    /// Identifier (`100x20B`, `idle-10000` …).
    pub id: String,
    /// `load` or `idle`.
    pub kind: String,
    /// Connections.
    pub conns: usize,
    /// Payload bytes per message (0 for idle).
    pub size: usize,
    /// Text messages (else binary).
    pub text: bool,
    /// permessage-deflate on; run only by contenders that support it.
    #[serde(default)]
    pub deflate: bool,
}

impl CaseInfo {
    /// Whether `con` runs this case: compression cases need the extension.
    pub fn runs(&self, con: &ContenderInfo) -> bool {
        !self.deflate || con.deflate
    }
}

/// One server process through one case.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Run {
    /// Case id.
    pub case: String,
    /// Contender name.
    pub contender: String,
    /// Repeat number, from 0.
    pub rep: usize,
    /// Why the run produced no numbers, if it did not.
    pub failure: Option<String>,
    /// Connection or protocol errors the load generator saw.
    pub errors: u64,
    /// The first of those errors.
    pub first_error: Option<String>,
    /// Echoed messages per second over the measured window.
    pub msgs_per_sec: Option<f64>,
    /// Messages per second in each reporting window.
    pub windows: Vec<f64>,
    /// Messages in the measured window.
    pub msgs: u64,
    /// Length of the measured window as seen by the driver, in seconds.
    pub window_s: Option<f64>,
    /// Server utime + stime over the window, in seconds.
    pub server_cpu_s: Option<f64>,
    /// Server utime alone over the window, in seconds.
    pub server_user_s: Option<f64>,
    /// Load generator utime + stime over the window, in seconds.
    pub loadgen_cpu_s: Option<f64>,
    /// Load generator utime alone over the window, in seconds.
    pub loadgen_user_s: Option<f64>,
    /// CPU time of every other process during the window (machine-wide busy
    /// time minus the server's and the load generator's), in seconds.
    pub other_cpu_s: Option<f64>,
    /// Machine-wide irq + softirq time during the window, in seconds.
    pub irq_cpu_s: Option<f64>,
    /// Server VmRSS before connections (idle) or at the end of the window (load), KiB.
    pub server_rss_before_kib: Option<u64>,
    /// Server VmRSS with all idle connections open, or at the end of the window, KiB.
    pub server_rss_after_kib: Option<u64>,
    /// Idle: connections open when RSS was sampled.
    pub open: Option<u64>,
    /// Time to open all connections, seconds.
    pub connect_s: Option<f64>,
    /// The load generator's own JSON line.
    pub loadgen: Option<serde_json::Value>,
}

impl Run {
    /// Server CPU microseconds per echoed message.
    pub fn server_us_per_msg(&self) -> Option<f64> {
        per_msg(self.server_cpu_s, self.msgs)
    }
    /// Load generator CPU microseconds per echoed message.
    pub fn loadgen_us_per_msg(&self) -> Option<f64> {
        per_msg(self.loadgen_cpu_s, self.msgs)
    }
    /// Server user-space CPU microseconds per echoed message.
    pub fn server_user_us_per_msg(&self) -> Option<f64> {
        per_msg(self.server_user_s, self.msgs)
    }
    /// Load generator user-space CPU microseconds per echoed message.
    pub fn loadgen_user_us_per_msg(&self) -> Option<f64> {
        per_msg(self.loadgen_user_s, self.msgs)
    }
    /// Compression cases: the server's compressed echo payloads ÷ their raw size.
    pub fn echo_ratio(&self) -> Option<f64> {
        self.loadgen.as_ref()?["deflate"]["echo_ratio"].as_f64()
    }
    /// Compression cases: the load generator's compressed messages ÷ their raw size.
    pub fn sent_ratio(&self) -> Option<f64> {
        self.loadgen.as_ref()?["deflate"]["sent_ratio"].as_f64()
    }
    /// Compression cases: echoes the server sent uncompressed (whole run).
    pub fn plain_echoes(&self) -> u64 {
        self.loadgen
            .as_ref()
            .map_or(0, |v| v["deflate"]["plain_echoes"].as_u64().unwrap_or(0))
    }
    /// Compression cases: the server's `Sec-WebSocket-Extensions` answer.
    pub fn deflate_answer(&self) -> Option<&str> {
        self.loadgen.as_ref()?["deflate"]["answer"].as_str()
    }
    /// Idle: (RSS after − RSS before) / connections, in bytes.
    pub fn bytes_per_conn(&self, conns: usize) -> Option<f64> {
        let (b, a) = (self.server_rss_before_kib?, self.server_rss_after_kib?);
        Some((a as f64 - b as f64) * 1024.0 / conns as f64)
    }
}

fn per_msg(cpu_s: Option<f64>, msgs: u64) -> Option<f64> {
    (msgs > 0).then(|| cpu_s.map(|c| c * 1e6 / msgs as f64))?
}

/// Median of the values (mean of the middle two for an even count).
pub fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// One row of the result table: a contender in a case, over all repeats.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    /// Case id.
    pub case: String,
    /// Contender name.
    pub contender: String,
    /// Runs that produced numbers / runs tried.
    pub ok_runs: usize,
    /// Runs tried.
    pub runs: usize,
    /// Median msgs/s.
    pub msgs_per_sec: Option<f64>,
    /// Median over repeats of (this contender's msgs/s ÷ the baseline's in the same repeat).
    pub ratio_to_baseline: Option<f64>,
    /// Median server CPU µs per message.
    pub server_us_per_msg: Option<f64>,
    /// Median server user-space CPU µs per message (its own code, no kernel).
    pub server_user_us_per_msg: Option<f64>,
    /// Median server CPU use over the window (1.0 = one core busy).
    pub server_cpu_util: Option<f64>,
    /// Median load generator CPU µs per message.
    pub loadgen_us_per_msg: Option<f64>,
    /// Median load generator user-space CPU µs per message.
    pub loadgen_user_us_per_msg: Option<f64>,
    /// Median load generator CPU use over the window.
    pub loadgen_cpu_util: Option<f64>,
    /// Median CPU use of all other processes over the window (1.0 = one core).
    pub other_cpu_util: Option<f64>,
    /// Median server RSS at the end of the window (load) or with the idle connections open, KiB.
    pub server_rss_kib: Option<f64>,
    /// Idle: median RSS before the connections, KiB.
    pub rss_before_kib: Option<f64>,
    /// Idle: median (RSS after − RSS before) / N, bytes.
    pub bytes_per_conn: Option<f64>,
    /// Idle: median connections open at sampling time.
    pub open: Option<f64>,
    /// Median time to open all connections, seconds.
    pub connect_s: Option<f64>,
    /// Errors seen by the load generator, summed over repeats, plus failed runs.
    pub errors: u64,
    /// Compression cases: median of the server's compressed echo size ÷ raw size.
    #[serde(default)]
    pub echo_ratio: Option<f64>,
    /// Compression cases: median of the load generator's compressed size ÷ raw size.
    #[serde(default)]
    pub sent_ratio: Option<f64>,
    /// Compression cases: echoes the server did not compress, summed over repeats.
    #[serde(default)]
    pub plain_echoes: u64,
}

/// Builds the per-case, per-contender summary from the raw runs.
pub fn summarize(
    cases: &[CaseInfo],
    contenders: &[ContenderInfo],
    baseline: &str,
    runs: &[Run],
) -> Vec<Summary> {
    let mut out = Vec::new();
    for case in cases {
        let base: BTreeMap<usize, f64> = runs
            .iter()
            .filter(|r| r.case == case.id && r.contender == baseline)
            .filter_map(|r| Some((r.rep, r.msgs_per_sec?)))
            .collect();
        for c in contenders.iter().filter(|c| case.runs(c)) {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| r.case == case.id && r.contender == c.name)
                .collect();
            let ok: Vec<&Run> = mine
                .iter()
                .copied()
                .filter(|r| r.failure.is_none())
                .collect();
            let col =
                |f: &dyn Fn(&Run) -> Option<f64>| median(ok.iter().filter_map(|r| f(r)).collect());
            let ratios = ok
                .iter()
                .filter_map(|r| Some(r.msgs_per_sec? / base.get(&r.rep)?))
                .collect();
            let util = |cpu: Option<f64>, r: &Run| Some(cpu? / r.window_s?);
            out.push(Summary {
                case: case.id.clone(),
                contender: c.name.clone(),
                ok_runs: ok.len(),
                runs: mine.len(),
                msgs_per_sec: col(&|r| r.msgs_per_sec),
                ratio_to_baseline: median(ratios),
                server_us_per_msg: col(&|r| r.server_us_per_msg()),
                server_user_us_per_msg: col(&|r| r.server_user_us_per_msg()),
                server_cpu_util: col(&|r| util(r.server_cpu_s, r)),
                loadgen_us_per_msg: col(&|r| r.loadgen_us_per_msg()),
                loadgen_user_us_per_msg: col(&|r| r.loadgen_user_us_per_msg()),
                loadgen_cpu_util: col(&|r| util(r.loadgen_cpu_s, r)),
                other_cpu_util: col(&|r| util(r.other_cpu_s, r)),
                server_rss_kib: col(&|r| r.server_rss_after_kib.map(|v| v as f64)),
                rss_before_kib: col(&|r| r.server_rss_before_kib.map(|v| v as f64)),
                bytes_per_conn: if case.kind == "idle" {
                    col(&|r| r.bytes_per_conn(case.conns))
                } else {
                    None
                },
                open: col(&|r| r.open.map(|v| v as f64)),
                connect_s: col(&|r| r.connect_s),
                errors: mine.iter().map(|r| r.errors).sum::<u64>() + (mine.len() - ok.len()) as u64,
                echo_ratio: col(&|r| r.echo_ratio()),
                sent_ratio: col(&|r| r.sent_ratio()),
                plain_echoes: ok.iter().map(|r| r.plain_echoes()).sum(),
            });
        }
    }
    out
}

/// Everything a driver run produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The machine.
    pub machine: Machine,
    /// Run settings (repeats, windows …).
    pub config: serde_json::Value,
    /// The contender measured against.
    pub baseline: String,
    /// Contenders in run order.
    pub contenders: Vec<ContenderInfo>,
    /// Cases in run order.
    pub cases: Vec<CaseInfo>,
    /// Every run, in the order they ran.
    pub runs: Vec<Run>,
    /// The table.
    pub summary: Vec<Summary>,
}

/// A number with `digits` decimals, or a dash.
pub fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(v) => format!("{v:.digits$}"),
        None => "–".into(),
    }
}

/// Thousands separators for a rate.
pub fn fmt_rate(v: Option<f64>) -> String {
    let Some(v) = v else { return "–".into() };
    let s = format!("{:.0}", v.round());
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn pct(v: Option<f64>) -> String {
    v.map(|v| format!("{:.0} %", v * 100.0))
        .unwrap_or("–".into())
}

impl Report {
    fn summary_of(&self, case: &str, contender: &str) -> Option<&Summary> {
        self.summary
            .iter()
            .find(|s| s.case == case && s.contender == contender)
    }

    /// The markdown report.
    pub fn markdown(&self) -> String {
        use std::fmt::Write;
        let m = &self.machine;
        let mut s = String::new();
        let _ = writeln!(s, "# ropeway load benchmark — latest run\n");
        let _ = writeln!(
            s,
            "Generated by `cargo run -p ropeway-bench-load --release --bin driver{}`; \
             see `benches/load/README.md` for what the columns mean and the caveats.\n",
            if self.config["quick"].as_bool() == Some(true) {
                " -- --quick"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "- date: {}", m.date_utc);
        let _ = writeln!(
            s,
            "- CPU: {} — {} logical cores (allowed: {})",
            m.cpu_model, m.cores, m.cpus_allowed
        );
        let _ = writeln!(s, "- kernel: {}", m.kernel);
        let _ = writeln!(s, "- rustc: {}", m.rustc);
        let _ = writeln!(s, "- placement: {}", m.pinning);
        let c = &self.config;
        let _ = writeln!(
            s,
            "- runs: {} repeat(s) per case and contender, interleaved; warm-up {} s, measured {} s in {} s windows; idle hold {} s; payload check: {}",
            c["repeats"],
            c["warmup_s"],
            c["duration_s"],
            c["window_s"],
            c["hold_s"],
            if c["verify"].as_bool() == Some(true) {
                "every byte"
            } else {
                "length + first/last byte"
            }
        );
        let _ = writeln!(s, "- baseline for ratios: **{}**\n", self.baseline);

        let _ = writeln!(s, "## Echo throughput\n");
        let _ = writeln!(
            s,
            "| case | contender | msgs/s (median) | × {} (paired median) | server CPU µs/msg (user) | server CPU | loadgen CPU µs/msg (user) | loadgen CPU | other load | server RSS MiB | errors |",
            self.baseline
        );
        let _ = writeln!(s, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        for case in self.cases.iter().filter(|c| c.kind == "load") {
            for con in &self.contenders {
                let Some(r) = self.summary_of(&case.id, &con.name) else {
                    continue;
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} ({}) | {} | {} ({}) | {} | {} | {} | {}{} |",
                    case.id,
                    con.name,
                    fmt_rate(r.msgs_per_sec),
                    fmt_opt(r.ratio_to_baseline, 2),
                    fmt_opt(r.server_us_per_msg, 2),
                    fmt_opt(r.server_user_us_per_msg, 2),
                    pct(r.server_cpu_util),
                    fmt_opt(r.loadgen_us_per_msg, 2),
                    fmt_opt(r.loadgen_user_us_per_msg, 2),
                    pct(r.loadgen_cpu_util),
                    pct(r.other_cpu_util),
                    fmt_opt(r.server_rss_kib.map(|k| k / 1024.0), 1),
                    r.errors,
                    if r.ok_runs < r.runs {
                        format!(" ({} failed runs)", r.runs - r.ok_runs)
                    } else {
                        String::new()
                    },
                );
            }
        }
        let _ = writeln!(
            s,
            "\nCPU columns are per cent of one core. *other load*: CPU time of every other \
             process on the machine during the window; well above 0 % means the run was \
             disturbed and its numbers are only indicative."
        );
        self.deflate_notes(&mut s);
        for case in self.cases.iter().filter(|c| c.kind == "idle") {
            let _ = writeln!(
                s,
                "\n## Idle connections: {} (handshake only)\n",
                case.conns
            );
            let _ = writeln!(
                s,
                "| contender | open | RSS before MiB | RSS with connections MiB | bytes per connection | connect time s | errors |"
            );
            let _ = writeln!(s, "|---|--:|--:|--:|--:|--:|--:|");
            for con in &self.contenders {
                let Some(r) = self.summary_of(&case.id, &con.name) else {
                    continue;
                };
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    con.name,
                    fmt_opt(r.open, 0),
                    fmt_opt(r.rss_before_kib.map(|k| k / 1024.0), 1),
                    fmt_opt(r.server_rss_kib.map(|k| k / 1024.0), 1),
                    fmt_rate(r.bytes_per_conn),
                    fmt_opt(r.connect_s, 2),
                    r.errors
                );
            }
        }
        let _ = writeln!(s, "\n## Contenders\n");
        let _ = writeln!(s, "| contender | server binary | crate | version |");
        let _ = writeln!(s, "|---|---|---|---|");
        for c in &self.contenders {
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} |",
                c.name,
                c.bin,
                c.krate,
                c.version.as_deref().unwrap_or("?")
            );
        }
        let failures: Vec<&Run> = self
            .runs
            .iter()
            .filter(|r| r.failure.is_some() || r.errors > 0)
            .collect();
        if !failures.is_empty() {
            let _ = writeln!(s, "\n## Runs with errors\n");
            for r in failures {
                let _ = writeln!(
                    s,
                    "- {} / {} / repeat {}: {}{}",
                    r.case,
                    r.contender,
                    r.rep,
                    r.failure.as_deref().unwrap_or(""),
                    r.first_error
                        .as_deref()
                        .map(|e| format!(" ({} errors, first: {e})", r.errors))
                        .unwrap_or_default()
                );
            }
        }
        let _ = writeln!(s, "\nRaw numbers: `latest.json`. Chart: `latest.svg`.");
        s
    }

    /// Under the throughput table, if compression cases ran: who was left out
    /// and why, the settings, what the compression achieved, and the
    /// differences between the contenders' deflate that could not be removed.
    fn deflate_notes(&self, s: &mut String) {
        use std::fmt::Write;
        let cases: Vec<&CaseInfo> = self.cases.iter().filter(|c| c.deflate).collect();
        if cases.is_empty() {
            return;
        }
        let ids = cases
            .iter()
            .map(|c| format!("`{}`", c.id))
            .collect::<Vec<_>>()
            .join(", ");
        let names = |deflate: bool| {
            self.contenders
                .iter()
                .filter(|c| c.deflate == deflate)
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(s, "\n### Compression cases (permessage-deflate)\n");
        let _ = writeln!(
            s,
            "{ids} run only the contenders whose crate supports permessage-deflate (RFC 7692): {}.",
            names(true)
        );
        let absent = names(false);
        if !absent.is_empty() {
            let _ = writeln!(
                s,
                "**Not in these rows: {absent}** — their crates do not implement the extension, \
                 so they cannot run a compression case (they are not slower, they are absent)."
            );
        }
        let _ = writeln!(
            s,
            "\nSettings, the same for every contender: zlib level {}, 15-bit windows, the server \
             keeps its compression context between messages, every message compressed (no size \
             threshold), flate2 on the zlib-rs backend. The load generator offers \
             `client_no_context_takeover` and sends pre-compressed messages (JSON-like text \
             records), so each server inflates every message with a fresh context and compresses \
             every echo; the load generator inflates every echo (its cost is in its CPU columns).\n",
            self.config["deflate_level"].as_u64().unwrap_or(6)
        );
        let _ = writeln!(
            s,
            "| case | contender | server answer | echo size (compressed ÷ raw) | sent size (compressed ÷ raw) | uncompressed echoes |"
        );
        let _ = writeln!(s, "|---|---|---|--:|--:|--:|");
        for case in &cases {
            for con in self.contenders.iter().filter(|c| case.runs(c)) {
                let Some(r) = self.summary_of(&case.id, &con.name) else {
                    continue;
                };
                let answer = self
                    .runs
                    .iter()
                    .filter(|x| x.case == case.id && x.contender == con.name)
                    .find_map(Run::deflate_answer)
                    .unwrap_or("–");
                let _ = writeln!(
                    s,
                    "| {} | {} | `{answer}` | {} | {} | {} |",
                    case.id,
                    con.name,
                    pct(r.echo_ratio),
                    pct(r.sent_ratio),
                    r.plain_echoes
                );
            }
        }
        let _ = writeln!(
            s,
            "\nDifferences that could not be removed: yawc compresses each message with a partial \
             flush followed by a sync flush (a few bytes more per message than ropeway's single \
             sync flush). Without client context takeover, ropeway frees its inflater after every \
             message and creates a new one for the next, while yawc keeps one and resets it — a \
             design difference the cases measure. See `benches/load/README.md`."
        );
    }

    /// Draws the chart: throughput relative to the baseline, grouped by case,
    /// and (if the idle case ran) the memory per idle connection.
    pub fn draw_svg(&self, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
        let load: Vec<&CaseInfo> = self.cases.iter().filter(|c| c.kind == "load").collect();
        let idle: Option<&CaseInfo> = self.cases.iter().find(|c| c.kind == "idle");
        let width = 1200u32;
        let root = SVGBackend::new(path, (width, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let m = &self.machine;
        let root = root.titled(
            &format!(
                "WebSocket echo load — {} — {} cores — {} — {} repeat(s){}",
                m.cpu_model,
                m.cores,
                m.date_utc,
                self.config["repeats"],
                if self.config["quick"].as_bool() == Some(true) {
                    ", --quick"
                } else {
                    ""
                }
            ),
            ("sans-serif", 18),
        )?;
        let (left, right) = if idle.is_some() {
            root.split_horizontally(width * 7 / 10)
        } else {
            (root.clone(), root.clone())
        };
        let palette = [
            RGBColor(0x1f, 0x77, 0xb4),
            RGBColor(0xff, 0x7f, 0x0e),
            RGBColor(0x2c, 0xa0, 0x2c),
            RGBColor(0xd6, 0x27, 0x28),
            RGBColor(0x94, 0x67, 0xbd),
            RGBColor(0x8c, 0x56, 0x4b),
            RGBColor(0xe3, 0x77, 0xc2),
        ];
        let color = |i: usize| palette[i % palette.len()];
        let nc = self.contenders.len().max(1);

        if !load.is_empty() {
            let ratio = |case: &str, con: &str| {
                self.summary_of(case, con).and_then(|s| s.ratio_to_baseline)
            };
            let ymax = load
                .iter()
                .flat_map(|c| self.contenders.iter().filter_map(|k| ratio(&c.id, &k.name)))
                .fold(1.0f64, f64::max)
                * 1.45; // headroom for the legend above the bars
            // Integer x units: 100 per case, the bars of a case share its middle 80.
            let centers: Vec<i32> = (0..load.len() as i32).map(|i| i * 100 + 50).collect();
            let mut chart = ChartBuilder::on(&left)
                .caption(
                    format!(
                        "Echo throughput relative to {} (= 1.0), median of paired runs",
                        self.baseline
                    ),
                    ("sans-serif", 15),
                )
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(48)
                .build_cartesian_2d(
                    (0i32..load.len() as i32 * 100).with_key_points(centers),
                    0f64..ymax,
                )?;
            let labels: Vec<String> = load.iter().map(|c| c.id.clone()).collect();
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_label_formatter(&|x| {
                    labels.get((*x / 100) as usize).cloned().unwrap_or_default()
                })
                .light_line_style(TRANSPARENT)
                .y_desc(format!("msgs/s ÷ {} (higher is better)", self.baseline))
                .label_style(("sans-serif", 13))
                .draw()?;
            let bw = 80 / nc as i32;
            let value_style = TextStyle::from(("sans-serif", 11).into_font())
                .pos(Pos::new(HPos::Center, VPos::Bottom));
            for (k, con) in self.contenders.iter().enumerate() {
                let col = color(k);
                let bars: Vec<(i32, f64)> = load
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| {
                        Some((
                            i as i32 * 100 + 10 + k as i32 * bw,
                            ratio(&c.id, &con.name)?,
                        ))
                    })
                    .collect();
                chart
                    .draw_series(bars.iter().map(|&(x0, v)| {
                        Rectangle::new([(x0, 0.0), (x0 + bw - 1, v)], col.filled())
                    }))?
                    .label(con.name.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled())
                    });
                chart.draw_series(bars.iter().map(|&(x0, v)| {
                    Text::new(format!("{v:.2}"), (x0 + bw / 2, v), value_style.clone())
                }))?;
            }
            // The baseline level.
            chart.draw_series(LineSeries::new(
                [(0, 1.0), (load.len() as i32 * 100, 1.0)],
                BLACK.mix(0.4).stroke_width(1),
            ))?;
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.9))
                .border_style(BLACK.mix(0.3))
                .label_font(("sans-serif", 13))
                .draw()?;
        }

        if let Some(idle) = idle {
            let kib: Vec<(usize, f64)> = self
                .contenders
                .iter()
                .enumerate()
                .filter_map(|(k, c)| {
                    Some((
                        k,
                        self.summary_of(&idle.id, &c.name)?.bytes_per_conn? / 1024.0,
                    ))
                })
                .collect();
            // Horizontal bars, so that contender names fit as axis labels.
            let xmax = kib.iter().map(|&(_, v)| v).fold(1.0f64, f64::max) * 1.2;
            let n = self.contenders.len() as i32;
            // The first contender on top.
            let row = |k: usize| (n - 1 - k as i32) * 100;
            let centers: Vec<i32> = (0..n).map(|i| i * 100 + 50).collect();
            let names: Vec<String> = self.contenders.iter().map(|c| c.name.clone()).collect();
            let mut chart = ChartBuilder::on(&right)
                .caption(
                    format!("Server RSS per idle connection ({})", idle.conns),
                    ("sans-serif", 15),
                )
                .margin(12)
                .x_label_area_size(40)
                .y_label_area_size(130)
                .build_cartesian_2d(0f64..xmax, (0i32..n * 100).with_key_points(centers))?;
            chart
                .configure_mesh()
                .disable_y_mesh()
                .light_line_style(TRANSPARENT)
                .y_label_formatter(&|y| {
                    let k = (n - 1 - *y / 100) as usize;
                    names.get(k).cloned().unwrap_or_default()
                })
                .x_labels(5)
                .x_label_formatter(&|v| format!("{v:.0}"))
                .x_desc("KiB per connection (lower is better)")
                .label_style(("sans-serif", 12))
                .draw()?;
            chart.draw_series(kib.iter().map(|&(k, v)| {
                Rectangle::new([(0.0, row(k) + 20), (v, row(k) + 80)], color(k).filled())
            }))?;
            let value_style = TextStyle::from(("sans-serif", 11).into_font())
                .pos(Pos::new(HPos::Left, VPos::Center));
            chart.draw_series(kib.iter().map(|&(k, v)| {
                Text::new(format!(" {v:.1}"), (v, row(k) + 50), value_style.clone())
            }))?;
        }
        root.present()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_handles_odd_even_empty() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(vec![]), None);
    }

    #[test]
    fn cpu_lists_expand() {
        assert_eq!(parse_cpu_list("0-2,5"), vec![0, 1, 2, 5]);
        assert_eq!(parse_cpu_list("1"), vec![1]);
    }

    #[test]
    fn date_is_iso() {
        let d = utc_now();
        assert_eq!(d.len(), 20);
        assert!(d.starts_with("20") && d.ends_with('Z'));
    }

    #[test]
    fn lock_versions() {
        let lock = "[[package]]\nname = \"yawc\"\nversion = \"0.5.0\"\n\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\n";
        assert_eq!(locked_version(lock, "yawc").as_deref(), Some("0.5.0"));
        assert_eq!(locked_version(lock, "nope"), None);
    }

    #[test]
    fn paired_ratio_uses_the_same_repeat() {
        let cases = vec![CaseInfo {
            id: "c".into(),
            kind: "load".into(),
            conns: 1,
            size: 1,
            text: false,
            deflate: false,
        }];
        let cons = ["a", "b"].map(|n| ContenderInfo {
            name: n.into(),
            bin: n.into(),
            krate: n.into(),
            version: None,
            deflate: false,
        });
        let run = |c: &str, rep, v| Run {
            case: "c".into(),
            contender: c.into(),
            rep,
            msgs_per_sec: Some(v),
            ..Default::default()
        };
        let runs = vec![
            run("a", 0, 100.0),
            run("b", 0, 50.0),
            run("a", 1, 10.0),
            run("b", 1, 20.0),
            run("a", 2, 100.0),
            run("b", 2, 300.0),
        ];
        let s = summarize(&cases, &cons, "a", &runs);
        assert_eq!(s[0].ratio_to_baseline, Some(1.0));
        // Ratios 0.5, 2.0, 3.0: the paired median is 2.0, not 200/100.
        assert_eq!(s[1].ratio_to_baseline, Some(2.0));
    }

    #[test]
    fn compression_cases_leave_out_and_name_the_crates_without_it() {
        let case = |id: &str, deflate| CaseInfo {
            id: id.into(),
            kind: "load".into(),
            conns: 1,
            size: 1,
            text: true,
            deflate,
        };
        let cases = vec![case("plain", false), case("z-deflate", true)];
        let contenders: Vec<ContenderInfo> = [("a", true), ("b", false), ("c", true)]
            .map(|(n, deflate)| ContenderInfo {
                name: n.into(),
                bin: n.into(),
                krate: n.into(),
                version: None,
                deflate,
            })
            .to_vec();
        let runs: Vec<Run> = cases
            .iter()
            .flat_map(|k| contenders.iter().filter(|c| k.runs(c)).map(move |c| (k, c)))
            .map(|(k, c)| Run {
                case: k.id.clone(),
                contender: c.name.clone(),
                msgs: 10,
                msgs_per_sec: Some(10.0),
                loadgen: k.deflate.then(|| {
                    serde_json::json!({ "deflate": {
                        "answer": "permessage-deflate; client_no_context_takeover",
                        "echo_ratio": 0.25, "sent_ratio": 0.5, "plain_echoes": 0,
                    }})
                }),
                ..Default::default()
            })
            .collect();
        let summary = summarize(&cases, &contenders, "a", &runs);
        let rows = |id: &str| summary.iter().filter(|s| s.case == id).count();
        assert_eq!((rows("plain"), rows("z-deflate")), (3, 2));
        let z = summary.iter().find(|s| s.case == "z-deflate").unwrap();
        assert_eq!((z.echo_ratio, z.sent_ratio), (Some(0.25), Some(0.5)));
        let report = Report {
            machine: Machine::detect("test".into()),
            config: serde_json::json!({ "repeats": 1, "deflate_level": 6 }),
            baseline: "a".into(),
            contenders,
            cases,
            runs,
            summary,
        };
        let md = report.markdown();
        assert!(md.contains("Not in these rows: b"), "{md}");
        assert!(!md.contains("| z-deflate | b |"), "{md}");
        assert!(md.contains("| z-deflate | c | `permessage-deflate; client_no_context_takeover` | 25 % | 50 % | 0 |"), "{md}");
    }
}
