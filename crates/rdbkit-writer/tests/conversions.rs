//! Every fixture to every target: the output loads (parses, checksum OK),
//! uses only tags the target knows, and holds the source's logical contents
//! minus exactly the reported losses. The default policy refuses exactly the
//! lossy conversions.

use std::collections::{BTreeMap, BTreeSet};

use rdbkit_parser::{RdbReader, RdbVersion, StreamId};
use rdbkit_writer::*;

use crate::model::*;

const TARGETS: [u32; 11] = [6, 7, 8, 9, 10, 11, 12, 13, 14, 80, 81];

fn ctime_ms(m: &Model) -> i64 {
    m.aux
        .get(&b"ctime"[..])
        .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
        .map_or(1_700_000_000_000, |s| s * 1000)
}

pub(crate) fn run(data: &[u8], o: &ConvertOptions) -> Result<(Vec<u8>, Report), ConvertError> {
    convert(&mut RdbReader::new(data).unwrap(), Vec::new(), o)
}

pub(crate) fn warn(target: u32, now_ms: i64) -> ConvertOptions {
    let mut o = ConvertOptions::new(RdbVersion(target));
    o.on_loss = LossPolicy::Warn;
    o.now_ms = now_ms;
    o
}

pub(crate) fn stream_level(ty: u8) -> u8 {
    match ty {
        15 => 1,
        19 => 2,
        21 => 3,
        26 => 4,
        27 => 5,
        _ => panic!("not a stream type {ty}"),
    }
}

pub(crate) fn max_stream_level(target: u32) -> u8 {
    match target {
        80.. => 3,
        9 => 1,
        10 => 2,
        11 | 12 => 3,
        13 => 4,
        14.. => 5,
        _ => 0,
    }
}

fn has_hfe(target: u32) -> bool {
    target >= 12
}

/// Redis's estimate of a group's entries_read when the file lacks it,
/// re-derived here from the format reference (§4.7.3) for the v1 loader:
/// entries_added = length, no deleted high mark, first ID from the data.
fn v1_estimate(s: &LStream, id: StreamId) -> Option<u64> {
    let added = s.length;
    let first = s
        .entries
        .iter()
        .find(|e| !e.1)
        .map(|e| e.0)
        .unwrap_or_default();
    if added == 0 {
        return Some(0);
    }
    if id == s.last_id {
        return Some(added);
    }
    if id > s.last_id {
        return None;
    }
    if id < first {
        return Some(0);
    }
    if id == first {
        return Some(1);
    }
    None
}

type Key = (u64, Bytes);

/// Check one conversion; returns the output.
pub(crate) fn check(name: &str, data: &[u8], src: &Model, o: &ConvertOptions) -> Vec<u8> {
    let t = o.target.0;
    let ctx = format!("{name} -> {t} ({:?}, now {})", o.field_ttl, o.now_ms);
    let (out, report) = run(data, o).unwrap_or_else(|e| panic!("{ctx}: {e}"));
    let planned = plan(&mut RdbReader::new(data).unwrap(), o).unwrap();
    assert_eq!(planned, report, "{ctx}: plan and convert disagree");

    // The header, the checksum, and only tags the target knows.
    let expect_header = if t >= 80 {
        format!("VALKEY{t:03}")
    } else {
        format!("REDIS{t:04}")
    };
    assert_eq!(&out[..9], expect_header.as_bytes(), "{ctx}");
    let got = model(&out);
    match got.checksum {
        Some(rdbkit_parser::Checksum::Verified(_)) => assert!(t >= 5, "{ctx}"),
        Some(rdbkit_parser::Checksum::Absent) => assert!(t < 5, "{ctx}"),
        other => panic!("{ctx}: checksum {other:?}"),
    }
    let bad_types: Vec<_> = got.types.difference(&loader_types(t)).copied().collect();
    assert!(
        bad_types.is_empty(),
        "{ctx}: value types {bad_types:?} unknown to the target"
    );
    let bad_ops: Vec<_> = got
        .opcodes
        .difference(&loader_opcodes(t))
        .copied()
        .collect();
    assert!(
        bad_ops.is_empty(),
        "{ctx}: opcodes {bad_ops:?} unknown to the target"
    );

    // Apply the reported losses to the source.
    let mut expected = src.entries.clone();
    let mut stream_losses: BTreeMap<Key, BTreeSet<LossKind>> = BTreeMap::new();
    let mut function_losses = 0;
    let mut module_aux_losses = 0;
    assert!(!report.losses_truncated(), "{ctx}");
    for loss in &report.losses {
        let Some(key) = &loss.key else {
            match loss.kind {
                LossKind::Function => function_losses += 1,
                LossKind::ModuleAux => module_aux_losses += 1,
                LossKind::SlotImport => assert!(t < 80, "{ctx}"),
                other => panic!("{ctx}: unexpected keyless loss {other}"),
            }
            continue;
        };
        let k = (loss.db, key.clone());
        let entry = expected
            .get(&k)
            .unwrap_or_else(|| panic!("{ctx}: loss for an unknown key {loss}"))
            .clone();
        match loss.kind {
            LossKind::Stream => {
                assert!(
                    matches!(entry.value, LValue::Stream(_)) && t < 9,
                    "{ctx}: {loss}"
                );
                expected.remove(&k);
            }
            LossKind::ModuleValue => {
                assert!(matches!(entry.value, LValue::Module(..)), "{ctx}: {loss}");
                assert!(t < 8 || o.modules == ModulePolicy::Drop, "{ctx}: {loss}");
                expected.remove(&k);
            }
            LossKind::Expiry => {
                assert!(t < 3 && entry.expire_ms.is_some(), "{ctx}: {loss}");
                expected.remove(&k);
            }
            LossKind::KeyMetadata => assert!(!(13..80).contains(&t), "{ctx}: {loss}"),
            LossKind::HashWithFieldTtls | LossKind::HashAllFieldsExpired | LossKind::FieldTtls => {
                let LValue::Hash(h) = &entry.value else {
                    panic!("{ctx}: {loss}")
                };
                assert!(
                    !has_hfe(t),
                    "{ctx}: TTL loss although the target has field TTLs"
                );
                assert!(
                    h.values().any(|(_, e)| e.is_some()),
                    "{ctx}: {loss} but no field has a TTL"
                );
                let now = o.now_ms;
                let live: BTreeMap<Bytes, (Bytes, Option<i64>)> = h
                    .iter()
                    .filter(|(_, (_, e))| e.is_none_or(|e| e > now))
                    .map(|(f, (v, _))| (f.clone(), (v.clone(), None)))
                    .collect();
                match loss.kind {
                    LossKind::HashWithFieldTtls => {
                        assert_eq!(o.field_ttl, FieldTtlPolicy::DropKey, "{ctx}");
                        expected.remove(&k);
                    }
                    LossKind::HashAllFieldsExpired => {
                        assert!(live.is_empty(), "{ctx}: {loss}");
                        expected.remove(&k);
                    }
                    _ => {
                        assert!(!live.is_empty(), "{ctx}: {loss}");
                        let kept_ttls: Vec<i64> = h
                            .values()
                            .filter_map(|(_, e)| *e)
                            .filter(|&e| e > now)
                            .collect();
                        let every = h
                            .values()
                            .filter(|(_, e)| e.is_none_or(|e| e > now))
                            .all(|(_, e)| e.is_some());
                        let key_ttl = match o.field_ttl {
                            FieldTtlPolicy::KeyTtlMin => kept_ttls.iter().copied().min(),
                            FieldTtlPolicy::KeyTtlMax if every => kept_ttls.iter().copied().max(),
                            _ => None,
                        };
                        let e = expected.get_mut(&k).unwrap();
                        if let Some(kt) = key_ttl {
                            e.expire_ms = Some(e.expire_ms.map_or(kt, |x| x.min(kt)));
                        }
                        e.value = LValue::Hash(live);
                    }
                }
            }
            LossKind::StreamMetadata
            | LossKind::StreamActiveTime
            | LossKind::StreamIdmp
            | LossKind::StreamNacks => {
                assert!(matches!(entry.value, LValue::Stream(_)), "{ctx}: {loss}");
                stream_losses.entry(k).or_default().insert(loss.kind);
            }
            other => panic!("{ctx}: unexpected loss {other}: {loss}"),
        }
    }

    // Functions and AUX fields.
    if t >= 10 {
        assert_eq!(got.functions, src.functions, "{ctx}");
        assert_eq!(function_losses, 0, "{ctx}");
    } else {
        assert!(got.functions.is_empty(), "{ctx}");
        assert_eq!(function_losses, src.functions.len(), "{ctx}");
    }
    let keeps_module_aux = t >= 9 && o.modules == ModulePolicy::Keep;
    assert_eq!(
        got.module_aux,
        if keeps_module_aux { src.module_aux } else { 0 },
        "{ctx}"
    );
    assert_eq!(
        module_aux_losses,
        if keeps_module_aux { 0 } else { src.module_aux },
        "{ctx}"
    );
    let mut aux = src.aux.clone();
    aux.retain(|k, _| !k.eq_ignore_ascii_case(b"lua"));
    if t < 7 {
        aux.clear();
    }
    assert_eq!(got.aux, aux, "{ctx}");

    // Keys.
    let want_keys: BTreeSet<&Key> = expected.keys().collect();
    let got_keys: BTreeSet<&Key> = got.entries.keys().collect();
    assert_eq!(want_keys, got_keys, "{ctx}: key sets differ");
    for (k, want) in &expected {
        let have = &got.entries[k];
        let kctx = format!(
            "{ctx}: key {:?} in db {}",
            String::from_utf8_lossy(&k.1),
            k.0
        );
        if t >= 3 {
            assert_eq!(have.expire_ms, want.expire_ms, "{kctx}: expiry");
        } else {
            // EXPIRETIME seconds, rounded up.
            let up = want.expire_ms.map(|ms| {
                ms.div_euclid(1000) * 1000 + if ms.rem_euclid(1000) != 0 { 1000 } else { 0 }
            });
            assert_eq!(have.expire_ms, up, "{kctx}: expiry");
        }
        if t >= 9 {
            assert_eq!(
                (have.lru_idle, have.lfu_freq),
                (want.lru_idle, want.lfu_freq),
                "{kctx}"
            );
        }
        match (&want.value, &have.value) {
            (LValue::Stream(ws), LValue::Stream(hs)) => {
                let losses = stream_losses.remove(k).unwrap_or_default();
                check_stream(&kctx, t, ws, hs, &losses);
            }
            (LValue::Hash(wh), LValue::Hash(hh)) => {
                if !has_hfe(t) {
                    assert!(
                        wh.values().all(|(_, e)| e.is_none()),
                        "{kctx}: the source has field TTLs the target cannot hold, and no loss was reported"
                    );
                }
                assert_eq!(hh, wh, "{kctx}");
            }
            (w, h) => assert_eq!(h, w, "{kctx}"),
        }
    }
    assert!(
        stream_losses.is_empty(),
        "{ctx}: stream losses for keys not written: {stream_losses:?}"
    );

    // The default policy refuses exactly the lossy conversions.
    let mut strict = o.clone();
    strict.on_loss = LossPolicy::Error;
    match run(data, &strict) {
        Ok((bytes, r)) => {
            assert!(
                report.is_lossless(),
                "{ctx}: the error policy accepted a lossy conversion"
            );
            assert_eq!(bytes, out, "{ctx}");
            assert_eq!(r, report, "{ctx}");
        }
        Err(ConvertError::Lossy(r)) => {
            assert!(
                !report.is_lossless(),
                "{ctx}: refused a lossless conversion"
            );
            assert_eq!(
                r.losses, report.losses,
                "{ctx}: the refusal lists other losses"
            );
        }
        Err(e) => panic!("{ctx}: {e}"),
    }

    // A same-version conversion with nothing dropped is byte-identical.
    if t == src.version && report.notes.is_empty() && report.is_lossless() {
        assert_eq!(out, data, "{ctx}: same-version output differs");
    }
    out
}

fn check_stream(kctx: &str, t: u32, want: &LStream, have: &LStream, losses: &BTreeSet<LossKind>) {
    let from = stream_level(want.ty);
    let to = stream_level(have.ty);
    assert_eq!(to, from.min(max_stream_level(t)), "{kctx}: stream layout");
    assert_eq!(have.entries, want.entries, "{kctx}: entries");
    assert_eq!(
        (have.length, have.last_id),
        (want.length, want.last_id),
        "{kctx}"
    );
    assert_eq!(
        have.groups.keys().collect::<Vec<_>>(),
        want.groups.keys().collect::<Vec<_>>(),
        "{kctx}"
    );

    // v2 metadata: kept, or lost exactly when the v1 loader's reconstruction differs.
    if to >= 2 {
        assert_eq!(
            (have.first_id, have.max_deleted_id, have.entries_added),
            (want.first_id, want.max_deleted_id, want.entries_added),
            "{kctx}"
        );
    }
    let mut meta_differs = false;
    if to == 1 && from >= 2 {
        meta_differs |= want.entries_added != Some(want.length);
        meta_differs |= want
            .max_deleted_id
            .is_some_and(|m| m != StreamId::default());
        for g in want.groups.values() {
            meta_differs |= v1_estimate(want, g.last_delivered_id) != g.entries_read;
        }
    }
    assert_eq!(
        meta_differs,
        losses.contains(&LossKind::StreamMetadata),
        "{kctx}: stream metadata loss report"
    );

    let mut active_differs = false;
    let mut nacks_lost = false;
    for (name, wg) in &want.groups {
        let hg = &have.groups[name];
        assert_eq!(hg.last_delivered_id, wg.last_delivered_id, "{kctx}");
        assert_eq!(hg.pending, wg.pending, "{kctx}");
        if to >= 2 {
            assert_eq!(hg.entries_read, wg.entries_read, "{kctx}");
        } else {
            assert_eq!(hg.entries_read, None, "{kctx}");
        }
        if to >= 5 {
            assert_eq!(hg.nacks, wg.nacks, "{kctx}");
        } else {
            nacks_lost |= !wg.nacks.is_empty();
        }
        assert_eq!(
            hg.consumers.keys().collect::<Vec<_>>(),
            wg.consumers.keys().collect::<Vec<_>>(),
            "{kctx}"
        );
        for (cname, wc) in &wg.consumers {
            let hc = &hg.consumers[cname];
            assert_eq!(
                (hc.seen_time, &hc.pending),
                (wc.seen_time, &wc.pending),
                "{kctx}"
            );
            if to >= 3 {
                assert_eq!(hc.active_time, wc.active_time, "{kctx}");
            } else {
                assert_eq!(hc.active_time, None, "{kctx}");
                active_differs |= wc.active_time.is_some_and(|a| a != wc.seen_time);
            }
        }
    }
    assert_eq!(
        active_differs,
        losses.contains(&LossKind::StreamActiveTime),
        "{kctx}: active-time loss report"
    );
    assert_eq!(
        nacks_lost,
        losses.contains(&LossKind::StreamNacks),
        "{kctx}"
    );
}

/// Same keys, values and expiries (type ids may differ).
pub(crate) fn assert_same_contents(a: &Model, b: &Model, ctx: &str) {
    let ka: Vec<&Key> = a.entries.keys().collect();
    let kb: Vec<&Key> = b.entries.keys().collect();
    assert_eq!(ka, kb, "{ctx}: key sets differ");
    for (k, ea) in &a.entries {
        let eb = &b.entries[k];
        let kctx = format!(
            "{ctx}: key {:?} in db {}",
            String::from_utf8_lossy(&k.1),
            k.0
        );
        assert_eq!(ea.expire_ms, eb.expire_ms, "{kctx}");
        match (&ea.value, &eb.value) {
            (LValue::Stream(x), LValue::Stream(y)) => {
                let mut y = y.clone();
                y.ty = x.ty;
                assert_eq!(x, &y, "{kctx}");
            }
            (x, y) => assert_eq!(x, y, "{kctx}"),
        }
    }
}

#[test]
fn every_fixture_to_every_target() {
    for (name, data) in fixtures() {
        let src = model(&data);
        let now = ctime_ms(&src);
        for t in TARGETS {
            check(&name, &data, &src, &warn(t, now));
        }
    }
}

#[test]
fn field_ttl_policies() {
    for (name, data) in fixtures() {
        let src = model(&data);
        let has_ttl = src
            .entries
            .values()
            .any(|e| matches!(&e.value, LValue::Hash(h) if h.values().any(|(_, t)| t.is_some())));
        if !has_ttl {
            continue;
        }
        let ctime = ctime_ms(&src);
        let ttls: BTreeSet<i64> = src
            .entries
            .values()
            .filter_map(|e| match &e.value {
                LValue::Hash(h) => Some(h.values().filter_map(|(_, t)| *t).collect::<Vec<_>>()),
                _ => None,
            })
            .flatten()
            .collect();
        // Reference times: before everything, between field expiries, after everything.
        let middle = ttls.iter().nth(ttls.len() / 2).copied().unwrap_or(ctime);
        for now in [0, ctime, middle, i64::MAX] {
            for policy in [
                FieldTtlPolicy::Strip,
                FieldTtlPolicy::KeyTtlMin,
                FieldTtlPolicy::KeyTtlMax,
                FieldTtlPolicy::DropKey,
            ] {
                for t in [9, 11] {
                    let mut o = warn(t, now);
                    o.field_ttl = policy;
                    check(&name, &data, &src, &o);
                }
            }
        }
        // Targets with field TTLs keep them whatever the policy and time.
        for t in [12, 80] {
            let mut o = warn(t, i64::MAX);
            o.field_ttl = FieldTtlPolicy::DropKey;
            let (_, r) = run(&data, &o).unwrap();
            assert!(r.is_lossless(), "{name} -> {t}: {r}");
        }
    }
}

#[test]
fn hash_field_ttls_survive_redis_valkey_round_trips() {
    for (name, data) in fixtures() {
        let src = model(&data);
        if src.version < 12 {
            continue;
        }
        let (other, back) = if src.version >= 80 {
            (12, 80)
        } else {
            (80, src.version)
        };
        let (mid, r1) = run(&data, &warn(other, 0)).unwrap();
        let (end, r2) = run(&mid, &warn(back, 0)).unwrap();
        assert!(r1.is_lossless() && r2.is_lossless(), "{name}: {r1} {r2}");
        assert_same_contents(&model(&end), &src, &format!("{name} -> {other} -> {back}"));
    }
}

#[test]
fn chained_downgrades_equal_direct_ones() {
    for (name, data) in fixtures() {
        let src = model(&data);
        let now = ctime_ms(&src);
        let (direct, _) = run(&data, &warn(9, now)).unwrap();
        let (step, _) = run(&data, &warn(11, now)).unwrap();
        let (chained, _) = run(&step, &warn(9, now)).unwrap();
        assert_same_contents(&model(&chained), &model(&direct), &name);
    }
}

#[test]
fn upgrades_copy_every_record() {
    for (name, data) in fixtures() {
        let src = model(&data);
        if src.version >= 80 {
            continue;
        }
        let (out, report) = run(&data, &warn(12, 0)).unwrap();
        assert!(
            report.is_lossless() && report.stats.rewritten == 0,
            "{name}: {report}"
        );
        assert_eq!(&out[9..out.len() - 8], &data[9..data.len() - 8], "{name}");
    }
}

#[test]
fn filtering_keeps_only_selected_keys() {
    let (name, data) = fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("redis-7.2"))
        .unwrap();
    let o = warn(11, 0);
    let (out, report) =
        convert_filtered(&mut RdbReader::new(&data).unwrap(), Vec::new(), &o, |e| {
            e.key.starts_with(b"hash:")
        })
        .unwrap();
    let got = model(&out);
    assert!(!got.entries.is_empty(), "{name}");
    assert!(
        got.entries.keys().all(|(_, k)| k.starts_with(b"hash:")),
        "{name}"
    );
    assert_eq!(report.stats.keys_out as usize, got.entries.len());
    assert_eq!(report.stats.keys_in, model(&data).entries.len() as u64);
    assert_eq!(
        report.stats.keys_filtered + report.stats.keys_out,
        report.stats.keys_in
    );
}
