//! The exit codes, one table for every command (README, "Exit codes").

/// Success: the file is sound, the target loads it as it is, the files are
/// equal, the output was written.
pub(crate) const OK: u8 = 0;
/// The answer is "no" but nothing is wrong: `diff` found differences,
/// `verify --target` found that the file needs a conversion.
pub(crate) const NO: u8 = 1;
/// Usage, I/O, or a refusal: a bad flag, a file that cannot be read or
/// written, a conversion that would lose data, duplicate keys.
pub(crate) const USAGE: u8 = 2;
/// The input is damaged (any command); with `--keep-going`, an output was
/// still written from what could be read.
pub(crate) const DAMAGED: u8 = 3;

/// What kind of failure ended a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    /// [`USAGE`].
    Usage,
    /// [`DAMAGED`].
    Damaged,
    /// The reader of stdout went away.
    BrokenPipe,
}

impl Class {
    /// The class of a command's error, from the engine's typed error in
    /// it (the binary's own errors are usage errors).
    pub(crate) fn of(e: &anyhow::Error) -> Class {
        for cause in e.chain() {
            if let Some(engine) = cause.downcast_ref::<rdbkit_engine::Error>() {
                if engine.is_broken_pipe() {
                    return Class::BrokenPipe;
                }
                if engine.damage().is_some() {
                    return Class::Damaged;
                }
            }
            if cause
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return Class::BrokenPipe;
            }
        }
        Class::Usage
    }

    /// The exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Class::Usage | Class::BrokenPipe => USAGE,
            Class::Damaged => DAMAGED,
        }
    }
}
