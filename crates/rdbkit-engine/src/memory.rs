//! The memory estimate: how many bytes a key would take in a server of the
//! target release line after loading it from the snapshot, as that server's
//! own `MEMORY USAGE key SAMPLES 0` would report it.
//!
//! # The model
//!
//! `MEMORY USAGE` (`memoryCommand` → `objectComputeSize` in `object.c`) adds
//! up the allocations of a key: the value object, its encoding's buffers and
//! per-element structures, and the key itself. We rebuild the same sum from
//! the snapshot's contents, in one pass over each value's elements:
//!
//! 1. **Encoding.** A key loaded from an RDB gets the encoding the loading
//!    server chooses, not the one in the file (`rdbLoadObject` converts):
//!    small hashes / zsets / sets / lists become ziplists (≤ 6.2) or
//!    listpacks (7.0+; sets and lists only from 7.2), sets of integers
//!    intsets, everything else hashtables / skiplists / quicklists. The
//!    thresholds are the defaults of the release line (`hash-max-listpack-entries 512`,
//!    `zset-… 128`, `set-max-listpack-entries 128`, `set-max-intset-entries 512`,
//!    values ≤ 64 bytes, `list-max-listpack-size -2` = 8 KB nodes); strings
//!    become `int` (canonical integers of ≤ 20 characters), `embstr`
//!    (≤ 44 bytes; 8.0+ and Valkey: when key, value and headers fit in one
//!    64-byte allocation) or `raw`.
//! 2. **Allocation sizes.** Every `zmalloc` is rounded up to the allocator's
//!    size class ([`Alloc`]): jemalloc as Redis bundles it (8-byte quantum:
//!    8, 16, 24, …, 64, 80, 96, 112, 128, 160, … four classes per doubling),
//!    a system jemalloc (16-byte quantum), or glibc malloc (16-byte chunks,
//!    8 bytes of header).
//! 3. **Structures.** `robj` 16 bytes; `dictEntry` 24; `dict` 96 (≤ 6.2) or
//!    56 bytes plus 8 per bucket, with `next_pow2(n)` buckets (the loader
//!    calls `dictExpand(len)`); sds strings of `hdr + len + 1` bytes with a
//!    1/3/5/9-byte header by length (`sdsReqType`); ziplist entries
//!    (`prevlen` + encoding + data, 11 bytes of header and end) and listpack
//!    entries (encoding + data + backlen, 7 bytes of header and end), with
//!    integers in their compact forms; skiplist nodes of 24 + 16·level bytes
//!    at the expected level distribution (p = 1/4); quicklist 40 bytes plus
//!    32 (≤ 6.2) or 40 bytes per node; intsets 8 + width·n.
//! 4. **The key.** ≤ 7.4: a `dictEntry` plus the key's sds. Redis 8 and
//!    Valkey 8+ embed the key (and the expiry, and short string values) in
//!    the value object itself and keep no `dictEntry`.
//! 5. **Version quirks that `MEMORY USAGE` itself has**: ≤ 6.2 counts embstr
//!    as `len + 2 + 16` and ziplists / intsets by their exact length rather
//!    than their allocation; streams are counted with the server's own rough
//!    radix-tree formula (16 bytes per element plus 244 per node), which we
//!    follow with one node per element plus the root.
//!
//! What the model does not know: the real skiplist levels (random), rax node
//! counts, hashtable growth after the load, allocator fragmentation, and the
//! internals of Valkey 8.1+'s bucketed hashtable (modelled as Redis's dict).
//! Module values count as their serialized size.

use rdbkit_parser::{
    Entry, Item, ListNode, NodeContainer, Value, ValueKind, listpack::Listpack, ziplist::Ziplist,
};

use crate::target::Target;

/// The allocator whose size classes round every allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum Alloc {
    /// jemalloc as Redis and Valkey bundle it (`--with-lg-quantum=3`: 8-byte steps up to 64).
    #[default]
    Jemalloc,
    /// A system jemalloc with the default 16-byte quantum (e.g. Debian's redis-server).
    Jemalloc16,
    /// glibc malloc (`make MALLOC=libc`, some embedded builds).
    Libc,
}

impl Alloc {
    /// The usable size of an allocation of `n` bytes.
    pub fn size(self, n: u64) -> u64 {
        match self {
            Alloc::Jemalloc => jemalloc_class(n, 8),
            Alloc::Jemalloc16 => jemalloc_class(n, 16),
            Alloc::Libc => {
                // glibc: chunks of 16-byte multiples with an 8-byte header,
                // 32 bytes at least; big ones are mmapped in whole pages.
                if n + 8 >= 128 << 10 {
                    (n + 16).div_ceil(4096) * 4096 - 16
                } else {
                    ((n + 8).div_ceil(16) * 16).max(32) - 8
                }
            }
        }
    }
}

/// jemalloc size classes: a tiny class of 8, then multiples of the quantum
/// up to 4 quanta... precisely: in `(2^k, 2^(k+1)]` the step is
/// `max(quantum, 2^(k-2))`, four classes per doubling.
fn jemalloc_class(n: u64, quantum: u64) -> u64 {
    if n <= 8 {
        return 8;
    }
    let k = 63 - (n - 1).leading_zeros() as u64; // 2^k < n <= 2^(k+1)
    let step = quantum.max(1 << k.saturating_sub(2));
    n.div_ceil(step) * step
}

/// Which server internals apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Gen {
    /// Redis ≤ 6.2: ziplists, 96-byte dicts, `MEMORY USAGE` quirks.
    R62,
    /// Redis 7.0: listpacks for hashes and zsets; lists always quicklists.
    R70,
    /// Redis 7.2 – 7.4: also listpack lists and sets.
    R72,
    /// Redis 8: keys embedded in the value object; Valkey 8+ likewise.
    R80,
}

/// One key's line of the memory report.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyMemory {
    /// rdbtools' type name: string, list, set, sortedset, hash, stream, module.
    pub type_name: &'static str,
    /// The encoding the loading server would choose (`OBJECT ENCODING`).
    pub encoding: &'static str,
    /// Estimated bytes (`MEMORY USAGE`).
    pub bytes: u64,
    /// Elements (string: its length in bytes; stream: its entries).
    pub elements: u64,
    /// Length of the largest element (hash: field or value; zset: member).
    pub largest: u64,
}

/// The memory estimate of each selected key of a walk: the model is made
/// at the header, for the given target or the file's own release line.
/// (What the memory report of `analyze` and `export --format csv` share.)
#[derive(Debug)]
pub struct Sizer {
    sel: crate::select::Selector,
    target: Option<Target>,
    alloc: Alloc,
    model: Option<Model>,
    modelled: Option<Target>,
}

impl Sizer {
    /// Keys chosen by `sel`, estimated for `target` (`None`: the file's own
    /// line) with `alloc`.
    pub fn new(sel: crate::select::Selector, target: Option<Target>, alloc: Alloc) -> Sizer {
        Sizer {
            sel,
            target,
            alloc,
            model: None,
            modelled: None,
        }
    }

    /// The model in use (after [`Sizer::header`]).
    pub fn model(&self) -> Option<&Model> {
        self.model.as_ref()
    }

    /// The server whose memory is modelled (known once the header is read:
    /// the one given, or the file's own release line).
    pub fn modelled(&self) -> Option<Target> {
        self.modelled
    }

    /// The allocator whose size classes the estimate rounds to.
    pub fn alloc(&self) -> Alloc {
        self.alloc
    }

    /// The walk's header: the model to use.
    pub fn header(&mut self, version: rdbkit_parser::RdbVersion) {
        let t = self.target.unwrap_or_else(|| Target::for_rdb(version));
        self.modelled = Some(t);
        self.model = Some(Model::new(t, self.alloc));
    }

    /// The record's key and its estimate, if it is a selected key.
    pub fn measure<'r, 'd>(
        &self,
        rec: &'r rdbkit_parser::Record<'d>,
    ) -> crate::Result<Option<(&'r Entry<'d>, KeyMemory)>> {
        let rdbkit_parser::RecordKind::Entry(e) = &rec.kind else {
            return Ok(None);
        };
        if !self.sel.matches(e, rec.raw.len() as u64) {
            return Ok(None);
        }
        let Some(model) = &self.model else {
            crate::error::bail!("record before the header");
        };
        let m = model
            .key(e)
            .map_err(|err| err.context(format!("key {}", rdbkit_parser::DisplayBytes(&e.key))))?;
        Ok(Some((e, m)))
    }
}

/// The memory model for one target and allocator.
#[derive(Debug, Clone)]
pub struct Model {
    line: Gen,
    alloc: Alloc,
    /// Field TTLs stay on the fields (7.4+, Valkey 9+).
    hfe: bool,
    /// Valkey 9 embeds strings up to 128 bytes with their key.
    embed_limit: u64,
    /// Expected skiplist node allocation for the level distribution.
    zsl_node: f64,
    /// Valkey 8.1+: sets and zsets in the bucketed `hashtable` (64-byte
    /// buckets of 7 pointers, no per-element entry) instead of a dict.
    valkey_hashtable: bool,
}

/// Per-element sizes gathered in one pass over a collection.
#[derive(Debug, Default)]
struct Scan {
    n: u64,
    largest: u64,
    /// Listpack bytes (entries only).
    lp: u64,
    /// Ziplist bytes (entries only) and the size of the last entry (prevlen).
    zl: u64,
    zl_prev: u64,
    /// Every element is a canonical integer (sets: intset candidates).
    all_int: bool,
    /// Widest integer (intset encoding 2, 4 or 8).
    int_width: u64,
    /// Sum of per-element hashtable costs.
    ht: f64,
}

const ROBJ: u64 = 16;
const DICT_ENTRY: u64 = 24;

/// Length of a listpack entry holding `it`.
fn lp_entry(it: &Item<'_>) -> u64 {
    let enc = match it.as_i64() {
        Some(v) if (0..=127).contains(&v) => 1,
        Some(v) if (-4096..4096).contains(&v) => 2,
        Some(v) if i16::try_from(v).is_ok() => 3,
        Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => 4,
        Some(v) if i32::try_from(v).is_ok() => 5,
        Some(_) => 9,
        None => {
            let l = it.len() as u64;
            match l {
                0..=63 => 1 + l,
                64..=4095 => 2 + l,
                _ => 5 + l,
            }
        }
    };
    enc + rdbkit_parser::listpack::backlen_size(enc) as u64
}

/// Length of a ziplist entry holding `it` after an entry of `prev` bytes
/// (as the writer encodes it for a Redis 6.2 target).
fn zl_entry(it: &Item<'_>, prev: u64) -> u64 {
    let prev = usize::try_from(prev).unwrap_or(usize::MAX);
    rdbkit_writer::ziplist::entry_len(it, prev, rdbkit_writer::ziplist::IntForms::All) as u64
}

/// The text a server stores for a zset score in a listpack or ziplist:
/// integral scores as integers, others as their shortest decimal text.
fn score_item(s: f64) -> Item<'static> {
    if s.fract() == 0.0 && s.abs() < 1e17 && !(s == 0.0 && s.is_sign_negative()) {
        Item::Int(s as i64)
    } else {
        Item::Bytes(crate::json::score(s).into_bytes().into())
    }
}

fn sds_hdr(len: u64) -> u64 {
    match len {
        0 => 3, // sdsnewlen never makes an empty type-5 string
        1..=31 => 1,
        32..=255 => 3,
        256..=65535 => 5,
        _ => 9,
    }
}

fn next_pow2(n: u64) -> u64 {
    n.max(4).next_power_of_two()
}

impl Model {
    /// The model for `target`'s internals and `alloc`'s size classes.
    pub fn new(target: Target, alloc: Alloc) -> Model {
        let v = target.version();
        let line = if target.is_valkey() || v >= (8, 0) {
            Gen::R80
        } else if v >= (7, 2) {
            Gen::R72
        } else if v >= (7, 0) {
            Gen::R70
        } else {
            Gen::R62
        };
        let mut m = Model {
            line,
            alloc,
            hfe: target.has_hash_field_ttl(),
            embed_limit: if target.is_valkey() && v >= (9, 0) {
                128
            } else {
                64
            },
            zsl_node: 0.0,
            valkey_hashtable: target.is_valkey() && v >= (8, 1),
        };
        // E[class(24 + 16·L)] for P(L) = 3/4 · (1/4)^(L-1), L capped at 32
        // (zslRandomLevel); the tail beyond 12 levels is negligible.
        let mut e = 0.0;
        let mut p = 0.75;
        for l in 1..=12u64 {
            e += p * m.alloc.size(24 + 16 * l) as f64;
            p *= 0.25;
        }
        m.zsl_node = e;
        m
    }

    fn a(&self, n: u64) -> u64 {
        self.alloc.size(n)
    }

    /// Allocation of an sds string of `len` bytes.
    fn sds(&self, len: u64) -> u64 {
        self.a(sds_hdr(len) + len + 1)
    }

    /// The key's own cost: `dictEntry` + key sds, or (Redis 8, Valkey 8+)
    /// the value object with the key embedded. `embedded` is extra bytes
    /// inside that object (an embstr value).
    fn key_cost(&self, key_len: u64, expire: bool, embedded: u64) -> u64 {
        match self.line {
            Gen::R80 => {
                let kv = ROBJ
                    + if expire { 8 } else { 0 }
                    + 1
                    + sds_hdr(key_len)
                    + key_len
                    + 1
                    + embedded;
                self.a(kv)
            }
            _ => DICT_ENTRY + self.sds(key_len) + ROBJ + embedded,
        }
    }

    /// Cost of a set's or zset's table with `n` elements, given `ht`, the
    /// sum of per-element costs including a `dictEntry` each.
    fn member_table(&self, n: u64, ht: f64) -> u64 {
        if self.valkey_hashtable {
            64 * n.div_ceil(7).max(1).next_power_of_two() + ht as u64 - DICT_ENTRY * n
        } else {
            self.dict(n) + ht as u64
        }
    }

    /// Cost of a dict with `n` entries (the struct and its buckets).
    /// The keyspace's own tables for `keys` keys of which `expires` have an
    /// expiry: the main table's buckets and the expires table (a
    /// `dictEntry` per expiring key up to 7.4; Redis 8 and Valkey keep the
    /// key object itself in both tables).
    pub fn keyspace(&self, keys: u64, expires: u64) -> u64 {
        let main = 8 * next_pow2(keys);
        let exp = match self.line {
            Gen::R80 => 8 * next_pow2(expires),
            _ if self.valkey_hashtable => 8 * next_pow2(expires),
            _ => self.dict(expires) + DICT_ENTRY * expires,
        };
        if keys == 0 { 0 } else { main + exp }
    }

    fn dict(&self, n: u64) -> u64 {
        let dict = if self.line == Gen::R62 { 96 } else { 56 };
        dict + 8 * next_pow2(n)
    }

    fn lp_alloc(&self, entries: u64) -> u64 {
        // 6-byte header + entries + end byte.
        self.a(entries + 7)
    }

    fn zl_len(&self, entries: u64) -> u64 {
        // ≤ 6.2 counts ziplistBlobLen: the exact length (10-byte header + end).
        entries + 11
    }

    fn scan_item(&self, s: &mut Scan, it: &Item<'_>, ht_cost: bool) {
        let l = it.len() as u64;
        s.largest = s.largest.max(l);
        s.lp += lp_entry(it);
        let z = zl_entry(it, s.zl_prev);
        s.zl += z;
        s.zl_prev = z;
        match it.as_i64() {
            Some(v) => {
                let w = if i16::try_from(v).is_ok() {
                    2
                } else if i32::try_from(v).is_ok() {
                    4
                } else {
                    8
                };
                s.int_width = s.int_width.max(w);
            }
            None => s.all_int = false,
        }
        if ht_cost {
            s.ht += self.sds(l) as f64;
        }
    }

    /// Estimate one key.
    pub fn key(&self, e: &Entry<'_>) -> crate::Result<KeyMemory> {
        let value = e.value.decode()?;
        let key_len = e.key.len() as u64;
        let expire = e.expire_ms.is_some();
        let kind = value.kind();
        let type_name = match kind {
            ValueKind::String => "string",
            ValueKind::List => "list",
            ValueKind::Set => "set",
            ValueKind::ZSet => "sortedset",
            ValueKind::Hash => "hash",
            ValueKind::Stream => "stream",
            ValueKind::Module => "module",
        };
        let mut s = Scan {
            all_int: true,
            ..Scan::default()
        };
        let (encoding, body): (&'static str, u64) = match &value {
            Value::String(v) => {
                let len = v.len() as u64;
                let is_int = len <= 20 && rdbkit_parser::parse_canonical_i64(v).is_some();
                let (enc, bytes) = if is_int {
                    ("int", self.key_cost(key_len, expire, 0))
                } else {
                    match self.line {
                        Gen::R62 if len <= 44 => {
                            // 6.2's MEMORY USAGE: sdslen + 2 + sizeof(robj).
                            ("embstr", DICT_ENTRY + self.sds(key_len) + len + 2 + ROBJ)
                        }
                        Gen::R70 | Gen::R72 if len <= 44 => (
                            "embstr",
                            DICT_ENTRY + self.sds(key_len) + self.a(ROBJ + 3 + len + 1),
                        ),
                        Gen::R80 => {
                            let embedded = 3 + len + 1;
                            let kv = ROBJ
                                + if expire { 8 } else { 0 }
                                + 2
                                + sds_hdr(key_len)
                                + key_len
                                + embedded;
                            if kv <= self.embed_limit {
                                ("embstr", self.a(kv))
                            } else {
                                ("raw", self.key_cost(key_len, expire, 0) + self.sds(len))
                            }
                        }
                        _ => ("raw", self.key_cost(key_len, expire, 0) + self.sds(len)),
                    }
                };
                return Ok(KeyMemory {
                    type_name,
                    encoding: enc,
                    bytes,
                    elements: len,
                    largest: len,
                });
            }
            Value::List(l) => self.list(l, &mut s)?,
            Value::Set(set) => {
                for it in set.iter()? {
                    let it = it?;
                    s.n += 1;
                    self.scan_item(&mut s, &it, true);
                    s.ht += DICT_ENTRY as f64;
                }
                let small = s.largest <= 64 && s.n <= 128;
                if s.all_int && s.n <= 512 {
                    let is = 8 + s.int_width * s.n;
                    let bytes = if self.line == Gen::R62 {
                        is
                    } else {
                        self.a(is)
                    };
                    ("intset", bytes)
                } else if small && self.line >= Gen::R72 {
                    ("listpack", self.lp_alloc(s.lp))
                } else {
                    ("hashtable", self.member_table(s.n, s.ht))
                }
            }
            Value::ZSet(z) => {
                for r in z.iter()? {
                    let (m, score) = r?;
                    s.n += 1;
                    self.scan_item(&mut s, &m, true);
                    let largest = s.largest;
                    let sc = score_item(score);
                    s.lp += lp_entry(&sc);
                    let zl = zl_entry(&sc, s.zl_prev);
                    s.zl += zl;
                    s.zl_prev = zl;
                    s.largest = largest;
                    s.ht += DICT_ENTRY as f64 + self.zsl_node;
                }
                if s.n <= 128 && s.largest <= 64 {
                    match self.line {
                        Gen::R62 => ("ziplist", self.zl_len(s.zl)),
                        _ => ("listpack", self.lp_alloc(s.lp)),
                    }
                } else {
                    // zset + zskiplist + dict + the 32-level header node.
                    let fixed = 16 + 32 + self.a(24 + 16 * 32);
                    ("skiplist", fixed + self.member_table(s.n, s.ht))
                }
            }
            Value::Hash(h) => {
                let mut ttls = 0u64;
                for r in h.iter()? {
                    let f = r?;
                    s.n += 1;
                    self.scan_item(&mut s, &f.field, true);
                    self.scan_item(&mut s, &f.value, true);
                    s.ht += DICT_ENTRY as f64;
                    if f.expire_ms.is_some() && self.hfe {
                        ttls += 1;
                        // listpackex: a third entry with the TTL (an i64).
                        s.lp += 10;
                        // hashtable: the field carries its expiry (8 bytes + metadata).
                        s.ht += 16.0;
                    }
                }
                let limit = match self.line {
                    Gen::R62 => 512,
                    _ => 512,
                };
                if s.n <= limit && s.largest <= 64 {
                    match self.line {
                        Gen::R62 => ("ziplist", self.zl_len(s.zl)),
                        // Valkey 9 keeps hashes with field TTLs in its hashtable.
                        _ if ttls > 0 && self.valkey_hashtable => {
                            ("hashtable", self.dict(s.n) + s.ht as u64 + 64)
                        }
                        _ if ttls > 0 => ("listpackex", 40 + self.lp_alloc(s.lp)),
                        _ => ("listpack", self.lp_alloc(s.lp)),
                    }
                } else {
                    let meta = if ttls > 0 { 64 } else { 0 };
                    ("hashtable", self.dict(s.n) + s.ht as u64 + meta)
                }
            }
            Value::Stream(st) => self.stream(st, &mut s)?,
            Value::Module(m) => {
                let n = m.raw_items().len() as u64;
                s.n = 1;
                s.largest = n;
                ("module", n)
            }
        };
        Ok(KeyMemory {
            type_name,
            encoding,
            bytes: self.key_cost(key_len, expire, 0) + body,
            elements: s.n,
            largest: s.largest,
        })
    }

    fn list(
        &self,
        l: &rdbkit_parser::List<'_>,
        s: &mut Scan,
    ) -> crate::Result<(&'static str, u64)> {
        let node_hdr = if self.line == Gen::R62 { 32 } else { 40 };
        let mut nodes_cost = 0u64;
        let mut nodes = 0u64;
        // Nodes as stored in the file: the loader keeps quicklist nodes as
        // they are (converting ziplists to listpacks on 7.0+).
        if let Some(file_nodes) = l.nodes() {
            for node in file_nodes {
                let (zl, lp, n, plain) = self.node_sizes(node, s)?;
                s.n += n;
                nodes_cost += node_hdr
                    + if plain {
                        self.a(lp)
                    } else if self.line == Gen::R62 {
                        self.zl_len(zl)
                    } else {
                        self.lp_alloc(lp)
                    };
            }
        } else {
            // Linked lists and single ziplists (RDB ≤ 7) are rebuilt by
            // pushing: new node when the 8 KB fill limit would be passed.
            let (mut cur_lp, mut cur_zl, mut prev) = (0u64, 0u64, 0u64);
            for it in l.iter()? {
                let it = it?;
                s.n += 1;
                s.largest = s.largest.max(it.len() as u64);
                let e = lp_entry(&it);
                let z = zl_entry(&it, prev);
                let size = if self.line == Gen::R62 {
                    cur_zl
                } else {
                    cur_lp
                };
                if nodes == 0 || size + e > 8192 {
                    if nodes > 0 {
                        nodes_cost += node_hdr + self.node_bytes(cur_zl, cur_lp);
                    }
                    nodes += 1;
                    cur_lp = 0;
                    cur_zl = 0;
                }
                cur_lp += e;
                cur_zl += z;
                prev = z;
                s.lp += e;
            }
            if nodes > 0 {
                nodes_cost += node_hdr + self.node_bytes(cur_zl, cur_lp);
            }
        }
        // 7.2+ turns a quicklist that fits one 8 KB listpack into a plain
        // listpack when loading it; lists from RDB <= 7 (linked lists and
        // single ziplists) stay quicklists.
        if self.line >= Gen::R72 && l.nodes().is_some() && s.lp + 7 <= 8192 {
            return Ok(("listpack", self.lp_alloc(s.lp)));
        }
        Ok(("quicklist", 40 + nodes_cost))
    }

    fn node_bytes(&self, zl: u64, lp: u64) -> u64 {
        if self.line == Gen::R62 {
            self.zl_len(zl)
        } else {
            self.lp_alloc(lp)
        }
    }

    /// (ziplist entry bytes, listpack entry bytes or plain length, elements, plain).
    fn node_sizes(
        &self,
        node: &ListNode<'_>,
        s: &mut Scan,
    ) -> crate::Result<(u64, u64, u64, bool)> {
        let bytes = node.data()?;
        let data: &[u8] = &bytes;
        let (mut zl, mut lp, mut n, mut prev) = (0u64, 0u64, 0u64, 0u64);
        let mut add = |it: Item<'_>, s: &mut Scan| {
            s.largest = s.largest.max(it.len() as u64);
            let e = lp_entry(&it);
            lp += e;
            s.lp += e;
            let z = zl_entry(&it, prev);
            zl += z;
            prev = z;
            n += 1;
        };
        match node.container() {
            NodeContainer::Plain => {
                s.largest = s.largest.max(data.len() as u64);
                s.lp += data.len() as u64 + 10;
                return Ok((data.len() as u64, data.len() as u64, 1, true));
            }
            NodeContainer::Ziplist => {
                for it in Ziplist::parse(data, 0)?.entries() {
                    add(it?, s);
                }
            }
            NodeContainer::Listpack => {
                for it in Listpack::parse(data, 0)?.entries() {
                    add(it?, s);
                }
            }
        }
        Ok((zl, lp, n, false))
    }

    fn stream(
        &self,
        st: &rdbkit_parser::Stream<'_>,
        s: &mut Scan,
    ) -> crate::Result<(&'static str, u64)> {
        // streamRadixTreeMemoryUsage: 16 per element + (4 + 8·30) per node;
        // we assume one node per element plus the root.
        let rax = |elements: u64| 16 * elements + 244 * (elements + 1);
        // PELs hold single IDs that split the tree more: about two nodes each.
        let pel = |elements: u64| 16 * elements + 244 * (2 * elements + 1);
        let stream_struct = if self.line == Gen::R62 { 40 } else { 80 };
        let mut total = stream_struct + rax(st.nodes.len() as u64);
        for node in &st.nodes {
            total += node.listpack().len() as u64;
        }
        for r in st.entries() {
            let e = r?;
            if e.deleted {
                continue;
            }
            s.n += 1;
            for (f, v) in &e.fields {
                s.largest = s.largest.max(f.len() as u64).max(v.len() as u64);
            }
        }
        let cg = if self.line == Gen::R62 { 32 } else { 40 };
        let consumer = if self.line >= Gen::R72 { 32 } else { 24 };
        for g in &st.groups {
            total += cg + pel(g.pending.len() as u64) + 24 * g.pending.len() as u64;
            for c in &g.consumers {
                total += consumer + c.name.len() as u64 + pel(c.pending.len() as u64);
            }
        }
        Ok(("stream", total))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes() {
        let j = |n| Alloc::Jemalloc.size(n);
        assert_eq!(
            [j(1), j(9), j(17), j(33), j(65), j(129)],
            [8, 16, 24, 40, 80, 160]
        );
        assert_eq!(j(16389), 20480);
        assert_eq!(j(70010), 81920);
        let j16 = |n| Alloc::Jemalloc16.size(n);
        assert_eq!(
            [j16(7), j16(9), j16(17), j16(33), j16(41)],
            [8, 16, 32, 48, 48]
        );
        let g = |n| Alloc::Libc.size(n);
        assert_eq!(
            [g(1), g(24), g(25), g(68), g(70010)],
            [24, 24, 40, 72, 70024]
        );
    }

    #[test]
    fn listpack_and_ziplist_entries() {
        let b = |s: &'static str| Item::Bytes(s.as_bytes().into());
        assert_eq!(lp_entry(&Item::Int(5)), 2);
        assert_eq!(lp_entry(&b("1000")), 3);
        assert_eq!(lp_entry(&b("abc")), 5);
        assert_eq!(lp_entry(&Item::Int(i64::MAX)), 10);
        assert_eq!(zl_entry(&Item::Int(5), 0), 2);
        assert_eq!(zl_entry(&b("abc"), 300), 5 + 4);
        assert!(matches!(score_item(3.0), Item::Int(3)));
        assert!(matches!(score_item(1.5), Item::Bytes(_)));
    }
}
