//! Counting a server's user-space instructions per message with valgrind's callgrind: a
//! second, reproducible measure next to CPU time, which varies by 5-15 % between runs on a
//! shared VM while instruction counts repeat to within about 1 %.
//!
//! The driver starts the server under `valgrind --tool=callgrind`, zeroes the counters with
//! `callgrind_control -z` when the load generator's measured window starts, dumps them with
//! `callgrind_control -d` when it ends, and divides the dump's total by the messages the
//! load generator counted in that window.
//!
//! Caveat: valgrind counts each iteration of a `rep movsb` copy or `rep stosb` fill (glibc's
//! `memcpy` and `memset` for large sizes) as an instruction, so large copies and zeroed
//! buffers weigh more here than in CPU time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether `valgrind` and `callgrind_control` can be run.
pub fn available() -> bool {
    let runs = |program: &str, arg: &str| {
        Command::new(program)
            .arg(arg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    runs("valgrind", "--version") && runs("callgrind_control", "--version")
}

/// The program and arguments that run `server` under callgrind, writing its dumps to
/// `<out_prefix>.<pid>[.<n>]`.
pub fn wrap(server: &Path, out_prefix: &Path) -> (PathBuf, Vec<String>) {
    (
        PathBuf::from("valgrind"),
        vec![
            "--tool=callgrind".into(),
            format!("--callgrind-out-file={}.%p", out_prefix.display()),
            server.display().to_string(),
        ],
    )
}

/// Zeroes the counters of the callgrind process `pid`.
pub fn zero(pid: u32) -> Result<(), String> {
    control(pid, "-z")
}

/// Writes the counters since the last zeroing to `<out_prefix>.<pid>.1` (the first dump).
pub fn dump(pid: u32) -> Result<(), String> {
    control(pid, "-d")
}

fn control(pid: u32, flag: &str) -> Result<(), String> {
    let out = Command::new("callgrind_control")
        .arg(flag)
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("callgrind_control: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "callgrind_control {flag} {pid}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    Ok(())
}

/// The instruction total of the first dump of process `pid`.
pub fn first_dump_total(out_prefix: &Path, pid: u32) -> Result<u64, String> {
    let path = PathBuf::from(format!("{}.{pid}.1", out_prefix.display()));
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    total(&text).ok_or_else(|| format!("{}: no instruction total", path.display()))
}

/// The `summary:` (or `totals:`) line of a callgrind output file: the instructions counted.
pub fn total(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| {
            l.strip_prefix("summary:")
                .or_else(|| l.strip_prefix("totals:"))
        })
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_total_from_a_dump() {
        let dump =
            "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 794437667\n\nfl=(1)\n";
        assert_eq!(total(dump), Some(794_437_667));
        assert_eq!(total("events: Ir\ntotals: 42\n"), Some(42));
        assert_eq!(total("events: Ir\n"), None);
    }

    #[test]
    fn wraps_the_server_command() {
        let (program, args) = wrap(Path::new("/x/server_a"), Path::new("/tmp/cg.a"));
        assert_eq!(program, PathBuf::from("valgrind"));
        assert_eq!(
            args,
            [
                "--tool=callgrind",
                "--callgrind-out-file=/tmp/cg.a.%p",
                "/x/server_a"
            ]
        );
    }
}
