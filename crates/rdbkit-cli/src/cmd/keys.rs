//! `rdbkit keys`: one line per key, every value checked as the loaders
//! check it (the engine's [`check_value`]).

use std::io::Write;
use std::process::ExitCode;

use rdbkit_engine::check::check_value;
use rdbkit_engine::export::csv::iso8601_ms;
use rdbkit_engine::select::{Selection, Selector};
use rdbkit_engine::source::{Visitor, walk};
use rdbkit_parser::{DisplayBytes, Record, RecordKind};

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
    listed: u64,
}

impl Visitor for Lister<'_> {
    fn record(&mut self, rec: &Record<'_>) -> rdbkit_engine::Result<bool> {
        if let RecordKind::Entry(e) = &rec.kind
            && self.sel.matches(e, rec.raw.len() as u64)
        {
            let count = check_value(&e.value).map_err(|err| err.with_key(&e.key))?;
            let kind = e.value.kind().map_or("unknown", |k| k.as_str());
            let (expiry, utc) = match e.expire_ms {
                Some(t) => (t.to_string(), iso8601_ms(t)),
                None => ("-".to_string(), "-".to_string()),
            };
            writeln!(
                self.out,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{:#}",
                e.db,
                kind,
                e.value.encoding_name(),
                count,
                rec.raw.len(),
                expiry,
                utc,
                DisplayBytes(&e.key)
            )?;
            self.listed += 1;
        }
        Ok(true)
    }
}

/// Run `rdbkit keys`: `db type encoding elements bytes expire_ms expires
/// key`, tab separated; the key quoted and escaped as `--keys-from` takes it.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    // Options are checked before the header is printed.
    let sel = Selector::new(&args.select)?;
    writeln!(
        out,
        "db\ttype\tencoding\telements\tbytes\texpire_ms\texpires\tkey"
    )?;
    let mut l = Lister {
        out,
        sel,
        listed: 0,
    };
    walk(&args.file, Default::default(), &mut l)?;
    if l.listed == 0 && !l.sel.is_all() {
        warn!("the selection matched no key");
    }
    Ok(ExitCode::SUCCESS)
}
