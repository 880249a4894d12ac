//! Streams (types 15, 19, 21, 26, 27): node listpacks copied exactly as
//! stored, and the metadata tail written in the layout of the chosen version.
//!
//! Node keys and node listpacks never changed between stream versions; only
//! the metadata after the nodes did (format reference §4.7.3). A downgrade
//! therefore copies every node verbatim and drops the fields the older
//! layout lacks. What the older loader reconstructs instead (`rdbLoadObject`
//! for `RDB_TYPE_STREAM_LISTPACKS`) is modelled here too, so a conversion
//! reports a loss only when the reconstruction differs from the source.

use std::io::Write;

use rdbkit_parser::format::*;
use rdbkit_parser::{RdbType, RdbVersion, Stream, StreamId};

use crate::error::{Result, WriteError};
use crate::length::write_len;
use crate::report::{LossKind, NoteKind};
use crate::string::{StringOptions, write_raw_string, write_string};

/// The layout version (1-5) of a stream type id, `None` for other ids.
pub fn stream_level(ty: RdbType) -> Option<u8> {
    match ty {
        RDB_TYPE_STREAM_LISTPACKS => Some(1),
        RDB_TYPE_STREAM_LISTPACKS_2 => Some(2),
        RDB_TYPE_STREAM_LISTPACKS_3 => Some(3),
        RDB_TYPE_STREAM_LISTPACKS_4 => Some(4),
        RDB_TYPE_STREAM_LISTPACKS_5 => Some(5),
        _ => None,
    }
}

/// The type id of a stream layout version (1-5).
pub fn stream_type(level: u8) -> Option<RdbType> {
    Some(match level {
        1 => RDB_TYPE_STREAM_LISTPACKS,
        2 => RDB_TYPE_STREAM_LISTPACKS_2,
        3 => RDB_TYPE_STREAM_LISTPACKS_3,
        4 => RDB_TYPE_STREAM_LISTPACKS_4,
        5 => RDB_TYPE_STREAM_LISTPACKS_5,
        _ => return None,
    })
}

/// The newest stream layout a target loads; `None` below RDB 9 (no streams).
pub fn max_stream_level(target: RdbVersion) -> Option<u8> {
    if target.is_valkey() {
        return Some(3);
    }
    match target.0 {
        0..=8 => None,
        9 => Some(1),
        10 => Some(2),
        11 | 12 => Some(3),
        13 => Some(4),
        _ => Some(5),
    }
}

/// The type a stream stored as `source` is written as for `target`: the same
/// layout when the target loads it, else the newest one the target loads.
/// Never a newer layout than the source's (streams are not upgraded).
pub fn written_type(source: RdbType, target: RdbVersion) -> Option<RdbType> {
    let have = stream_level(source)?;
    stream_type(have.min(max_stream_level(target)?))
}

/// The stream-level counters a loader works with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamMeta {
    /// Live entries.
    pub length: u64,
    /// Last ID ever added.
    pub last_id: StreamId,
    /// First live ID.
    pub first_id: StreamId,
    /// Largest deleted ID.
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
}

/// The first live (not deleted) entry ID, or 0-0 for an empty stream.
pub fn first_live_id(s: &Stream<'_>) -> Result<StreamId> {
    for e in s.entries() {
        let e = e?;
        if !e.deleted {
            return Ok(e.id);
        }
    }
    Ok(StreamId::default())
}

/// What a loader reading layout v1 reconstructs (`entries_added = length`,
/// no deleted-ID high mark, first ID from the data).
pub fn v1_reconstruction(s: &Stream<'_>) -> Result<StreamMeta> {
    Ok(StreamMeta {
        length: s.length,
        last_id: s.last_id,
        first_id: first_live_id(s)?,
        max_deleted_id: StreamId::default(),
        entries_added: s.length,
    })
}

/// A loader's estimate of a group's `entries_read` from its last-delivered
/// ID when the file does not store it (Redis's
/// `streamEstimateDistanceFromFirstEverEntry`); `None` = unknown.
pub fn estimate_entries_read(m: &StreamMeta, id: StreamId) -> Option<u64> {
    let zero = StreamId::default();
    if m.entries_added == 0 {
        return Some(0);
    }
    if m.length == 0 && id <= m.last_id {
        return Some(m.entries_added);
    }
    match id.cmp(&m.last_id) {
        std::cmp::Ordering::Equal => return Some(m.entries_added),
        std::cmp::Ordering::Greater => return None,
        std::cmp::Ordering::Less => {}
    }
    if m.max_deleted_id == zero || m.max_deleted_id < m.first_id {
        let base = m.entries_added.checked_sub(m.length)?;
        match id.cmp(&m.first_id) {
            std::cmp::Ordering::Less => return Some(base),
            std::cmp::Ordering::Equal => return base.checked_add(1),
            std::cmp::Ordering::Greater => {}
        }
    }
    None
}

/// What writing a stream in an older layout drops, as far as the target's
/// loader cannot reconstruct it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamDowngrade {
    /// Information lost, with details.
    pub losses: Vec<(LossKind, String)>,
    /// Dropped settings worth mentioning.
    pub notes: Vec<(NoteKind, String)>,
}

/// Assess writing `s` in layout `to` (1-5).
pub fn assess_downgrade(s: &Stream<'_>, to: u8) -> Result<StreamDowngrade> {
    let mut out = StreamDowngrade::default();
    let from = stream_level(s.ty).unwrap_or(1);
    if to >= from {
        return Ok(out);
    }
    if to < 5 {
        let n: usize = s.groups.iter().map(|g| g.nacks.len()).sum();
        if n > 0 {
            out.losses.push((
                LossKind::StreamNacks,
                format!("{n} NACK-zone entries of consumer groups"),
            ));
        }
    }
    if to < 4
        && let Some(idmp) = &s.idmp
    {
        let iids: usize = idmp.producers.iter().map(|(_, v)| v.len()).sum();
        if !idmp.producers.is_empty() || idmp.iids_added != 0 || idmp.iids_duplicates != 0 {
            out.losses.push((
                    LossKind::StreamIdmp,
                    format!(
                        "idempotent-producer state: {} producers, {iids} tracked IIDs, {} added, {} duplicates",
                        idmp.producers.len(),
                        idmp.iids_added,
                        idmp.iids_duplicates
                    ),
                ));
        } else {
            out.notes.push((
                NoteKind::StreamIdmpSettingsDropped,
                format!(
                    "duration {} s, max entries {}",
                    idmp.duration, idmp.max_entries
                ),
            ));
        }
    }
    if to < 3 && from >= 3 {
        let n = s
            .groups
            .iter()
            .flat_map(|g| g.consumers.iter())
            .filter(|c| c.active_time.is_some_and(|a| a != c.seen_time))
            .count();
        if n > 0 {
            out.losses.push((
                LossKind::StreamActiveTime,
                format!("{n} consumers' active time (becomes their seen time)"),
            ));
        }
    }
    if to < 2 && from >= 2 {
        let recon = v1_reconstruction(s)?;
        let mut what = Vec::new();
        if let Some(added) = s.entries_added
            && added != recon.entries_added
        {
            // The target's streams have no such counter: a later loader of
            // 7.0+ would count it again from the entries.
            what.push(format!(
                "entries-added {added} (the target's streams have none; a 7.0+ loader would count {})",
                recon.entries_added
            ));
        }
        if let Some(md) = s.max_deleted_id
            && md != recon.max_deleted_id
        {
            what.push(format!(
                "max-deleted-entry-id {md} (the target's streams have none)"
            ));
        }
        for g in &s.groups {
            // An unknown counter that the loader replaces by an estimate is a
            // change too (XINFO then shows a lag the source did not claim).
            let est = estimate_entries_read(&recon, g.last_delivered_id);
            if est != g.entries_read {
                let show =
                    |v: Option<u64>| v.map_or_else(|| "unknown".to_string(), |e| e.to_string());
                what.push(format!(
                    "group {} entries-read {} (the target's streams have none; a 7.0+ loader would estimate {})",
                    rdbkit_parser::DisplayBytes(&g.name),
                    show(g.entries_read),
                    show(est)
                ));
            }
        }
        if !what.is_empty() {
            out.losses.push((LossKind::StreamMetadata, what.join(", ")));
        }
    }
    Ok(out)
}

fn write_id_lens<W: Write + ?Sized>(w: &mut W, id: StreamId, target: RdbVersion) -> Result<()> {
    write_len(w, id.ms, target)?;
    write_len(w, id.seq, target)
}

/// Write the body of stream `s` as type `ty` (a layout no newer than the
/// source's, see [`written_type`]). Nodes are copied verbatim, but for a
/// node listpack whose header count is wrong when the target is Valkey 9.
pub fn write_stream_body<W: Write + ?Sized>(
    w: &mut W,
    ty: RdbType,
    s: &Stream<'_>,
    target: RdbVersion,
) -> Result<()> {
    let level = stream_level(ty)
        .ok_or_else(|| WriteError::invalid("stream", format!("{ty} is not a stream type")))?;
    if max_stream_level(target).is_none_or(|m| level > m) {
        return Err(WriteError::not_representable(
            format!("a stream as {ty}"),
            target,
        ));
    }
    // Names are written like Redis does (`rdbSaveRawString`), without LZF.
    let names = StringOptions {
        target,
        compress: false,
    };
    write_len(w, s.nodes.len() as u64, target)?;
    for node in &s.nodes {
        write_raw_string(w, &node.master_id.to_raw(), target)?;
        // Valkey 9 checks a node listpack's header count, which no Redis
        // loader reads: a wrong one Redis loaded is set right for it.
        if target.is_valkey()
            && let Ok(Some(fixed)) = node.recounted()
        {
            write_raw_string(w, &fixed, target)?;
        } else {
            w.write_all(node.raw_string())?;
        }
    }
    write_len(w, s.length, target)?;
    write_id_lens(w, s.last_id, target)?;
    if level >= 2 {
        // Only reached with a v1 source when a caller asks for an upgrade
        // explicitly; fill in what a loader of v1 would reconstruct.
        let recon = if s.first_id.is_none() || s.entries_added.is_none() {
            Some(v1_reconstruction(s)?)
        } else {
            None
        };
        let first = s.first_id.or(recon.map(|r| r.first_id)).unwrap_or_default();
        write_id_lens(w, first, target)?;
        write_id_lens(w, s.max_deleted_id.unwrap_or_default(), target)?;
        write_len(w, s.entries_added.unwrap_or(s.length), target)?;
    }
    write_len(w, s.groups.len() as u64, target)?;
    for g in &s.groups {
        write_string(w, &g.name, names)?;
        write_id_lens(w, g.last_delivered_id, target)?;
        if level >= 2 {
            // u64::MAX is "unknown" (-1).
            write_len(w, g.entries_read.unwrap_or(u64::MAX), target)?;
        }
        write_len(w, g.pending.len() as u64, target)?;
        for p in &g.pending {
            w.write_all(&p.id.to_raw())?;
            w.write_all(&p.delivery_time.to_le_bytes())?;
            write_len(w, p.delivery_count, target)?;
        }
        write_len(w, g.consumers.len() as u64, target)?;
        for c in &g.consumers {
            write_string(w, &c.name, names)?;
            w.write_all(&c.seen_time.to_le_bytes())?;
            if level >= 3 {
                w.write_all(&c.active_time.unwrap_or(c.seen_time).to_le_bytes())?;
            }
            write_len(w, c.pending.len() as u64, target)?;
            for id in &c.pending {
                w.write_all(&id.to_raw())?;
            }
        }
        if level >= 5 {
            write_len(w, g.nacks.len() as u64, target)?;
            for id in &g.nacks {
                w.write_all(&id.to_raw())?;
            }
        }
    }
    if level >= 4 {
        let idmp = s.idmp.as_ref().ok_or_else(|| {
            WriteError::invalid("stream", "layout v4 needs the IDMP state of a v4+ source")
        })?;
        write_len(w, idmp.duration, target)?;
        write_len(w, idmp.max_entries, target)?;
        write_len(w, idmp.producers.len() as u64, target)?;
        for (pid, iids) in &idmp.producers {
            write_string(w, pid, names)?;
            write_len(w, iids.len() as u64, target)?;
            for (iid, id) in iids {
                write_string(w, iid, names)?;
                write_id_lens(w, *id, target)?;
            }
        }
        write_len(w, idmp.iids_added, target)?;
        write_len(w, idmp.iids_duplicates, target)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    #[test]
    fn types_per_target() {
        let t = |src, v| written_type(src, RdbVersion(v));
        assert_eq!(
            t(RDB_TYPE_STREAM_LISTPACKS_3, 9),
            Some(RDB_TYPE_STREAM_LISTPACKS)
        );
        assert_eq!(
            t(RDB_TYPE_STREAM_LISTPACKS_3, 10),
            Some(RDB_TYPE_STREAM_LISTPACKS_2)
        );
        assert_eq!(
            t(RDB_TYPE_STREAM_LISTPACKS_4, 12),
            Some(RDB_TYPE_STREAM_LISTPACKS_3)
        );
        assert_eq!(
            t(RDB_TYPE_STREAM_LISTPACKS_4, 80),
            Some(RDB_TYPE_STREAM_LISTPACKS_3)
        );
        assert_eq!(
            t(RDB_TYPE_STREAM_LISTPACKS_5, 13),
            Some(RDB_TYPE_STREAM_LISTPACKS_4)
        );
        assert_eq!(
            t(RDB_TYPE_STREAM_LISTPACKS, 12),
            Some(RDB_TYPE_STREAM_LISTPACKS)
        );
        assert_eq!(t(RDB_TYPE_STREAM_LISTPACKS_3, 8), None);
        assert_eq!(t(RDB_TYPE_HASH, 12), None);
    }

    #[test]
    fn entries_read_estimates() {
        let m = StreamMeta {
            length: 3,
            last_id: id(30, 0),
            first_id: id(10, 0),
            max_deleted_id: id(0, 0),
            entries_added: 5,
        };
        assert_eq!(estimate_entries_read(&m, id(30, 0)), Some(5));
        assert_eq!(estimate_entries_read(&m, id(31, 0)), None);
        assert_eq!(estimate_entries_read(&m, id(5, 0)), Some(2));
        assert_eq!(estimate_entries_read(&m, id(10, 0)), Some(3));
        assert_eq!(estimate_entries_read(&m, id(20, 0)), None);
        let frag = StreamMeta {
            max_deleted_id: id(20, 0),
            ..m
        };
        assert_eq!(estimate_entries_read(&frag, id(5, 0)), None);
        let empty = StreamMeta {
            length: 0,
            entries_added: 4,
            ..m
        };
        assert_eq!(estimate_entries_read(&empty, id(1, 0)), Some(4));
        let fresh = StreamMeta {
            entries_added: 0,
            ..m
        };
        assert_eq!(estimate_entries_read(&fresh, id(99, 0)), Some(0));
    }
}
