//! The dry run of a conversion: what `convert --target T` would change or
//! lose, and whether T loads the file as it is (`rdbkit verify --target`).
//!
//! ```
//! use rdbkit_engine::preflight::preflight;
//! use rdbkit_writer::{ConvertOptions, target_from_name};
//!
//! # let dir = std::env::temp_dir().join(format!("rdbkit-doc-preflight-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("dump.rdb");
//! // An RDB 9 file with one string key.
//! std::fs::write(&path, b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
//! let target = target_from_name("redis-6.0").unwrap();
//! let p = preflight(path.to_str().unwrap(), ConvertOptions::new(target))?;
//! assert!(p.loads_as_is && p.report.is_lossless());
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use rdbkit_parser::{RdbVersion, Record, RecordKind};
use rdbkit_writer::{ConvertOptions, Converter, LossPolicy, Report};

use crate::source::{Visitor, walk};

/// Whether a server whose loader takes `target` loads a `source` file as it
/// is: Redis loaders take every lower Redis version; Valkey 8.1+ (and 9,
/// RDB 80) take Redis files up to 11 and their own versions up to theirs.
pub fn loads_as_is(source: RdbVersion, target: RdbVersion) -> bool {
    match (source.is_valkey(), target.is_valkey()) {
        (false, false) | (true, true) => source <= target,
        (false, true) => source.number() <= 11,
        (true, false) => false,
    }
}

/// What a dry run found.
#[derive(Debug)]
pub struct Preflight {
    /// The file's version.
    pub source: RdbVersion,
    /// The target's version.
    pub target: RdbVersion,
    /// Whether the target loads the file as it is.
    pub loads_as_is: bool,
    /// What `convert` would do: every loss and note, the counts.
    pub report: Report,
}

/// Dry-run the conversion of `path` (`-` for stdin) under `options`
/// (their loss policy is taken as "warn": every loss is listed).
pub fn preflight(path: &str, options: ConvertOptions) -> crate::Result<Preflight> {
    let target = options.target;
    let mut dry = DryRun::new(options);
    walk(path, Default::default(), &mut dry)?;
    let (source, report) = dry.finish()?;
    Ok(Preflight {
        source,
        target,
        loads_as_is: loads_as_is(source, target),
        report,
    })
}

/// A conversion that writes nothing: a [`Visitor`] that reports what it
/// would do.
#[derive(Debug)]
pub struct DryRun {
    options: ConvertOptions,
    state: Option<(
        RdbVersion,
        Converter,
        rdbkit_writer::RdbWriter<std::io::Sink>,
    )>,
}

impl DryRun {
    /// A dry run under `options` (losses are listed, never refused).
    pub fn new(mut options: ConvertOptions) -> DryRun {
        options.on_loss = LossPolicy::Warn;
        DryRun {
            options,
            state: None,
        }
    }

    /// The file's version and the report, once the walk is over.
    pub fn finish(self) -> crate::Result<(RdbVersion, Report)> {
        let (source, conv, w) = self
            .state
            .ok_or_else(|| crate::Error::usage("empty input"))?;
        let (_, report) = conv.finish(w)?;
        Ok((source, report))
    }
}

impl Visitor for DryRun {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        let conv = Converter::new(version, self.options.clone())?;
        let w = conv.writer(std::io::sink())?;
        self.state = Some((version, conv, w));
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        if let Some((_, conv, w)) = self.state.as_mut()
            && !matches!(rec.kind, RecordKind::Eof { .. })
        {
            conv.convert_record(rec, w)?;
        }
        Ok(true)
    }
}
