//! Results of a driver run: the machine, the raw runs, the per-case summary,
//! and the three files written from them (`latest.md`, `latest.json`,
//! `latest.svg`). Every number comes from the run; nothing is typed in.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod chart;
mod machine;
mod markdown;

pub use self::machine::{Machine, cpus_allowed_list, locked_version, parse_cpu_list, utc_now};

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
    /// Callgrind runs: the server's user-space instructions over the measured window.
    #[serde(default)]
    pub instructions: Option<u64>,
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
    /// Callgrind runs: the server's user-space instructions per message echoed.
    pub fn instructions_per_msg(&self) -> Option<f64> {
        match self.msgs {
            0 => None,
            msgs => Some(self.instructions? as f64 / msgs as f64),
        }
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
    /// `--instructions`: the server's user-space instructions per message under callgrind.
    #[serde(default)]
    pub instructions_per_msg: Option<f64>,
}

/// Builds the per-case, per-contender summary from the raw runs.
pub fn summarize(
    cases: &[CaseInfo],
    contenders: &[ContenderInfo],
    baseline: &str,
    runs: &[Run],
    counted: &[Run],
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
                instructions_per_msg: median(
                    counted
                        .iter()
                        .filter(|r| r.case == case.id && r.contender == c.name)
                        .filter(|r| r.failure.is_none())
                        .filter_map(Run::instructions_per_msg)
                        .collect(),
                ),
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
    /// `--instructions`: one callgrind run per load case and contender.
    #[serde(default)]
    pub counted: Vec<Run>,
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
        let s = summarize(&cases, &cons, "a", &runs, &[]);
        assert_eq!(s[0].ratio_to_baseline, Some(1.0));
        // Ratios 0.5, 2.0, 3.0: the paired median is 2.0, not 200/100.
        assert_eq!(s[1].ratio_to_baseline, Some(2.0));
    }
}
