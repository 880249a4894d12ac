//! `rdbkit info`: what a snapshot holds, from one pass without decoding values.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use rdbkit_parser::{Checksum, DisplayBytes, RdbVersion};

use rdbkit_engine::export::csv::iso8601_ms;
use rdbkit_engine::json;

/// Arguments of `rdbkit info`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The snapshot (`-` for stdin).
    pub(crate) file: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

fn checksum_text(c: Option<Checksum>) -> (&'static str, Option<u64>) {
    match c {
        Some(Checksum::Verified(v)) => ("verified", Some(v)),
        Some(Checksum::Unchecked(v)) => ("not checked", Some(v)),
        Some(Checksum::NotComputed) => ("not computed (stored 0)", None),
        Some(Checksum::Absent) | None => ("absent (RDB < 5)", None),
    }
}

/// Run `rdbkit info`.
pub(crate) fn run(args: &Args, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let info = rdbkit_engine::info::info(&args.file)?;
    let end = info
        .end
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("the walk did not end"))?;
    let version = info.version.unwrap_or(RdbVersion(0));
    let (ck, ck_value) = checksum_text(info.checksum);
    let total_keys: u64 = info.dbs.values().map(|d| d.keys).sum();
    if args.json {
        let mut o = Vec::new();
        json::raw(&mut o, "{\"file\":");
        json::str(&mut o, &args.file);
        json::raw(&mut o, ",\"magic\":");
        json::str(&mut o, version.magic());
        json::raw(&mut o, ",\"version\":");
        json::int(&mut o, version.number());
        json::raw(&mut o, ",\"size\":");
        json::int(&mut o, end.bytes + end.trailing.unwrap_or(0));
        json::raw(&mut o, ",\"aux\":{");
        for (i, (k, v)) in info.aux.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::str(&mut o, &String::from_utf8_lossy(k));
            o.push(b':');
            json::bytes(&mut o, v);
        }
        json::raw(&mut o, "},\"keys\":");
        json::int(&mut o, total_keys);
        json::raw(&mut o, ",\"dbs\":{");
        for (i, (db, s)) in info.dbs.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::raw(
                &mut o,
                &format!(
                    "\"{db}\":{{\"keys\":{},\"expires\":{},\"already_expired\":{},\"bytes\":{}}}",
                    s.keys, s.expires, s.expired, s.bytes
                ),
            );
        }
        let map = |o: &mut Vec<u8>, m: &BTreeMap<&'static str, u64>| {
            o.push(b'{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    o.push(b',');
                }
                json::str(o, k);
                o.push(b':');
                json::int(o, v);
            }
            o.push(b'}');
        };
        json::raw(&mut o, "},\"types\":");
        map(&mut o, &info.types);
        json::raw(&mut o, ",\"encodings\":");
        map(&mut o, &info.encodings);
        json::raw(&mut o, ",\"functions\":[");
        for (i, f) in info.functions.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::str(&mut o, f);
        }
        json::raw(&mut o, "],\"module_types\":{");
        for (i, (k, v)) in info.module_types.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::str(&mut o, k);
            o.push(b':');
            json::int(&mut o, v);
        }
        json::raw(&mut o, "},\"module_aux\":[");
        for (i, m) in info.module_aux.iter().enumerate() {
            if i > 0 {
                o.push(b',');
            }
            json::str(&mut o, m);
        }
        json::raw(
            &mut o,
            &format!(
                "],\"slot_info_records\":{},\"slot_import_records\":{},\"keys_with_idle\":{},\"keys_with_freq\":{},\"checksum\":",
                info.slot_info, info.slot_imports, info.idle, info.freq
            ),
        );
        json::str(&mut o, ck);
        if let Some(v) = ck_value {
            json::raw(&mut o, &format!(",\"checksum_value\":\"{v:016x}\""));
        }
        json::raw(
            &mut o,
            &format!(",\"trailing_bytes\":{}}}\n", end.trailing.unwrap_or(0)),
        );
        out.write_all(&o)?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "file:       {}", args.file)?;
    writeln!(
        out,
        "format:     {} (RDB version {})",
        version,
        version.number()
    )?;
    writeln!(
        out,
        "size:       {} bytes",
        end.bytes + end.trailing.unwrap_or(0)
    )?;
    writeln!(out, "aux fields:")?;
    for (k, v) in &info.aux {
        // ctime is the save time in Unix seconds: shown in UTC too.
        let when = match (
            &k[..],
            std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok()),
        ) {
            (b"ctime", Some(secs)) => format!(" ({})", iso8601_ms(secs.saturating_mul(1000))),
            _ => String::new(),
        };
        writeln!(
            out,
            "  {:<16} {}{when}",
            String::from_utf8_lossy(k),
            DisplayBytes(v)
        )?;
    }
    writeln!(out, "keys:       {total_keys}")?;
    for (db, s) in &info.dbs {
        writeln!(
            out,
            "  db {db:<4} {} keys, {} with expiry, {} already expired, {} bytes",
            s.keys, s.expires, s.expired, s.bytes
        )?;
    }
    let line = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    writeln!(out, "types:      {}", line(&info.types))?;
    writeln!(
        out,
        "encodings:  {} (as stored in the file)",
        line(&info.encodings)
    )?;
    writeln!(
        out,
        "functions:  {}",
        if info.functions.is_empty() {
            "none".into()
        } else {
            info.functions.join(", ")
        }
    )?;
    let mods: Vec<String> = info
        .module_types
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    writeln!(
        out,
        "modules:    {}",
        if mods.is_empty() {
            "none".into()
        } else {
            mods.join(", ")
        }
    )?;
    if !info.module_aux.is_empty() {
        writeln!(out, "module aux: {}", info.module_aux.join(", "))?;
    }
    if info.slot_info + info.slot_imports + info.idle + info.freq > 0 {
        writeln!(
            out,
            "hints:      {} SLOT_INFO, {} SLOT_IMPORT, {} keys with IDLE, {} with FREQ",
            info.slot_info, info.slot_imports, info.idle, info.freq
        )?;
    }
    match ck_value {
        Some(v) => writeln!(out, "checksum:   {ck} (0x{v:016x})")?,
        None => writeln!(out, "checksum:   {ck}")?,
    }
    if let Some(t) = end.trailing.filter(|&t| t > 0) {
        writeln!(
            out,
            "trailing:   {t} bytes after the checksum (ignored by loaders)"
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
