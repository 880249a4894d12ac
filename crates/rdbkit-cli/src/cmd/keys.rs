//! `rdbkit keys`: one line per key.

use std::io::Write;
use std::process::ExitCode;

use rdbkit_parser::{DisplayBytes, Record, RecordKind};

use rdbkit_engine::check::check_value;
use rdbkit_engine::select::{Selection, Selector};
use rdbkit_engine::source::{Visitor, walk};

/// Arguments of `rdbkit keys`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    #[command(flatten)]
    pub(crate) select: Selection,
}

struct Lister<'a> {
    out: &'a mut dyn Write,
    sel: Selector,
}

impl Visitor for Lister<'_> {
    fn record(&mut self, rec: &Record<'_>) -> rdbkit_engine::Result<bool> {
        if let RecordKind::Entry(e) = &rec.kind
            && self.sel.matches(e, rec.raw.len() as u64)
        {
            let count = check_value(&e.value).map_err(|err| err.with_key(&e.key))?;
            let kind = e.value.kind().map_or("unknown", |k| k.as_str());
            let expiry = e.expire_ms.map_or("-".to_string(), |t| t.to_string());
            writeln!(
                self.out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{:#}",
                e.db,
                kind,
                e.value.encoding_name(),
                count,
                rec.raw.len(),
                expiry,
                DisplayBytes(&e.key)
            )?;
        }
        Ok(true)
    }
}

/// Run `rdbkit keys`: `db type encoding elements bytes expire_ms key`, tab separated.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    writeln!(out, "db\ttype\tencoding\telements\tbytes\texpire_ms\tkey")?;
    let mut l = Lister {
        out,
        sel: Selector::new(&args.select)?,
    };
    walk(&args.file, Default::default(), &mut l)?;
    Ok(ExitCode::SUCCESS)
}
