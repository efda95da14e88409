//! The repository README's copy of the latest results: a compact table generated from the
//! run's [`Report`] and spliced between two marker comments, so the README never carries
//! numbers typed in by hand.

use std::fmt::Write;

use crate::report::{Report, fmt_opt, fmt_rate};

/// The line that opens the generated section in the README.
pub const START: &str = "<!-- load-results:start (written by the load driver; do not edit) -->";
/// The line that closes it.
pub const END: &str = "<!-- load-results:end -->";

/// The generated section, markers included: the machine and run settings, the throughput
/// table and the idle-memory table.
pub fn section(report: &Report) -> String {
    let mut s = String::new();
    let m = &report.machine;
    let _ = writeln!(s, "{START}");
    let _ = writeln!(
        s,
        "Run {} on {} ({} logical cores; {}), {}, {} repeat(s) per case; \
         medians, ratios paired per repeat against {}.\n",
        m.date_utc,
        m.cpu_model,
        m.cores,
        m.pinning,
        m.rustc,
        report.config["repeats"],
        report.baseline
    );
    // Broadcast rows share the table: their rate is deliveries/s, their CPU per delivery.
    let load: Vec<_> = report.cases.iter().filter(|c| c.kind != "idle").collect();
    if !load.is_empty() {
        // Instruction counts exist only in runs with `--instructions`.
        let counted = report
            .summary
            .iter()
            .any(|r| r.instructions_per_msg.is_some());
        let _ = writeln!(
            s,
            "| case | contender | msgs/s | × {} | server CPU µs/msg (user) |{}",
            report.baseline,
            if counted {
                " instructions/msg (callgrind) |"
            } else {
                ""
            }
        );
        let _ = writeln!(
            s,
            "|---|---|--:|--:|--:|{}",
            if counted { "--:|" } else { "" }
        );
        for row in report
            .summary
            .iter()
            .filter(|r| load.iter().any(|c| c.id == r.case))
        {
            let _ = write!(
                s,
                "| {} | {} | {} | {} | {} ({}) |",
                row.case,
                row.contender,
                fmt_rate(row.msgs_per_sec),
                fmt_opt(row.ratio_to_baseline, 2),
                fmt_opt(row.server_us_per_msg, 2),
                fmt_opt(row.server_user_us_per_msg, 2),
            );
            if counted {
                let _ = write!(s, " {} |", fmt_rate(row.instructions_per_msg));
            }
            s.push('\n');
        }
        if load.iter().any(|c| c.kind == "broadcast") {
            let _ = writeln!(
                s,
                "\n`broadcast-*` rows: deliveries (messages received by subscribers) per second \
                 and server CPU per delivery."
            );
        }
        s.push('\n');
    }
    for case in report.cases.iter().filter(|c| c.kind == "idle") {
        let _ = writeln!(
            s,
            "| contender | server RSS per idle connection ({} open), bytes |",
            case.conns
        );
        let _ = writeln!(s, "|---|--:|");
        for row in report.summary.iter().filter(|r| r.case == case.id) {
            let _ = writeln!(
                s,
                "| {} | {} |",
                row.contender,
                fmt_rate(row.bytes_per_conn)
            );
        }
        s.push('\n');
    }
    let _ = write!(s, "{END}");
    s
}

/// `readme` with the text between the markers (inclusive) replaced by `section`; `None` if
/// the markers are missing or out of order.
pub fn splice(readme: &str, section: &str) -> Option<String> {
    let start = readme.find(START)?;
    let end = readme[start..].find(END)? + start + END.len();
    Some(format!("{}{section}{}", &readme[..start], &readme[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splice_replaces_only_the_marked_section() {
        let readme = format!("intro\n{START}\nold numbers\n{END}\noutro\n");
        let new = format!("{START}\nnew numbers\n{END}");
        assert_eq!(
            splice(&readme, &new).unwrap(),
            format!("intro\n{START}\nnew numbers\n{END}\noutro\n")
        );
        assert!(splice("no markers here", &new).is_none());
        assert!(splice(&format!("{END}\n{START}"), &new).is_none());
    }
}
