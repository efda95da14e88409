//! A tiny command-line parser shared by every binary of the crate.
//!
//! Flags are `--name value`, `--name=value` or bare switches `--name`.
//! Unknown flags are an error, so a typo never silently changes a run.

use std::time::Duration;

/// The remaining command-line arguments, consumed flag by flag.
#[derive(Debug)]
pub struct Flags {
    args: Vec<String>,
}

impl Flags {
    /// Takes the process arguments (without the program name).
    pub fn from_env() -> Self {
        Self::from_vec(std::env::args().skip(1).collect())
    }

    /// Takes the given arguments (without the program name).
    pub fn from_vec(args: Vec<String>) -> Self {
        Self { args }
    }

    /// Removes `--name value` or `--name=value` and returns the value.
    pub fn value(&mut self, name: &str) -> Result<Option<String>, String> {
        let flag = format!("--{name}");
        let prefix = format!("--{name}=");
        let mut i = 0;
        while i < self.args.len() {
            if self.args[i] == flag {
                if i + 1 >= self.args.len() {
                    return Err(format!("{flag} needs a value"));
                }
                let v = self.args.remove(i + 1);
                self.args.remove(i);
                return Ok(Some(v));
            }
            if let Some(v) = self.args[i].strip_prefix(&prefix) {
                let v = v.to_owned();
                self.args.remove(i);
                return Ok(Some(v));
            }
            i += 1;
        }
        Ok(None)
    }

    /// Removes `--name value` and parses the value with [`std::str::FromStr`].
    pub fn parsed<T: std::str::FromStr>(&mut self, name: &str) -> Result<Option<T>, String>
    where
        T::Err: std::fmt::Display,
    {
        match self.value(name)? {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| format!("--{name} {v}: {e}")),
        }
    }

    /// Removes `--name value` and parses it as a duration (see [`parse_duration`]).
    pub fn duration(&mut self, name: &str) -> Result<Option<Duration>, String> {
        match self.value(name)? {
            None => Ok(None),
            Some(v) => parse_duration(&v)
                .map(Some)
                .ok_or_else(|| format!("--{name} {v}: expected e.g. 2s, 500ms, 1.5s")),
        }
    }

    /// Removes the bare switch `--name`, returning whether it was there.
    pub fn switch(&mut self, name: &str) -> bool {
        let flag = format!("--{name}");
        match self.args.iter().position(|a| *a == flag) {
            Some(i) => {
                self.args.remove(i);
                true
            }
            None => false,
        }
    }

    /// Fails if any argument was not consumed.
    pub fn finish(self) -> Result<(), String> {
        if self.args.is_empty() {
            Ok(())
        } else {
            Err(format!("unexpected arguments: {}", self.args.join(" ")))
        }
    }
}

/// Parses `2s`, `500ms`, `1.5s`, `100us` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num.parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    let secs = match unit {
        "s" => n,
        "ms" => n / 1e3,
        "us" => n / 1e6,
        "m" => n * 60.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(secs))
}

/// Prints `msg` and the usage text to stderr and exits with status 2.
pub fn die(msg: &str, usage: &str) -> ! {
    eprintln!("error: {msg}\n\n{usage}");
    std::process::exit(2)
}

/// Raises the soft `RLIMIT_NOFILE` towards `want`.
///
/// If the hard limit is lower than `want`, it is raised first: that needs privileges
/// (`CAP_SYS_RESOURCE`, e.g. root in a container or VM) and is skipped silently without
/// them; the soft limit is then capped by the hard one. The idle cases need it: 50,000
/// connections are 50,000 descriptors in the server and in the load generator, above many
/// machines' default hard limit (20,000 on the development VM). Returns the soft limit now
/// in force.
pub fn raise_fd_limit(want: u64) -> u64 {
    if let Ok((_, hard)) = rlimit::getrlimit(rlimit::Resource::NOFILE)
        && hard < want
    {
        // Fails with EPERM when unprivileged: the soft limit then stops at the hard one.
        let _ = rlimit::setrlimit(rlimit::Resource::NOFILE, want, want);
    }
    match rlimit::increase_nofile_limit(want) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("warning: could not raise RLIMIT_NOFILE: {e}");
            rlimit::getrlimit(rlimit::Resource::NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("-1s"), None);
    }

    #[test]
    fn flags_consume_values_and_switches() {
        let mut f = Flags::from_vec(
            ["--addr", "127.0.0.1:1", "--verify", "--size=20"]
                .map(String::from)
                .to_vec(),
        );
        assert_eq!(f.value("addr").unwrap().as_deref(), Some("127.0.0.1:1"));
        assert!(f.switch("verify"));
        assert_eq!(f.parsed::<usize>("size").unwrap(), Some(20));
        assert!(f.finish().is_ok());
        let mut f = Flags::from_vec(vec!["--addr".into()]);
        assert!(f.value("addr").is_err());
    }
}
