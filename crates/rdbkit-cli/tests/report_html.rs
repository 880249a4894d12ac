//! `rdbkit analyze --html`: the page opened in a real browser (headless
//! Chromium, `scripts/install-browser.sh`). The page's script records what
//! it did as data attributes of `<body>` (cells drawn, and under
//! `#selftest` a hover, a zoom, a zoom back out and a sort); the tests
//! read them from the DOM Chromium dumps, read the console from Chromium's
//! log, and decode screenshots (light and dark mode) to see that they show
//! something.
//!
//! Without Chromium these tests fail when `CI=true` and are skipped, loudly,
//! elsewhere.

use rdbkit_testkit::browser::{Browser, file_url};
use rdbkit_testkit::{build, png};
use serde_json::Value;

use crate::common::*;

/// The biggest a page may be, whatever the file (issue 20).
const MAX_PAGE: usize = 5 << 20;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Write the report of `args` (the file first) to `dir/name`; the page.
fn report(dir: &std::path::Path, name: &str, args: &[&str]) -> (std::path::PathBuf, String) {
    let html = dir.join(name);
    let out = run(&[&["analyze"], args, &["--html", html.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.len() < MAX_PAGE, "page of {} bytes", page.len());
    (html, page)
}

/// The treemap's data, as embedded in the page.
fn tree_data(page: &str) -> Value {
    let start = page
        .find("<script type=\"application/json\" id=\"rdbkit-data\">")
        .expect("data element")
        + "<script type=\"application/json\" id=\"rdbkit-data\">".len();
    let end = start + page[start..].find("</script>").unwrap();
    serde_json::from_str(&page[start..end]).unwrap()
}

/// The value of `<body data-NAME="...">` in a dumped DOM (unescaped).
fn body_attr(dom: &str, name: &str) -> Option<String> {
    let body = &dom[dom.find("<body")?..];
    let body = &body[..body.find('>')?];
    let key = format!(" data-{name}=\"");
    let at = body.find(&key)? + key.len();
    let v = &body[at..at + body[at..].find('"')?];
    Some(
        v.replace("&gt;", ">")
            .replace("&lt;", "<")
            .replace("&quot;", "\"")
            .replace("&amp;", "&"),
    )
}

/// The element with `id` (its start tag to the end of the document's text
/// that follows it up to `end`).
fn element<'a>(dom: &'a str, id: &str, end: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &dom[at..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

/// Open `html#selftest` at `width` × `height`: the DOM after the script ran,
/// with every sign of an error checked.
fn open_selftest(browser: &Browser, html: &std::path::Path, width: u32, height: u32) -> String {
    let url = format!("{}#selftest", file_url(html));
    let page = browser.dump_dom(&url, width, height).unwrap();
    let dom = page.dom;
    assert!(
        page.console.is_empty(),
        "console messages: {:#?}",
        page.console
    );
    assert_eq!(body_attr(&dom, "ready").as_deref(), Some("1"), "{dom}");
    assert_eq!(
        body_attr(&dom, "errors").as_deref(),
        Some("0"),
        "{}",
        element(&dom, "errors", "</pre>")
    );
    assert_eq!(body_attr(&dom, "selftest").as_deref(), Some("done"));
    assert_eq!(body_attr(&dom, "alerts"), None, "a key ran as script");
    dom
}

/// A number with thousands separators, as the page shows it.
fn grouped(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The fixture's page: as many cells as prefixes, a hover that shows the
/// numbers, a click that zooms in and the path back out, the top key in
/// the sortable table, no error anywhere, a screenshot that is not blank,
/// and a phone-width window with nothing wider than it.
#[test]
fn html_report_of_a_fixture_in_a_browser() {
    let Some(browser) = Browser::for_tests("html_report_of_a_fixture_in_a_browser") else {
        return;
    };
    let dir = tmpdir("html-fixture");
    let f = fixture_rdb("redis-8.2.3");
    let (html, page) = report(&dir, "report.html", &[&f]);
    // Self-contained: nothing to fetch, and the policy forbids fetching.
    for outside in ["src=", "href=\"http", "url(", "@import", "//cdn"] {
        assert!(!page.contains(outside), "the page refers to {outside:?}");
    }
    assert!(page.contains("Content-Security-Policy\" content=\"default-src 'none'"));

    // What the page should draw, from `analyze --json` (an independent
    // reading of the same analysis).
    let out = run(&["analyze", "--json", "--top", "1000", &f]);
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let level1 = json["prefixes"][0].as_array().unwrap();
    let level2 = json["prefixes"][1].as_array().unwrap();
    let keys = |l: &[Value]| l.iter().map(|p| p["keys"].as_u64().unwrap()).sum::<u64>();
    let total = json["total"]["keys"].as_u64().unwrap();
    // Every prefix, and one cell for the keys without the delimiter.
    let root_cells = level1.len() + usize::from(total > keys(level1));
    let top = &level1[0];
    let top_name = top["prefix"].as_str().unwrap();
    let under: Vec<Value> = level2
        .iter()
        .filter(|p| p["prefix"].as_str().unwrap().starts_with(top_name))
        .cloned()
        .collect();
    let zoom_cells = under.len() + usize::from(top["keys"].as_u64().unwrap() > keys(&under));
    let data = tree_data(&page);
    assert_eq!(data["tree"]["c"].as_array().unwrap().len(), root_cells);
    assert_eq!(
        data["prefixes"].as_u64().unwrap(),
        (level1.len() + level2.len()) as u64
    );

    let dom = open_selftest(&browser, &html, 1280, 800);
    assert_eq!(
        body_attr(&dom, "cells").unwrap(),
        root_cells.to_string(),
        "cells drawn"
    );
    let map = element(&dom, "treemap", "id=\"tip\"");
    assert_eq!(map.matches("class=\"cell").count(), root_cells);
    // The hover's tooltip: name, bytes, keys, share.
    let tip = body_attr(&dom, "selftest-tip").unwrap();
    for want in [
        top_name.to_string(),
        format!("({} bytes)", grouped(top["bytes"].as_u64().unwrap())),
        format!("keys: {}", grouped(top["keys"].as_u64().unwrap())),
        "share: ".to_string(),
    ] {
        assert!(tip.contains(&want), "tooltip {tip:?} lacks {want:?}");
    }
    // The click zoomed into the biggest prefix, and the path went back.
    assert_eq!(body_attr(&dom, "selftest-zoomed").unwrap(), top_name);
    assert_eq!(
        body_attr(&dom, "selftest-crumb").unwrap(),
        format!("all keys > {top_name}")
    );
    assert_eq!(
        body_attr(&dom, "selftest-cells").unwrap(),
        zoom_cells.to_string()
    );
    assert_eq!(
        body_attr(&dom, "selftest-back").unwrap(),
        root_cells.to_string()
    );
    // The biggest key heads its table (sorted back to biggest first).
    assert_eq!(body_attr(&dom, "selftest-sorted").unwrap(), "ascending");
    let table = element(&dom, "top-memory", "</table>");
    let first_row = &table[table.find("<tbody><tr>").unwrap()..];
    let first_row = &first_row[..first_row.find("</tr>").unwrap()];
    let top_key = json["top_by_bytes"][0]["key"].as_str().unwrap();
    assert!(
        first_row.contains(&format!("<code>{top_key}</code>")),
        "{first_row}"
    );
    assert_eq!(body_attr(&dom, "selftest-fits").unwrap(), "yes");
    // Facts of the file.
    let facts = element(&dom, "facts-table", "</table>");
    for want in ["REDIS0012", "Redis 8.2.3", "fixturelib", "CRC-64 verified"] {
        assert!(facts.contains(want), "facts lack {want}: {facts}");
    }

    // A phone: nothing wider than the window, the same cells.
    let phone = open_selftest(&browser, &html, 390, 844);
    assert_eq!(body_attr(&phone, "selftest-fits").unwrap(), "yes");
    assert_eq!(body_attr(&phone, "cells").unwrap(), root_cells.to_string());

    // The screenshot shows something: decoded, its pixels vary (a blank
    // page is one colour) and no colour covers most of it; the treemap's
    // cells are coloured (many pixels far from grey). In dark mode the
    // page's ground is dark, in light mode light.
    for dark in [false, true] {
        let shot = dir.join(if dark { "dark.png" } else { "light.png" });
        let p = browser
            .screenshot(&file_url(&html), 1280, 800, dark, &shot)
            .unwrap();
        assert!(p.console.is_empty(), "{:#?}", p.console);
        let img = png::decode(&std::fs::read(&shot).unwrap()).unwrap();
        assert_eq!((img.width, img.height), (1280, 800));
        let colours = img.colours();
        let pixels = img.width * img.height;
        assert!(colours.len() >= 64, "{} colours", colours.len());
        let (ground, n) = colours[0];
        assert!(
            n < pixels * 3 / 4,
            "{ground:?} covers {n} of {pixels} pixels"
        );
        let light = u32::from(ground[0]) + u32::from(ground[1]) + u32::from(ground[2]) > 3 * 128;
        assert_eq!(light, !dark, "dark mode {dark}: the ground is {ground:?}");
        let vivid = (0..img.height)
            .flat_map(|y| (0..img.width).map(move |x| (x, y)))
            .filter(|&(x, y)| {
                let [r, g, b, _] = img.pixel(x, y);
                r.max(g).max(b) - r.min(g).min(b) > 60
            })
            .count();
        assert!(vivid > pixels / 5, "{vivid} coloured pixels of {pixels}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// Keys that are markup, binary keys and an AUX field that is markup: all
/// shown as text, none run, nothing created from them.
#[test]
fn html_report_shows_hostile_keys_as_text() {
    let Some(browser) = Browser::for_tests("html_report_shows_hostile_keys_as_text") else {
        return;
    };
    let dir = tmpdir("html-hostile");
    let f = dir.join("hostile.rdb");
    let big = |n: usize| build::string(&vec![b'v'; n]);
    let mut aux = vec![0xfa];
    aux.extend(build::string(b"<b>aux</b>"));
    aux.extend(build::string(b"<script>alert(4)</script>"));
    let records = vec![
        aux,
        build::entry(0, b"<script>alert(1)</script>", &big(9000)),
        build::entry(0, b"<img src=x onerror=alert(2)>:a", &big(8000)),
        build::entry(0, b"</script><script>alert(3)</script>:b", &big(7000)),
        build::entry(0, b"bin:\x00\xff\xfe\x1b[31m", &big(6000)),
        build::entry(0, b"\xff\xfe:x", &big(5000)),
        build::entry(0, b"&amp;:y", &big(4000)),
        build::entry(0, "rtl:\u{202e}gnp.exe".as_bytes(), &big(3000)),
    ];
    std::fs::write(&f, build::file(b"REDIS0009", &records)).unwrap();
    let (html, page) = report(&dir, "hostile.html", &[f.to_str().unwrap()]);
    // As written: exactly the page's two script elements, no markup from a key.
    assert_eq!(page.matches("<script").count(), 2, "{page}");
    for bad in ["<script>alert", "<img", "</script><script>alert", "<b>aux"] {
        assert!(!page.contains(bad), "{bad:?} in the page");
    }

    let dom = open_selftest(&browser, &html, 1280, 800);
    assert_eq!(dom.matches("<script").count(), 2);
    assert!(!dom.contains("<img"));
    assert!(!dom.contains("<b>"));
    let table = element(&dom, "top-memory", "</table>");
    for shown in [
        "&lt;script&gt;alert(1)&lt;/script&gt;",
        "&lt;img src=x onerror=alert(2)&gt;:a",
        "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;:b",
        r"bin:\x00\xFF\xFE\x1B[31m",
        r"\xFF\xFE:x",
        "&amp;amp;:y",
        r"rtl:\u{202E}gnp.exe",
    ] {
        assert!(
            table.contains(&format!("<code>{shown}</code>")),
            "{shown} not in the table: {table}"
        );
    }
    // The prefixes drawn by the script, as text.
    let map = element(&dom, "treemap", "id=\"tip\"");
    for label in [
        "&lt;img src=x onerror=alert(2)&gt;:",
        "&lt;/script&gt;&lt;script&gt;alert(3)&lt;/script&gt;:",
        r"\xFF\xFE:",
        "&amp;amp;:",
        "(no delimiter)",
    ] {
        assert!(
            map.contains(&format!("<span class=\"label\">{label}</span>")),
            "{label} not drawn: {map}"
        );
    }
    let aux = element(&dom, "aux", "</table>");
    assert!(aux.contains("&lt;b&gt;aux&lt;/b&gt;"), "{aux}");
    assert!(
        aux.contains("&lt;script&gt;alert(4)&lt;/script&gt;"),
        "{aux}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// The worst a file can do to the page's size: long keys whose every byte
/// needs an escape (`<` and invalid UTF-8), 8 first-level prefixes with 750
/// second-level ones each (more than the page draws), more keys than any
/// table shows, 300 databases, 300 long AUX fields. The page
/// stays under the 3 MB its docs promise (the issue asks for 5), draws at
/// most its cell budget, and honours --max-prefixes and --depth.
#[test]
fn html_report_stays_small() {
    let dir = tmpdir("html-bounded");
    let f = dir.join("wide.rdb");
    let mut records = vec![];
    for i in 0..300u64 {
        let mut aux = vec![0xfa];
        aux.extend(build::string(format!("aux-{i}").as_bytes()));
        aux.extend(build::string(&[b'<'; 1000]));
        records.push(aux);
    }
    for i in 0u32..6000 {
        if i % 20 == 0 {
            let mut select = vec![0xfe];
            select.extend(build::len(u64::from(i / 20)));
            records.push(select);
        }
        // Two 300-byte segments per key, the second its own.
        let seg = |tag: &str| -> Vec<u8> {
            let mut s: Vec<u8> = (0..150).flat_map(|_| [b'<', 0xff]).collect();
            s.extend_from_slice(tag.as_bytes());
            s
        };
        let mut key = seg(&format!("a{}", i % 8));
        key.push(b':');
        key.extend(seg(&format!("b{i:x}")));
        key.extend_from_slice(b":x");
        records.push(build::entry(0, &key, &build::string(b"v")));
    }
    std::fs::write(&f, build::file(b"REDIS0009", &records)).unwrap();
    let f = f.to_str().unwrap();
    let (_, page) = report(&dir, "all.html", &[f, "--top", "100000"]);
    assert!(page.len() < 3 << 20, "page of {} bytes", page.len());
    let data = tree_data(&page);
    fn prefixes(n: &Value) -> usize {
        n["c"].as_array().map_or(0, |c| {
            c.iter()
                .map(|x| usize::from(x["t"] == "p") + prefixes(x))
                .sum()
        })
    }
    // 2000 prefixes drawn: the 8 first ones, and under each up to 250 (the
    // most under one parent) and a cell for the rest.
    let top = data["tree"]["c"].as_array().unwrap();
    assert_eq!(top.len(), 8);
    assert!(top.iter().all(|c| c["c"].as_array().unwrap().len() <= 251));
    assert_eq!(prefixes(&data["tree"]), 2000);
    assert_eq!(data["prefixes"], 2000);
    assert!(page.contains("… and 5,500 more keys (not shown)"));
    assert!(page.contains("… and 200 more databases (not shown)"));
    assert!(page.contains("… and 200 more fields (not shown)"));

    let (_, page) = report(
        &dir,
        "bounded.html",
        &[f, "--max-prefixes", "50", "--depth", "1"],
    );
    let data = tree_data(&page);
    assert_eq!(prefixes(&data["tree"]), 8);
    assert!(
        data["tree"]["c"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c.get("c").is_none())
    );
    let (_, page) = report(&dir, "full.html", &[f, "--max-prefixes", "5"]);
    assert_eq!(prefixes(&tree_data(&page)["tree"]), 5);
    // The first prefixes of the keys of 3 of the 8 were not tracked.
    assert!(page.contains("(prefix table full)"));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `--target` adds the preflight from the same pass; `--json` alongside
/// prints the analysis; `-` writes the page to stdout; a bad destination is
/// refused before the pass.
#[test]
fn html_report_flags() {
    let dir = tmpdir("html-flags");
    let f = fixture_rdb("redis-8.2.3");
    let html = dir.join("r.html");
    let out = run(&[
        "analyze",
        &f,
        "--html",
        html.to_str().unwrap(),
        "--target",
        "azure-premium",
        "--json",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<section id=\"preflight\">"));
    assert!(page.contains("does not load the file as it is"), "{page}");
    assert!(page.contains("<td>function</td>"));
    assert!(page.contains(&grouped(json["total"]["bytes"].as_u64().unwrap())));

    let out = run(&["analyze", &f, "--html", "-"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).starts_with("<!DOCTYPE html>"));
    assert!(!text(&out.stdout).contains("id=\"preflight\""));

    let out = run(&["analyze", &f, "--html", "-", "--json"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let missing = dir.join("no/such/dir/r.html");
    let out = run(&["analyze", &f, "--html", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is not there"),
        "{}",
        text(&out.stderr)
    );
    // The input is never overwritten.
    let copy = dir.join("in.rdb");
    std::fs::copy(&f, &copy).unwrap();
    let out = run(&[
        "analyze",
        copy.to_str().unwrap(),
        "--html",
        copy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&f).unwrap());
    std::fs::remove_dir_all(dir).unwrap();
}
