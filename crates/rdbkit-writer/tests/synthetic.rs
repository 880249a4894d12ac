//! Hand-built files for what the real fixtures lack: module values and
//! module AUX data, eviction hints, the `lua` AUX field, Redis 8.6 key
//! metadata and IDMP streams, Redis 8.8 NACK zones, Valkey SLOT_IMPORT and
//! HASH_2, 7.0 release-candidate functions, consumers whose active time
//! differs from their seen time.

use std::borrow::Cow;

use rdbkit_parser::format::*;
use rdbkit_parser::{
    ModuleId, RdbReader, RdbType, RdbVersion, RecordKind, StreamId, StreamIdmp, Value,
};
use rdbkit_testkit::build::{len, string};
use rdbkit_writer::*;

use crate::conversions::{assert_same_contents, check, run, warn};
use crate::model::*;

fn file(v: u32, records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = RdbVersion(v).header().unwrap().to_vec();
    for r in records {
        out.extend_from_slice(r);
    }
    out.push(0xff);
    if v >= 5 {
        let crc = rdbkit_parser::crc64::crc64(&out);
        out.extend_from_slice(&crc.to_le_bytes());
    }
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn notes(r: &Report, kind: NoteKind) -> Vec<(String, u64)> {
    r.notes
        .iter()
        .filter(|n| n.kind == kind)
        .map(|n| (n.detail.clone(), n.count))
        .collect()
}

fn count(r: &Report, kind: LossKind) -> u64 {
    r.loss_counts.get(&kind).copied().unwrap_or(0)
}

/// Every conversion target, plus the old ones without checksum / ms expiry.
const ALL: [u32; 13] = [2, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 80, 81];

fn check_all(name: &str, data: &[u8]) {
    let src = model(data);
    for t in ALL {
        check(name, data, &src, &warn(t, 1_800_000_000_000));
    }
}

#[test]
fn modules_hints_and_the_lua_aux_field() {
    let bloom = ModuleId::from_name("MBbloom--", 2).unwrap().0;
    let data = file(
        9,
        &[
            cat(&[&[0xfa], &string(b"redis-ver"), &string(b"6.2.14")]),
            cat(&[&[0xfa], &string(b"lua"), &string(b"return 1 +")]),
            cat(&[
                &[0xf7],
                &len(bloom),
                &len(2),
                &len(1),
                &len(2),
                &len(7),
                &len(0),
            ]),
            cat(&[&[0xfe], &len(0), &[0xfb], &len(5), &len(1)]),
            cat(&[&[0xf8], &len(300), &[0], &string(b"idle"), &string(b"v")]),
            cat(&[&[0xf9, 5, 0], &string(b"freq"), &string(b"v")]),
            cat(&[
                &[0xfc],
                &1_700_000_000_123i64.to_le_bytes(),
                &[0],
                &string(b"exp"),
                &string(b"v"),
            ]),
            cat(&[
                &[7],
                &string(b"bloom"),
                &len(bloom),
                &len(2),
                &len(5),
                &len(5),
                &string(b"data!"),
                &len(0),
            ]),
            cat(&[
                &[5],
                &string(b"z"),
                &len(2),
                &string(b"m"),
                &1.5f64.to_le_bytes(),
                &string(b"n"),
                &f64::INFINITY.to_le_bytes(),
            ]),
        ],
    );
    check_all("modules", &data);
    let src = model(&data);
    let mut drop = warn(9, 0);
    drop.modules = ModulePolicy::Drop;
    check("modules (drop)", &data, &src, &drop);

    let (_, r) = run(&data, &warn(9, 0)).unwrap();
    assert!(r.is_lossless(), "{r}");
    assert_eq!(
        notes(&r, NoteKind::NeedsModule),
        [("MBbloom--".to_string(), 2)]
    );
    assert_eq!(notes(&r, NoteKind::LuaScriptDropped).len(), 1);
    assert_eq!(r.required_modules(), ["MBbloom--"]);

    let (_, r) = run(&data, &warn(8, 0)).unwrap();
    assert_eq!(
        (
            count(&r, LossKind::ModuleAux),
            count(&r, LossKind::ModuleValue)
        ),
        (1, 0),
        "{r}"
    );
    assert_eq!(
        notes(&r, NoteKind::EvictionHintsDropped),
        [(String::new(), 2)]
    );

    let (_, r) = run(&data, &warn(7, 0)).unwrap();
    assert_eq!(
        (
            count(&r, LossKind::ModuleAux),
            count(&r, LossKind::ModuleValue)
        ),
        (1, 1),
        "{r}"
    );

    let (_, r) = run(&data, &warn(2, 0)).unwrap();
    assert_eq!(notes(&r, NoteKind::ExpiryRounded).len(), 1);
    assert_eq!(notes(&r, NoteKind::AuxDropped).len(), 1);

    let (_, r) = run(&data, &drop).unwrap();
    assert_eq!(
        (
            count(&r, LossKind::ModuleAux),
            count(&r, LossKind::ModuleValue)
        ),
        (1, 1),
        "{r}"
    );
    assert!(r.required_modules().is_empty());
}

#[test]
fn expiry_after_2038_below_rdb_3() {
    let data = file(
        9,
        &[
            cat(&[&[0xfe], &len(0)]),
            cat(&[
                &[0xfc],
                &4_102_444_800_000i64.to_le_bytes(),
                &[0],
                &string(b"late"),
                &string(b"v"),
            ]),
            cat(&[
                &[0xfc],
                &1_000_000_000_000i64.to_le_bytes(),
                &[0],
                &string(b"early"),
                &string(b"v"),
            ]),
        ],
    );
    check_all("expiry", &data);
    let (_, r) = run(&data, &warn(2, 0)).unwrap();
    assert_eq!(count(&r, LossKind::Expiry), 1, "{r}");
    let (_, r) = run(&data, &warn(3, 0)).unwrap();
    assert!(r.is_lossless(), "{r}");
}

/// A decoded stream from a fixture, to build newer layouts from.
fn with_fixture_streams(f: impl FnOnce(&[(Vec<u8>, Vec<u8>)])) {
    let (_, data) = fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("redis-7.2"))
        .unwrap();
    let mut streams = Vec::new();
    for rec in RdbReader::new(&data).unwrap() {
        if let RecordKind::Entry(e) = rec.unwrap().kind
            && e.value.ty() == RDB_TYPE_STREAM_LISTPACKS_3
        {
            streams.push((e.key.to_vec(), e.value.body().to_vec()));
        }
    }
    assert!(streams.len() >= 3);
    f(&streams);
}

/// Decode a v3 stream body and hand it to `f`.
fn decode_v3<R>(body: &[u8], f: impl FnOnce(rdbkit_parser::Stream<'_>) -> R) -> R {
    let data = file(11, &[cat(&[&[0xfe], &len(0), &[21], &string(b"k"), body])]);
    let mut r = RdbReader::new(&data).unwrap();
    loop {
        if let RecordKind::Entry(e) = r.next_record().unwrap().unwrap().kind {
            let Value::Stream(st) = e.value.decode().unwrap() else {
                panic!()
            };
            return f(*st);
        }
    }
}

#[test]
fn redis_8_6_and_8_8_constructs() {
    with_fixture_streams(|streams| {
        let mut recs = vec![
            cat(&[&[0xfa], &string(b"redis-ver"), &string(b"8.6.0")]),
            cat(&[
                &[0xf5],
                &string(b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"),
            ]),
            cat(&[&[0xfe], &len(0), &[0xf4], &len(100), &len(3), &len(0)]),
            // KEY_META with one class and no items, then a string key.
            cat(&[
                &[0xf3],
                &len(1),
                &0x1234_5601u32.to_le_bytes(),
                &len(0),
                &[0],
                &string(b"km"),
                &string(b"v"),
            ]),
        ];
        let mut recs14 = recs.clone();
        for (i, (key, body)) in streams.iter().enumerate() {
            let (v4, v5) = decode_v3(body, |mut st| {
                st.ty = RDB_TYPE_STREAM_LISTPACKS_4;
                st.idmp = Some(StreamIdmp {
                    duration: 100,
                    max_entries: 1000,
                    producers: if i == 0 {
                        vec![(
                            Cow::Borrowed(&b"p1"[..]),
                            vec![(Cow::Borrowed(&b"iid-1"[..]), StreamId { ms: 1, seq: 1 })],
                        )]
                    } else {
                        Vec::new()
                    },
                    iids_added: u64::from(i == 0),
                    iids_duplicates: 0,
                });
                let mut v4 = Vec::new();
                stream::write_stream_body(&mut v4, st.ty, &st, RdbVersion(13)).unwrap();
                st.ty = RDB_TYPE_STREAM_LISTPACKS_5;
                for g in &mut st.groups {
                    g.nacks = g.pending.iter().map(|p| p.id).take(1).collect();
                }
                let mut v5 = Vec::new();
                stream::write_stream_body(&mut v5, st.ty, &st, RdbVersion(14)).unwrap();
                (v4, v5)
            });
            recs.push(cat(&[&[26], &string(key), &v4]));
            recs14.push(cat(&[&[27], &string(key), &v5]));
        }
        let redis86 = file(13, &recs);
        let redis88 = file(14, &recs14);
        check_all("redis-8.6 synthetic", &redis86);
        check_all("redis-8.8 synthetic", &redis88);

        let (_, r) = run(&redis86, &warn(12, 0)).unwrap();
        assert_eq!(count(&r, LossKind::KeyMetadata), 1, "{r}");
        assert_eq!(count(&r, LossKind::StreamIdmp), 1, "{r}");
        assert_eq!(
            notes(&r, NoteKind::StreamIdmpSettingsDropped).len(),
            1,
            "{r}"
        );
        assert!(notes(&r, NoteKind::SlotInfoDropped).is_empty());
        let (_, r) = run(&redis86, &warn(11, 0)).unwrap();
        assert_eq!(notes(&r, NoteKind::SlotInfoDropped).len(), 1, "{r}");
        let (_, r) = run(&redis86, &warn(13, 0)).unwrap();
        assert!(r.is_lossless() && r.stats.rewritten == 0, "{r}");
        let (_, r) = run(&redis88, &warn(13, 0)).unwrap();
        assert!(count(&r, LossKind::StreamNacks) >= 1, "{r}");
        assert_eq!(count(&r, LossKind::StreamIdmp), 0, "{r}");
    });
}

#[test]
fn active_time_and_entries_read_differences() {
    with_fixture_streams(|streams| {
        let mut recs = vec![cat(&[&[0xfe], &len(0)])];
        for (key, body) in streams {
            let v3 = decode_v3(body, |mut st| {
                for g in &mut st.groups {
                    g.entries_read = Some(g.entries_read.unwrap_or(0) + 1);
                    for c in &mut g.consumers {
                        c.active_time = Some(c.seen_time + 1000);
                    }
                }
                st.entries_added = Some(st.length + 7);
                let mut out = Vec::new();
                stream::write_stream_body(&mut out, st.ty, &st, RdbVersion(11)).unwrap();
                out
            });
            recs.push(cat(&[&[21], &string(key), &v3]));
        }
        let data = file(11, &recs);
        check_all("altered streams", &data);
        let (_, r) = run(&data, &warn(10, 0)).unwrap();
        assert!(count(&r, LossKind::StreamActiveTime) >= 1, "{r}");
        let (_, r) = run(&data, &warn(9, 0)).unwrap();
        assert_eq!(
            count(&r, LossKind::StreamMetadata),
            streams.len() as u64,
            "{r}"
        );
    });
}

#[test]
fn streams_rewritten_in_their_own_layout_are_byte_identical() {
    let mut n = 0;
    for (name, data) in fixtures() {
        let version = RdbReader::new(&data).unwrap().version();
        for rec in RdbReader::new(&data).unwrap() {
            if let RecordKind::Entry(e) = rec.unwrap().kind
                && let Value::Stream(st) = e.value.decode().unwrap()
            {
                let mut out = Vec::new();
                stream::write_stream_body(&mut out, st.ty, &st, version).unwrap();
                assert_eq!(
                    out,
                    e.value.body(),
                    "{name}: {:?}",
                    String::from_utf8_lossy(&e.key)
                );
                n += 1;
            }
        }
    }
    assert!(n > 20);
}

#[test]
fn every_value_rewritten_by_write_entry_keeps_its_contents() {
    for (name, data) in fixtures() {
        let src = model(&data);
        let version = RdbVersion(src.version);
        let mut w = RdbWriter::new(Vec::new(), version).unwrap();
        for rec in RdbReader::new(&data).unwrap() {
            let rec = rec.unwrap();
            match &rec.kind {
                RecordKind::Entry(e) => {
                    let v = e.value.decode().unwrap();
                    w.write_entry(&e.key, &EntryMeta::of(e), &v).unwrap();
                }
                RecordKind::Eof { .. } => {}
                _ => w.write_record(&rec, version).unwrap(),
            }
        }
        let out = w.finish().unwrap();
        assert_same_contents(&model(&out), &src, &name);
    }
}

#[test]
fn valkey_9_slot_import_and_hash_2() {
    let job = [b'j'; 40];
    let data = file(
        80,
        &[
            cat(&[&[0xfa], &string(b"valkey-ver"), &string(b"9.0.0")]),
            cat(&[
                &[0xf3],
                &string(&job),
                &len(2),
                &len(0),
                &len(100),
                &len(200),
                &len(300),
            ]),
            cat(&[&[0xfe], &len(0)]),
            cat(&[
                &[22],
                &string(b"h"),
                &len(3),
                &string(b"a"),
                &string(b"1"),
                &2_000_000_000_000i64.to_le_bytes(),
                &string(b"b"),
                &string(b"2"),
                &(-1i64).to_le_bytes(),
                &string(b"c"),
                &string(b"3"),
                &1_000_000_000_000i64.to_le_bytes(),
            ]),
            cat(&[
                &[22],
                &string(b"no-ttl"),
                &len(1),
                &string(b"x"),
                &string(b"y"),
                &(-1i64).to_le_bytes(),
            ]),
        ],
    );
    check_all("valkey-9 synthetic", &data);
    let src = model(&data);
    for policy in [
        FieldTtlPolicy::KeyTtlMin,
        FieldTtlPolicy::KeyTtlMax,
        FieldTtlPolicy::DropKey,
    ] {
        let mut o = warn(11, 1_500_000_000_000);
        o.field_ttl = policy;
        check("valkey-9 synthetic", &data, &src, &o);
    }
    let (out, r) = run(&data, &warn(12, 0)).unwrap();
    assert_eq!(count(&r, LossKind::SlotImport), 1, "{r}");
    assert_eq!(r.loss_counts.len(), 1, "{r}");
    assert!(model(&out).types.contains(&24));
    let (_, r) = run(&data, &warn(11, 1_500_000_000_000)).unwrap();
    assert_eq!(count(&r, LossKind::FieldTtls), 1, "{r}");
    let f = &r
        .losses
        .iter()
        .find(|l| l.kind == LossKind::FieldTtls)
        .unwrap()
        .detail;
    assert!(f.contains("1 expired field dropped"), "{f}");
}

#[test]
fn pre_ga_functions_become_function2() {
    let data = file(
        10,
        &[cat(&[
            &[0xf6],
            &string(b"mylib"),
            &string(b"LUA"),
            &len(1),
            &string(b"a description"),
            &string(b"redis.register_function('f', function() return 1 end)"),
        ])],
    );
    check_all("pre-GA function", &data);
    for t in [10, 11, 12] {
        let (out, r) = run(&data, &warn(t, 0)).unwrap();
        assert_eq!(
            notes(&r, NoteKind::FunctionConverted),
            [("mylib".to_string(), 1)]
        );
        assert!(!model(&out).opcodes.contains(&246));
    }
    let (_, r) = run(&data, &warn(9, 0)).unwrap();
    assert_eq!(count(&r, LossKind::Function), 1);
}

#[test]
fn lossy_conversions_fail_by_default_and_list_every_loss() {
    let (_, data) = fixtures()
        .into_iter()
        .find(|(n, _)| n.starts_with("redis-7.4"))
        .unwrap();
    let o = ConvertOptions::new(RdbVersion(9));
    let Err(ConvertError::Lossy(r)) = run(&data, &o) else {
        panic!("expected a refusal")
    };
    assert_eq!(
        r.losses_total(),
        plan(&mut RdbReader::new(&data).unwrap(), &o)
            .unwrap()
            .losses_total()
    );
    assert!(r.losses_total() >= 9, "{r}");
    let msg = ConvertError::Lossy(r).to_string();
    assert!(
        msg.contains("field-ttls") && msg.contains("function"),
        "{msg}"
    );
}

#[test]
fn converter_unsupported_targets() {
    for t in [0, 16, 79, 82] {
        let o = ConvertOptions::new(RdbVersion(t));
        assert!(matches!(
            Converter::new(RdbVersion(9), o),
            Err(ConvertError::UnsupportedTarget(_))
        ));
    }
    assert_eq!(
        type_rule(RdbVersion(9), RdbType(99), RdbVersion(9)),
        TypeRule::Unsupported
    );
}

#[test]
fn streaming_reader_input_gives_the_same_output() {
    for (name, data) in fixtures() {
        let o = warn(9, 0);
        let (want, want_report) = run(&data, &o).unwrap();
        let mut reader = rdbkit_parser::StreamingReader::new(&data[..]).unwrap();
        let mut conv = Converter::new(reader.version(), o.clone()).unwrap();
        let mut w = conv.writer(Vec::new()).unwrap();
        while let Some(record) = reader.next_record().unwrap() {
            conv.convert_record(&record, &mut w).unwrap();
        }
        let (got, report) = conv.finish(w).unwrap();
        assert_eq!(got, want, "{name}");
        assert_eq!(report, want_report, "{name}");
    }
}

/// Corrupted but parseable input (checksum not verified) must never make the
/// converter panic: it either converts or returns an error.
#[test]
fn corrupted_input_never_panics() {
    let opts = rdbkit_parser::ReaderOptions {
        verify_checksum: false,
        limits: rdbkit_parser::Limits::small(),
    };
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut converted = 0;
    for (name, data) in fixtures() {
        if !(name.starts_with("redis-2.8")
            || name.starts_with("redis-8.2")
            || name.starts_with("valkey-9"))
        {
            continue;
        }
        for round in 0..40 {
            let mut d = data.clone();
            for _ in 0..1 + round % 4 {
                let at = 9 + (next() as usize) % (d.len() - 9);
                d[at] = next() as u8;
            }
            for t in [6, 9, 11, 12, 80] {
                let Ok(mut reader) = RdbReader::with_options(&d, opts) else {
                    continue;
                };
                let mut o = warn(t, 1_700_000_000_000);
                o.field_ttl = [FieldTtlPolicy::Strip, FieldTtlPolicy::KeyTtlMin][round % 2];
                if convert(&mut reader, Vec::new(), &o).is_ok() {
                    converted += 1;
                }
            }
        }
    }
    assert!(converted > 0);
}
