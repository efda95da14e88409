//! Reading a process's CPU time and resident memory from `/proc`.

use std::time::Duration;

/// CPU time (user + system) and resident set size of one process.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct Sample {
    /// utime + stime, in clock ticks (see [`clock_ticks_per_sec`]).
    pub cpu_ticks: u64,
    /// utime alone, in clock ticks: the process's own code, without the kernel's.
    pub user_ticks: u64,
    /// `VmRSS` in KiB.
    pub rss_kib: u64,
}

/// (utime, stime) of `pid` in clock ticks, from `/proc/<pid>/stat`.
pub fn user_sys_ticks(pid: u32) -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime, stime))
}

/// utime + stime of `pid` in clock ticks, from `/proc/<pid>/stat`.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    user_sys_ticks(pid).map(|(u, s)| u + s)
}

/// `VmRSS` of `pid` in KiB, from `/proc/<pid>/status`.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// CPU ticks and RSS of `pid` now (zeros for whatever could not be read).
pub fn sample(pid: u32) -> Sample {
    let (user, sys) = user_sys_ticks(pid).unwrap_or((0, 0));
    Sample {
        cpu_ticks: user + sys,
        user_ticks: user,
        rss_kib: rss_kib(pid).unwrap_or(0),
    }
}

/// Machine-wide CPU time, all CPUs together, from the first line of `/proc/stat`, in ticks.
#[derive(Debug, Clone, Copy, Default, serde::Serialize, serde::Deserialize)]
pub struct SystemTicks {
    /// user + nice + system + steal: time some process (or the hypervisor) had a CPU.
    pub busy: u64,
    /// irq + softirq: interrupt work, which the kernel may not charge to any process.
    pub irq: u64,
}

/// Reads [`SystemTicks`] now.
pub fn system_ticks() -> Option<SystemTicks> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let at = |i: usize| v.get(i).copied().unwrap_or(0);
    Some(SystemTicks {
        busy: at(0) + at(1) + at(2) + at(7),
        irq: at(5) + at(6),
    })
}

/// `sysconf(_SC_CLK_TCK)`, asked of `getconf` once (100 on every common Linux).
pub fn clock_ticks_per_sec() -> u64 {
    static TCK: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        std::process::Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(100)
    })
}

/// Converts a tick count into a duration.
pub fn ticks_to_duration(ticks: u64) -> Duration {
    Duration::from_secs_f64(ticks as f64 / clock_ticks_per_sec() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_own_process() {
        let pid = std::process::id();
        assert!(cpu_ticks(pid).is_some());
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(clock_ticks_per_sec() > 0);
        assert!(system_ticks().unwrap().busy > 0);
    }
}
