//! What a snapshot holds (`rdbkit info`): version, AUX fields, keys per
//! database, types, encodings, functions, modules, checksum, from one pass
//! that decodes no value.
//!
//! ```
//! # let dir = std::env::temp_dir().join(format!("rdbkit-doc-info-{}", std::process::id()));
//! # std::fs::create_dir_all(&dir)?;
//! # let path = dir.join("dump.rdb");
//! std::fs::write(&path, b"REDIS0009\xfe\x00\x00\x01k\x01v\xff\x00\x00\x00\x00\x00\x00\x00\x00")?;
//! let info = rdbkit_engine::info::info(path.to_str().unwrap())?;
//! assert_eq!(info.dbs[&0].keys, 1);
//! assert_eq!(info.types["string"], 1);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use rdbkit_parser::{Checksum, RdbVersion, Record, RecordKind};

use crate::source::{Visitor, WalkEnd, walk};

/// Keys of one database.
#[derive(Debug, Default, Clone, Copy)]
pub struct DbStats {
    /// Keys.
    pub keys: u64,
    /// Keys with an expiry.
    pub expires: u64,
    /// Keys whose expiry is already past.
    pub expired: u64,
    /// Serialized bytes of their records.
    pub bytes: u64,
}

/// What a file holds, from one pass that decodes no value but module
/// values (for their type names).
#[derive(Debug, Default)]
pub struct Info {
    /// The file's version.
    pub version: Option<RdbVersion>,
    /// AUX fields in file order.
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    /// Keys per database.
    pub dbs: BTreeMap<u64, DbStats>,
    /// Keys per type name.
    pub types: BTreeMap<&'static str, u64>,
    /// Keys per stored encoding.
    pub encodings: BTreeMap<&'static str, u64>,
    /// Function library names.
    pub functions: Vec<String>,
    /// Module values per module type name.
    pub module_types: BTreeMap<String, u64>,
    /// Module AUX records by module type name.
    pub module_aux: Vec<String>,
    /// SLOT_INFO records.
    pub slot_info: u64,
    /// Slot import records (Valkey 9).
    pub slot_imports: u64,
    /// Keys with an LRU idle time.
    pub idle: u64,
    /// Keys with an LFU frequency.
    pub freq: u64,
    /// The checksum's state.
    pub checksum: Option<Checksum>,
    /// Bytes read, and bytes after the checksum.
    pub end: Option<WalkEnd>,
    now_ms: i64,
    /// Keys per type byte until [`Info::finish`] names them in `types` and
    /// `encodings`: two map lookups by name a key were most of what the
    /// facts added to the HTML report's analysis pass.
    by_type: Vec<u64>,
}

impl Visitor for Info {
    fn header(&mut self, version: RdbVersion) -> crate::Result<()> {
        self.version = Some(version);
        self.by_type = vec![0; 256];
        Ok(())
    }

    fn record(&mut self, rec: &Record<'_>) -> crate::Result<bool> {
        match &rec.kind {
            RecordKind::Aux { key, value } => self.aux.push((key.to_vec(), value.to_vec())),
            RecordKind::Entry(e) => {
                let db = self.dbs.entry(e.db).or_default();
                db.keys += 1;
                db.bytes += rec.raw.len() as u64;
                if let Some(t) = e.expire_ms {
                    db.expires += 1;
                    if t <= self.now_ms {
                        db.expired += 1;
                    }
                }
                let kind = e.value.kind();
                if let Some(n) = self.by_type.get_mut(usize::from(e.value.ty().0)) {
                    *n += 1;
                }
                // Only module values are decoded (for their type name): info
                // reads no other value (decoding every string was a third of
                // its time).
                if kind == Some(rdbkit_parser::ValueKind::Module)
                    && let Ok(rdbkit_parser::Value::Module(m)) = e.value.decode()
                {
                    *self.module_types.entry(m.id.name()).or_default() += 1;
                }
                self.idle += u64::from(e.lru_idle.is_some());
                self.freq += u64::from(e.lfu_freq.is_some());
            }
            RecordKind::Function(f) => self
                .functions
                .push(f.library_name().unwrap_or("?").to_string()),
            RecordKind::ModuleAux(m) => self.module_aux.push(m.id.name()),
            RecordKind::SlotInfo { .. } => self.slot_info += 1,
            RecordKind::SlotImport { .. } => self.slot_imports += 1,
            RecordKind::Eof { checksum } => self.checksum = Some(*checksum),
            _ => {}
        }
        Ok(true)
    }
}

impl Info {
    /// Nothing seen yet: a [`Visitor`] for a walk that does more than
    /// [`info`] (the HTML report gathers the facts in its analysis pass).
    /// After the walk, call [`Info::finish`] and fill in `end`.
    pub fn new() -> Info {
        Info {
            now_ms: crate::select::now_ms(),
            ..Default::default()
        }
    }

    /// Fill in `types` and `encodings` from the keys counted so far.
    pub fn finish(&mut self) {
        let version = self.version.unwrap_or(RdbVersion(0));
        for (ty, n) in self.by_type.iter_mut().enumerate() {
            if *n == 0 {
                continue;
            }
            let ty = rdbkit_parser::RdbType(ty as u8);
            let kind = ty.kind_in(version).map_or("unknown", |k| k.as_str());
            *self.types.entry(kind).or_default() += *n;
            *self
                .encodings
                .entry(ty.name_in(version).unwrap_or("unknown"))
                .or_default() += *n;
            *n = 0;
        }
    }
}

/// Read the file at `path` (`-` for stdin).
pub fn info(path: &str) -> crate::Result<Info> {
    let mut info = Info::new();
    let end = walk(path, Default::default(), &mut info)?;
    info.finish();
    info.end = Some(end);
    Ok(info)
}
