//! `rdbkit completions SHELL` and `rdbkit man`: the shell completions
//! (clap_complete) and the man pages (clap_mangen) of the command line as
//! it is defined, so that they never fall behind the flags.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::CommandFactory;

/// Arguments of `rdbkit completions`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The shell.
    #[arg(value_enum)]
    pub(crate) shell: clap_complete::Shell,
}

/// Arguments of `rdbkit man`.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// Write `rdbkit.1` and one `rdbkit-COMMAND.1` per command into DIR
    /// instead of printing `rdbkit.1`.
    #[arg(long, value_name = "DIR")]
    pub(crate) dir: Option<PathBuf>,
}

/// Run `rdbkit completions`: the script on stdout.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let mut cmd = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "rdbkit", out);
    Ok(ExitCode::SUCCESS)
}

/// Run `rdbkit man`.
pub(crate) fn run_man(args: &ManArgs, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let cmd = crate::cli::Cli::command();
    let Some(dir) = &args.dir else {
        clap_mangen::Man::new(cmd).render(out)?;
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let write = |name: String, c: clap::Command| -> anyhow::Result<()> {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(c)
            .title(name.clone())
            .render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))
    };
    for sub in cmd.get_subcommands() {
        let name = format!("rdbkit-{}", sub.get_name());
        write(name, sub.clone())?;
    }
    write("rdbkit".into(), cmd)?;
    Ok(ExitCode::SUCCESS)
}
