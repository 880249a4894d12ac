//! Streams (types 15, 19, 21, 26, 27): listpack nodes keyed by master ID,
//! then metadata, consumer groups with their PELs and consumers, and in v4+
//! the IDMP block.
//!
//! The node listpacks and raw IDs never changed between versions; only the
//! metadata tail did (see `rdbLoadObject` for `RDB_TYPE_STREAM_LISTPACKS*`).

use std::borrow::Cow;
use std::fmt;

use crate::body::Blob;
use crate::error::{Error, ErrorKind, Result};
use crate::format::*;
use crate::input::Input;
use crate::item::Item;
use crate::limits::Ctx;
use crate::listpack::{Listpack, ListpackEntries};

/// A stream entry ID.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl fmt::Debug for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl StreamId {
    /// The 16-byte big-endian form used for node keys and PEL entries.
    pub fn to_raw(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    fn from_raw(b: &[u8]) -> Option<StreamId> {
        let ms = u64::from_be_bytes(b.get(..8)?.try_into().ok()?);
        let seq = u64::from_be_bytes(b.get(8..16)?.try_into().ok()?);
        Some(StreamId { ms, seq })
    }
}

/// One node: a listpack of entries whose IDs are deltas from `master_id`.
#[derive(Clone, Debug)]
pub struct StreamNode<'data> {
    /// The node key: the master entry ID.
    pub master_id: StreamId,
    blob: Blob<'data>,
    raw: &'data [u8],
    /// The listpack header's element count is checked (Valkey 9's files).
    counted: bool,
}

impl<'data> StreamNode<'data> {
    /// The node's listpack bytes (decompressed).
    pub fn listpack(&self) -> &[u8] {
        &self.blob.data
    }

    /// File offset of the node's listpack string.
    pub fn offset(&self) -> u64 {
        self.blob.offset
    }

    /// The node's listpack with its header's element count set to the
    /// elements it holds, when the header says otherwise (and not 65535,
    /// "unknown"): what Valkey 9, which checks the count, loads. `None`
    /// when the count is right.
    ///
    /// ```
    /// use rdbkit_parser::{RdbReader, RecordKind, Value};
    ///
    /// // One node: master entry (1 entry, 0 deleted, field "f") and the
    /// // entry 1-1 = "a"; its header claims 11 elements, it holds 10.
    /// let lp = b"\x1d\0\0\0\x0b\0\x01\x01\x00\x01\x01\x01\x81f\x02\x00\x01\x02\x01\x00\x01\x00\x01\x81a\x02\x04\x01\xff";
    /// let mut file = b"REDIS0009\xfe\x00\x0f\x01s\x01\x10".to_vec();
    /// file.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    /// file.push(lp.len() as u8);
    /// file.extend_from_slice(lp);
    /// file.extend_from_slice(b"\x01\x01\x01\x00\xff\0\0\0\0\0\0\0\0");
    /// for rec in RdbReader::new(&file)? {
    ///     if let RecordKind::Entry(e) = rec?.kind {
    ///         let Value::Stream(s) = e.value.decode()? else { unreachable!() };
    ///         let fixed = s.nodes[0].recounted()?.unwrap();
    ///         assert_eq!(fixed[4..6], [10, 0]);
    ///         assert_eq!(fixed[6..], lp[6..]);
    ///     }
    /// }
    /// # Ok::<(), rdbkit_parser::Error>(())
    /// ```
    pub fn recounted(&self) -> Result<Option<Vec<u8>>> {
        let lp = Listpack::parse(&self.blob.data, self.blob.offset)?;
        let Some(claimed) = lp.len_hint() else {
            return Ok(None);
        };
        let mut n = 0u64;
        for e in lp.entries_uncounted() {
            e?;
            n += 1;
        }
        if n == claimed {
            return Ok(None);
        }
        let mut fixed = self.blob.data.to_vec();
        let count = u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes();
        if let Some(h) = fixed.get_mut(4..6) {
            h.copy_from_slice(&count);
        }
        Ok(Some(fixed))
    }

    /// The node's listpack exactly as stored: a whole RDB string (length
    /// header included, possibly LZF-compressed). A writer copies it verbatim,
    /// since node listpacks never changed between stream versions.
    pub fn raw_string(&self) -> &'data [u8] {
        self.raw
    }
}

/// A pending entry of a consumer group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingEntry {
    /// The entry ID.
    pub id: StreamId,
    /// Last delivery time, Unix ms.
    pub delivery_time: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct Consumer<'data> {
    /// The consumer name.
    pub name: Cow<'data, [u8]>,
    /// Last time the consumer was seen, Unix ms.
    pub seen_time: i64,
    /// Last time the consumer did something (stream v3+).
    pub active_time: Option<i64>,
    /// IDs of the entries pending for this consumer (each is in the group PEL).
    pub pending: Vec<StreamId>,
}

/// A consumer group.
#[derive(Clone, Debug, PartialEq)]
pub struct ConsumerGroup<'data> {
    /// The group name.
    pub name: Cow<'data, [u8]>,
    /// Last delivered ID.
    pub last_delivered_id: StreamId,
    /// Logical read counter (stream v2+); `None` when unknown (`-1` or v1).
    pub entries_read: Option<u64>,
    /// The group's pending entries list.
    pub pending: Vec<PendingEntry>,
    /// The consumers.
    pub consumers: Vec<Consumer<'data>>,
    /// Stream v5 (Redis 8.8): IDs in the group's NACK zone.
    pub nacks: Vec<StreamId>,
}

/// One idempotent producer: its id and its (IID, entry ID) pairs.
pub type IdmpProducer<'data> = (Cow<'data, [u8]>, Vec<(Cow<'data, [u8]>, StreamId)>);

/// Redis 8.6 (stream v4) idempotent-producer state.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamIdmp<'data> {
    /// Idempotency window, seconds.
    pub duration: u64,
    /// Maximum tracked IIDs per producer.
    pub max_entries: u64,
    /// Producers: id and their (IID, entry ID) pairs.
    pub producers: Vec<IdmpProducer<'data>>,
    /// Total IIDs added.
    pub iids_added: u64,
    /// Total duplicates detected.
    pub iids_duplicates: u64,
}

/// A decoded stream.
#[derive(Clone, Debug)]
pub struct Stream<'data> {
    /// The type id it was stored with (15, 19, 21, 26, 27).
    pub ty: RdbType,
    /// The nodes.
    pub nodes: Vec<StreamNode<'data>>,
    /// Number of live entries.
    pub length: u64,
    /// Last ID ever added.
    pub last_id: StreamId,
    /// First live ID (v2+).
    pub first_id: Option<StreamId>,
    /// Largest deleted ID (v2+).
    pub max_deleted_id: Option<StreamId>,
    /// Entries ever added (v2+).
    pub entries_added: Option<u64>,
    /// Consumer groups.
    pub groups: Vec<ConsumerGroup<'data>>,
    /// IDMP state (v4+).
    pub idmp: Option<StreamIdmp<'data>>,
}

/// One stream entry.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamEntry<'a> {
    /// The entry ID.
    pub id: StreamId,
    /// Whether the entry is flagged deleted (still stored, not visible).
    pub deleted: bool,
    /// Field/value pairs in entry order.
    pub fields: Vec<(Item<'a>, Item<'a>)>,
}

const STREAM_ITEM_FLAG_DELETED: i64 = 1;
const STREAM_ITEM_FLAG_SAMEFIELDS: i64 = 2;

fn bad(offset: u64, what: &'static str, reason: String) -> Error {
    Error::new(offset, ErrorKind::invalid(what, reason))
}

fn raw_id(input: &mut Input<'_>, what: &'static str) -> Result<StreamId> {
    let b = input.take(16, what)?;
    StreamId::from_raw(b).ok_or_else(|| input.err(ErrorKind::invalid(what, "short ID")))
}

fn len_id(input: &mut Input<'_>, what: &'static str) -> Result<StreamId> {
    Ok(StreamId {
        ms: input.len(what)?,
        seq: input.len(what)?,
    })
}

/// Read (or, with `keep == false`, only walk) a stream body.
pub(crate) fn read_stream<'data>(
    input: &mut Input<'data>,
    ty: RdbType,
    ctx: &Ctx,
    keep: bool,
) -> Result<Stream<'data>> {
    let limits = &ctx.limits;
    let max = limits.max_elements;
    let v = match ty {
        RDB_TYPE_STREAM_LISTPACKS => 1,
        RDB_TYPE_STREAM_LISTPACKS_2 => 2,
        RDB_TYPE_STREAM_LISTPACKS_3 => 3,
        RDB_TYPE_STREAM_LISTPACKS_4 => 4,
        _ => 5,
    };
    let n_nodes = input.count("stream node count", 2, max)?;
    let mut nodes = Vec::new();
    let mut prev_key: Option<StreamId> = None;
    // Node keys need not come in order: the loader inserts each into a
    // radix tree, which sorts them, and refuses only a key seen before
    // ("Listpack re-added with existing key"). In order, as every server
    // writes them, keys cannot repeat; otherwise the nodes are sorted and
    // checked once all are read.
    let mut ordered = true;
    for _ in 0..n_nodes {
        let at = input.offset();
        let key = input.string("stream node key")?;
        let key_bytes = match key {
            crate::string::RawString::Raw(b) => Cow::Borrowed(b),
            other => other.decode(limits)?,
        };
        if key_bytes.len() != 16 {
            return Err(bad(
                at,
                "stream node key",
                format!("{} bytes, expected a 16-byte ID", key_bytes.len()),
            ));
        }
        let master_id = StreamId::from_raw(&key_bytes).unwrap_or_default();
        if prev_key.is_some_and(|p| p >= master_id) {
            ordered = false;
        }
        prev_key = Some(master_id);
        if keep {
            let raw_start = input.pos();
            let blob = Blob::read(input, "stream node listpack", limits)?;
            if blob.data.len() <= 7 {
                return Err(bad(blob.offset, "stream node", "empty listpack".into()));
            }
            let raw = input.since(raw_start);
            nodes.push(StreamNode {
                master_id,
                blob,
                raw,
                counted: ctx.version.is_valkey(),
            });
        } else {
            let s = input.string("stream node listpack")?;
            if s.len() <= 7 {
                return Err(bad(at, "stream node", "empty listpack".into()));
            }
        }
    }
    if !ordered {
        nodes.sort_unstable_by_key(|n| n.master_id);
        let dup = nodes.windows(2).find_map(|w| match w {
            [a, b] if a.master_id == b.master_id => {
                Some((a.master_id, a.blob.offset.max(b.blob.offset)))
            }
            _ => None,
        });
        if let Some((id, at)) = dup {
            return Err(bad(
                at,
                "stream node",
                format!("{id} is the key of an earlier node"),
            ));
        }
    }
    let length = input.len("stream length")?;
    let last_id = len_id(input, "stream last ID")?;
    let (mut first_id, mut max_deleted_id, mut entries_added) = (None, None, None);
    if v >= 2 {
        first_id = Some(len_id(input, "stream first ID")?);
        max_deleted_id = Some(len_id(input, "stream max deleted ID")?);
        entries_added = Some(input.len("stream entries added")?);
    }
    // Loaders since 7.0 (RDB 10) refuse a length without nodes ("Stream
    // length inconsistent with rax entries"); 6.x load it, and XLEN then
    // reports the stored length. Nothing else ties the stored length to the
    // entries: any other mismatch loads everywhere.
    if length > 0 && n_nodes == 0 && ctx.version.number() >= 10 {
        return Err(input.err(ErrorKind::invalid(
            "stream",
            format!("length {length} but no nodes"),
        )));
    }
    let n_groups = input.count("stream consumer group count", 3, max)?;
    let mut groups = Vec::new();
    for _ in 0..n_groups {
        let name = input.string_bytes("consumer group name", limits)?;
        let last_delivered_id = len_id(input, "consumer group last delivered ID")?;
        let entries_read = if v >= 2 {
            // u64::MAX is data here: "unknown" (-1), not a length error.
            Some(input.len("consumer group entries read")?).filter(|&n| n != u64::MAX)
        } else {
            None
        };
        let n_pel = input.count("consumer group PEL size", 17, max)?;
        let mut pending = Vec::new();
        for _ in 0..n_pel {
            let id = raw_id(input, "PEL entry ID")?;
            let delivery_time = input.le_i64("PEL delivery time")?;
            let delivery_count = input.len("PEL delivery count")?;
            pending.push(PendingEntry {
                id,
                delivery_time,
                delivery_count,
            });
        }
        // The group's PEL IDs, sorted: duplicates show up as neighbours, and
        // each consumer PEL entry is looked up in O(log n) (a linear scan per
        // entry made a 2 MB file take minutes).
        let mut sorted: Vec<StreamId> = Vec::new();
        if keep {
            sorted = pending.iter().map(|p| p.id).collect();
            sorted.sort_unstable();
            if sorted.windows(2).any(|w| w.first() == w.get(1)) {
                return Err(input.err(ErrorKind::invalid("consumer group PEL", "duplicate ID")));
            }
        }
        // Which consumer (index + 1) last claimed each group PEL entry. The
        // loader refuses an entry twice in one consumer's PEL ("Duplicated
        // consumer PEL entry"; a second consumer claiming it just takes it
        // over) and, validating deeply as its checker does, one that no
        // consumer claims ("Stream CG PEL entry without consumer").
        let mut claimed = vec![0u64; sorted.len()];
        let n_consumers = input.count("consumer count", 10, max)?;
        let mut consumers: Vec<Consumer<'data>> = Vec::new();
        for ci in 1..=n_consumers {
            let cname = input.string_bytes("consumer name", limits)?;
            let seen_time = input.le_i64("consumer seen time")?;
            let active_time = if v >= 3 {
                Some(input.le_i64("consumer active time")?)
            } else {
                None
            };
            let n = input.count("consumer PEL size", 16, max)?;
            let mut cpel = Vec::new();
            for _ in 0..n {
                let at = input.offset();
                let id = raw_id(input, "consumer PEL entry ID")?;
                if keep {
                    let Ok(i) = sorted.binary_search(&id) else {
                        return Err(bad(
                            at,
                            "consumer PEL",
                            format!("entry {id} is not in the group PEL"),
                        ));
                    };
                    if let Some(c) = claimed.get_mut(i) {
                        if *c == ci {
                            return Err(bad(
                                at,
                                "consumer PEL",
                                format!("entry {id} twice in the PEL of one consumer"),
                            ));
                        }
                        *c = ci;
                    }
                }
                cpel.push(id);
            }
            consumers.push(Consumer {
                name: cname,
                seen_time,
                active_time,
                pending: cpel,
            });
        }
        // Redis 8.6's NACK zones (v5) may leave entries to no consumer.
        if let Some(i) = claimed.iter().position(|&c| c == 0).filter(|_| v < 5) {
            let id = sorted.get(i).copied().unwrap_or_default();
            return Err(input.err(ErrorKind::invalid(
                "consumer group PEL",
                format!("entry {id} belongs to no consumer"),
            )));
        }
        let mut nacks = Vec::new();
        if v >= 5 {
            let n = input.count("NACK zone size", 16, max)?;
            for _ in 0..n {
                nacks.push(raw_id(input, "NACK entry ID")?);
            }
        }
        if keep {
            groups.push(ConsumerGroup {
                name,
                last_delivered_id,
                entries_read,
                pending,
                consumers,
                nacks,
            });
        }
    }
    let idmp = if v >= 4 {
        let duration = input.len("IDMP duration")?;
        let max_entries = input.len("IDMP max entries")?;
        let n_prod = input.count("IDMP producer count", 2, max)?;
        let mut producers = Vec::new();
        for _ in 0..n_prod {
            let pid = input.string_bytes("IDMP producer id", limits)?;
            let n = input.count("IDMP IID count", 3, max)?;
            let mut iids = Vec::new();
            for _ in 0..n {
                let iid = input.string_bytes("IDMP IID", limits)?;
                let id = len_id(input, "IDMP entry ID")?;
                iids.push((iid, id));
            }
            producers.push((pid, iids));
        }
        let iids_added = input.len("IDMP IIDs added")?;
        let iids_duplicates = input.len("IDMP IID duplicates")?;
        Some(StreamIdmp {
            duration,
            max_entries,
            producers,
            iids_added,
            iids_duplicates,
        })
    } else {
        None
    };
    Ok(Stream {
        ty,
        nodes,
        length,
        last_id,
        first_id,
        max_deleted_id,
        entries_added,
        groups,
        idmp,
    })
}

impl<'data> Stream<'data> {
    /// All entries in ID order, including those flagged deleted.
    pub fn entries(&self) -> StreamEntries<'_> {
        StreamEntries {
            nodes: self.nodes.iter(),
            cur: None,
            done: false,
        }
    }

    /// The number of entries not flagged deleted, every entry checked as
    /// [`StreamEntries::next_id`] checks it. It need not equal
    /// [`length`](Stream::length): Redis loaders take the stored length as
    /// it is, Valkey 9 refuses a mismatch.
    ///
    /// ```
    /// use rdbkit_parser::{RdbReader, RecordKind, Value};
    ///
    /// // A stream with no nodes, length 0, last ID 0-0, no groups.
    /// let file = b"REDIS0009\xfe\x00\x0f\x01s\x00\x00\x00\x00\x00\xff\0\0\0\0\0\0\0\0";
    /// for rec in RdbReader::new(file)? {
    ///     if let RecordKind::Entry(e) = rec?.kind {
    ///         let Value::Stream(s) = e.value.decode()? else { unreachable!() };
    ///         assert_eq!((s.live_entries()?, s.length), (0, 0));
    ///     }
    /// }
    /// # Ok::<(), rdbkit_parser::Error>(())
    /// ```
    pub fn live_entries(&self) -> Result<u64> {
        let mut live = 0u64;
        let mut entries = self.entries();
        while let Some(r) = entries.next_id() {
            live += u64::from(!r?.1);
        }
        Ok(live)
    }
}

/// Iterator over the entries of a stream's nodes.
#[derive(Debug)]
pub struct StreamEntries<'a> {
    nodes: std::slice::Iter<'a, StreamNode<'a>>,
    cur: Option<NodeCursor<'a>>,
    done: bool,
}

#[derive(Debug)]
struct NodeCursor<'a> {
    lp: ListpackEntries<'a>,
    master: StreamId,
    master_fields: Vec<Item<'a>>,
    left: u64,
    offset: u64,
}

/// The next element of a node's listpack; `what` names it if missing.
#[inline(always)]
fn lp_item<'a>(lp: &mut ListpackEntries<'a>, offset: u64, what: &'static str) -> Result<Item<'a>> {
    if let Some(item) = lp.next_fast() {
        return Ok(item);
    }
    match lp.next() {
        Some(r) => r,
        None => Err(bad(
            offset,
            "stream node",
            format!("listpack ended before {what}"),
        )),
    }
}

impl<'a> NodeCursor<'a> {
    fn open(node: &'a StreamNode<'a>) -> Result<NodeCursor<'a>> {
        let offset = node.blob.offset;
        // Redis and Valkey 8 never read a node listpack's header count
        // (`streamValidateListpackIntegrity` walks by the entries' own
        // counts); Valkey 9 checks it ("Stream listpack integrity check
        // failed") in every file it loads.
        let lp = Listpack::parse(&node.blob.data, offset)?;
        let mut lp = if node.counted {
            lp.entries()
        } else {
            lp.entries_uncounted()
        };
        let next_int = |lp: &mut ListpackEntries<'a>, what: &'static str| -> Result<i64> {
            match lp.next() {
                Some(Ok(Item::Int(v))) => Ok(v),
                Some(Ok(other)) => Err(bad(
                    offset,
                    "stream node",
                    format!("{what}: expected an integer, found {other:?}"),
                )),
                Some(Err(e)) => Err(e),
                None => Err(bad(
                    offset,
                    "stream node",
                    format!("{what}: listpack ended"),
                )),
            }
        };
        let count = next_int(&mut lp, "master entry count")?;
        let deleted = next_int(&mut lp, "master deleted count")?;
        let nfields = next_int(&mut lp, "master field count")?;
        // `count + deleted` can overflow: both come from the file.
        let total = match count.checked_add(deleted) {
            Some(t) if count >= 0 && deleted >= 0 && nfields >= 0 && t > 0 => t,
            _ => {
                return Err(bad(
                    offset,
                    "stream node",
                    format!(
                        "master entry counts {count} live, {deleted} deleted, {nfields} fields"
                    ),
                ));
            }
        };
        let mut master_fields = Vec::new();
        for _ in 0..nfields {
            match lp.next() {
                Some(Ok(f)) => master_fields.push(f),
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(bad(
                        offset,
                        "stream node",
                        "listpack ended in the master fields".into(),
                    ));
                }
            }
        }
        if next_int(&mut lp, "master entry terminator")? != 0 {
            return Err(bad(
                offset,
                "stream node",
                "master entry terminator is not 0".into(),
            ));
        }
        Ok(NodeCursor {
            lp,
            master: node.master_id,
            master_fields,
            left: total as u64,
            offset,
        })
    }

    /// The next element of the node's listpack; `what` names it if missing.
    #[inline(always)]
    fn item(&mut self, what: &'static str) -> Result<Item<'a>> {
        lp_item(&mut self.lp, self.offset, what)
    }

    /// The next element, which must be an integer (`what` names it).
    #[inline(always)]
    fn int(&mut self, elem: &'static str, what: &'static str) -> Result<i64> {
        match self.item(elem)? {
            Item::Int(v) => Ok(v),
            other => other.as_i64().ok_or_else(|| {
                bad(
                    self.offset,
                    "stream entry",
                    format!("{what}: expected an integer"),
                )
            }),
        }
    }

    #[inline]
    fn next_entry(&mut self) -> Result<Option<StreamEntry<'a>>> {
        let mut fields = Vec::new();
        let head = self.next_entry_with(Some(&mut fields))?;
        Ok(head.map(|(id, deleted)| StreamEntry {
            id,
            deleted,
            fields,
        }))
    }

    /// The next entry's ID and deleted flag, with every element checked as
    /// [`NodeCursor::next_entry`] does; its field/value pairs are pushed to
    /// `fields` if given, so that a walk that only counts entries allocates
    /// nothing per entry.
    #[inline(always)]
    fn next_entry_with(
        &mut self,
        mut fields: Option<&mut Vec<(Item<'a>, Item<'a>)>>,
    ) -> Result<Option<(StreamId, bool)>> {
        let offset = self.offset;
        if self.left == 0 {
            return match self.lp.next() {
                None => Ok(None),
                Some(Err(e)) => Err(e),
                Some(Ok(extra)) => Err(bad(
                    offset,
                    "stream node",
                    format!("unexpected element {extra:?} after the last entry"),
                )),
            };
        }
        self.left -= 1;
        let flags = self.int("entry flags", "flags")?;
        let ms_delta = self.int("entry ID", "ID ms delta")?;
        let seq_delta = self.int("entry ID", "ID seq delta")?;
        let id = StreamId {
            ms: self.master.ms.wrapping_add(ms_delta as u64),
            seq: self.master.seq.wrapping_add(seq_delta as u64),
        };
        let n_items: i64 = if flags & STREAM_ITEM_FLAG_SAMEFIELDS != 0 {
            if let Some(v) = fields.as_deref_mut() {
                v.reserve(self.master_fields.len());
            }
            for f in &self.master_fields {
                let value = lp_item(&mut self.lp, offset, "entry value")?;
                if let Some(v) = fields.as_deref_mut() {
                    v.push((f.clone(), value));
                }
            }
            self.master_fields.len() as i64 + 3
        } else {
            let n = self.int("entry field count", "field count")?;
            if n < 0 || n as u64 > u64::from(u32::MAX) {
                return Err(bad(offset, "stream entry", format!("field count {n}")));
            }
            // The count is not trusted for the allocation beyond a little.
            if let Some(v) = fields.as_deref_mut() {
                v.reserve((n as usize).min(16));
            }
            for _ in 0..n {
                let f = self.item("entry field")?;
                let value = self.item("entry value")?;
                if let Some(v) = fields.as_deref_mut() {
                    v.push((f, value));
                }
            }
            2 * n + 4
        };
        let lp_count = self.int("entry lp-count", "lp-count")?;
        if lp_count != n_items {
            return Err(bad(
                offset,
                "stream entry",
                format!("lp-count {lp_count} but the entry has {n_items} items"),
            ));
        }
        Ok(Some((id, flags & STREAM_ITEM_FLAG_DELETED != 0)))
    }
}

impl<'a> StreamEntries<'a> {
    /// The cursor of the node holding the next entry, opening nodes as they
    /// are reached (`Ok(None)`: no nodes left).
    fn step<T>(
        &mut self,
        mut next: impl FnMut(&mut NodeCursor<'a>) -> Result<Option<T>>,
    ) -> Option<Result<T>> {
        if self.done {
            return None;
        }
        loop {
            if self.cur.is_none() {
                let node = self.nodes.next()?;
                match NodeCursor::open(node) {
                    Ok(c) => self.cur = Some(c),
                    Err(e) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                }
            }
            let cur = self.cur.as_mut()?;
            match next(cur) {
                Ok(Some(e)) => return Some(Ok(e)),
                Ok(None) => self.cur = None,
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
    }

    /// The next entry's ID and whether it is flagged deleted, with every
    /// element checked as [`Iterator::next`] checks it but the field/value
    /// pairs not collected (a walk that only counts entries allocates
    /// nothing per entry).
    pub fn next_id(&mut self) -> Option<Result<(StreamId, bool)>> {
        self.step(|c| c.next_entry_with(None))
    }
}

impl<'a> Iterator for StreamEntries<'a> {
    type Item = Result<StreamEntry<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        self.step(NodeCursor::next_entry)
    }
}
