//! The examples' command line: `--self-test` (run against a peer the example starts
//! itself, as `scripts/test` does) or the example's own arguments.

/// What an example was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Args {
    /// `--self-test`: start a peer in-process and run against it.
    SelfTest,
    /// The example's own arguments (the program name left out).
    Given(Vec<String>),
}

impl Args {
    /// Reads the process's arguments.
    pub fn from_env() -> Args {
        Args::parse(std::env::args().skip(1).collect())
    }

    /// Tells `--self-test` from the example's own arguments.
    pub fn parse(args: Vec<String>) -> Args {
        if args.first().map(String::as_str) == Some("--self-test") {
            Args::SelfTest
        } else {
            Args::Given(args)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    #[test]
    fn self_test_is_told_from_given_arguments() {
        assert_eq!(Args::parse(vec!["--self-test".into()]), Args::SelfTest);
        assert_eq!(
            Args::parse(vec!["a".into(), "--self-test".into()]),
            Args::Given(vec!["a".into(), "--self-test".into()])
        );
        assert_eq!(Args::parse(vec![]), Args::Given(vec![]));
    }
}
