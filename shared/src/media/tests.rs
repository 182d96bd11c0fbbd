use proptest::prelude::*;

use super::*;

// ---- fixtures: the smallest files each sniffer takes ----

/// A marker segment: `FF marker`, the length (counting itself), the payload.
fn segment(marker: u8, payload: &[u8]) -> Vec<u8> {
    let mut s = vec![0xFF, marker];
    s.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
    s.extend_from_slice(payload);
    s
}

fn app0_jfif() -> Vec<u8> {
    segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0")
}

fn exif_with_gps() -> Vec<u8> {
    let mut payload = b"Exif\0\0MM\0\x2a\0\0\0\x08".to_vec();
    payload.extend_from_slice(b"GPSLatitude 51.5007 GPSLongitude -0.1246");
    segment(0xE1, &payload)
}

fn xmp() -> Vec<u8> {
    let mut payload = b"http://ns.adobe.com/xap/1.0/\0".to_vec();
    payload.extend_from_slice(b"<x:xmpmeta><exif:GPSLatitude>51,30.04N</exif:GPSLatitude>");
    segment(0xE1, &payload)
}

/// The image itself: tables, frame, scan header, entropy-coded data, end of image.
fn image_body() -> Vec<u8> {
    let mut b = segment(0xDB, &[0u8; 65]);
    b.extend(segment(0xC0, b"\x08\0\x01\0\x01\x01\x01\x11\0"));
    b.extend(segment(0xC4, &[0u8; 20]));
    b.extend(segment(0xDA, b"\x01\x01\0\0\x3f\0"));
    // Compressed data, with a stuffed FF 00 and bytes that spell Exif: after the scan's
    // start nothing is ever touched.
    b.extend_from_slice(b"\x12\x34\xFF\x00\x56Exif\0\0\x78");
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

fn jpeg_with(segments: &[Vec<u8>]) -> Vec<u8> {
    let mut j = vec![0xFF, 0xD8];
    for s in segments {
        j.extend_from_slice(s);
    }
    j.extend(image_body());
    j
}

fn plain_jpeg() -> Vec<u8> {
    jpeg_with(&[app0_jfif()])
}

fn png() -> Vec<u8> {
    let mut p = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0".to_vec();
    p.extend_from_slice(&[0x90, 0x77, 0x53, 0xDE]);
    p.extend_from_slice(b"\0\0\0\0IEND\xaeB`\x82");
    p
}

fn ftyp(major: &[u8; 4], compatible: &[&[u8; 4]]) -> Vec<u8> {
    let size = 16 + 4 * compatible.len();
    let mut f = (size as u32).to_be_bytes().to_vec();
    f.extend_from_slice(b"ftyp");
    f.extend_from_slice(major);
    f.extend_from_slice(&[0, 0, 0, 0]);
    for c in compatible {
        f.extend_from_slice(*c);
    }
    f.extend_from_slice(b"\0\0\0\x08free");
    f
}

fn riff(kind: &[u8; 4]) -> Vec<u8> {
    let mut r = b"RIFF\x24\0\0\0".to_vec();
    r.extend_from_slice(kind);
    r.extend_from_slice(&[0u8; 32]);
    r
}

/// A WAV: its format chunk (PCM, mono, 8 kHz, 8 bits), then its data.
fn wav() -> Vec<u8> {
    let mut w = b"RIFF\x2c\0\0\0WAVEfmt \x10\0\0\0".to_vec();
    w.extend_from_slice(b"\x01\0\x01\0\x40\x1f\0\0\x40\x1f\0\0\x01\0\x08\0");
    w.extend_from_slice(b"data\x08\0\0\0\x80\x80\x80\x80\x80\x80\x80\x80");
    w
}

/// One Ogg page holding `packet` (sequence `sequence`).
fn ogg_page(packet: &[u8], sequence: u8) -> Vec<u8> {
    let mut o = b"OggS\0\x02".to_vec();
    o.extend_from_slice(&[0u8; 12]); // granule, serial
    o.extend_from_slice(&[sequence, 0, 0, 0, 0, 0, 0, 0]); // sequence, checksum
    o.push(1); // one segment
    o.push(packet.len() as u8);
    o.extend_from_slice(packet);
    o
}

/// An Ogg stream: its first page (the codec's header packet) and a second.
fn ogg(first_packet: &[u8]) -> Vec<u8> {
    let mut o = ogg_page(first_packet, 0);
    o.extend(ogg_page(b"comments", 1));
    o
}

fn webm(doc_type: &[u8]) -> Vec<u8> {
    let mut w = vec![
        0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82,
    ];
    w.push(0x80 | doc_type.len() as u8);
    w.extend_from_slice(doc_type);
    w.extend_from_slice(&[0u8; 16]);
    w
}

fn ico() -> Vec<u8> {
    // One 16x16 entry whose PNG data starts right after the directory (offset 22).
    let mut i = vec![0, 0, 1, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0];
    i.extend_from_slice(&(png().len() as u32).to_le_bytes());
    i.extend_from_slice(&22u32.to_le_bytes());
    i.extend(png());
    i
}

fn pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
        .to_vec()
}

/// One MPEG-1 Layer III frame, 128 kbit/s, 44.1 kHz, no padding: 144 × 128000 / 44100 =
/// 417 bytes, its header included.
fn mp3_frame() -> Vec<u8> {
    let mut m = vec![0xFF, 0xFB, 0x90, 0x64];
    m.resize(417, 0);
    m
}

/// Two frames in a row: what an MP3 needs.
fn mp3() -> Vec<u8> {
    let mut m = mp3_frame();
    m.extend(mp3_frame());
    m
}

const LIMIT: u64 = DEFAULT_MAX_BYTES;

fn refusal(name: &str, bytes: &[u8]) -> Refusal {
    inspect(name, bytes, LIMIT).expect_err("refused")
}

// ---- sniffing ----

#[test]
fn every_allowed_type_is_told_by_its_content() {
    let cases: Vec<(Vec<u8>, MediaType)> = vec![
        (plain_jpeg(), MediaType::Jpeg),
        (png(), MediaType::Png),
        (b"GIF89a\x01\0\x01\0\0\0\0;".to_vec(), MediaType::Gif),
        (b"GIF87a\x01\0\x01\0\0\0\0;".to_vec(), MediaType::Gif),
        (riff(b"WEBP"), MediaType::Webp),
        (ftyp(b"avif", &[b"mif1", b"miaf"]), MediaType::Avif),
        (ftyp(b"mif1", &[b"avif", b"miaf"]), MediaType::Avif),
        (ico(), MediaType::Ico),
        (pdf(), MediaType::Pdf),
        (
            ftyp(b"isom", &[b"isom", b"iso2", b"avc1", b"mp41"]),
            MediaType::Mp4,
        ),
        (ftyp(b"mp42", &[b"mp42", b"isom"]), MediaType::Mp4),
        (ftyp(b"qt  ", &[b"qt  "]), MediaType::Mov),
        (ftyp(b"M4A ", &[b"M4A ", b"mp42"]), MediaType::M4a),
        (webm(b"webm"), MediaType::Webm),
        (
            [&b"ID3\x04\0\0\0\0\0\x0frest of the tag"[..], &mp3()].concat(),
            MediaType::Mp3,
        ),
        (mp3(), MediaType::Mp3),
        (ogg(b"\x01vorbis\0\0\0\0"), MediaType::Ogg),
        (ogg(b"OpusHead\x01\x02"), MediaType::Ogg),
        (wav(), MediaType::Wav),
    ];
    for (bytes, expected) in cases {
        assert_eq!(sniff(&bytes), Sniffed::Allowed(expected), "{expected:?}");
    }
}

#[test]
fn what_is_not_allowed_is_named() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>".to_vec(),
            "svg",
        ),
        (
            b"\xEF\xBB\xBF  <?xml version=\"1.0\"?>\n<SVG xmlns=\"http://www.w3.org/2000/svg\"/>"
                .to_vec(),
            "svg",
        ),
        (b"<!DOCTYPE html><title>x</title>".to_vec(), "html"),
        (b"\n<html><body>hi</body></html>".to_vec(), "html"),
        (b"<?xml version=\"1.0\"?><feed/>".to_vec(), "markup"),
        (b"\x7fELF\x02\x01\x01\0".to_vec(), "executable (ELF)"),
        (b"MZ\x90\0\x03\0\0\0".to_vec(), "executable (PE)"),
        (
            vec![0xCF, 0xFA, 0xED, 0xFE, 7, 0, 0, 1],
            "executable (Mach-O)",
        ),
        (b"#!/bin/sh\nrm -rf /\n".to_vec(), "script (#!)"),
        (b"PK\x03\x04\x14\0\0\0".to_vec(), "zip archive"),
        (ftyp(b"heic", &[b"mif1", b"heic"]), "heic"),
        (ftyp(b"mif1", &[b"heic"]), "heic"),
        (ftyp(b"3gp5", &[b"3gp5"]), "3gp"),
        (riff(b"AVI "), "avi"),
        (webm(b"matroska"), "matroska"),
        (ogg(b"\x80theora\x03\x02"), "ogg video"),
        (b"just some text".to_vec(), "unknown"),
        (Vec::new(), "unknown"),
        // A cursor file shares the icon's layout but not its type.
        (
            vec![
                0, 0, 2, 0, 1, 0, 16, 16, 0, 0, 1, 0, 32, 0, 0, 0, 0, 0, 22, 0, 0, 0, 0,
            ],
            "unknown",
        ),
    ];
    for (bytes, expected) in cases {
        assert_eq!(sniff(&bytes), Sniffed::Other(expected), "{expected}");
    }
}

#[test]
fn an_icon_whose_directory_points_outside_the_file_is_not_an_icon() {
    let mut bad = ico();
    bad[18..22].copy_from_slice(&10_000u32.to_le_bytes());
    assert_eq!(sniff(&bad), Sniffed::Other("unknown"));
    // Four magic bytes and no directory behind them.
    assert_eq!(sniff(&[0, 0, 1, 0, 0, 0]), Sniffed::Other("unknown"));
}

#[test]
fn mpeg_frame_headers_with_reserved_fields_are_not_mp3() {
    // Reserved version (01), Layer I, bad bit-rate, reserved sample rate.
    for header in [
        [0xFF, 0xEB, 0x90, 0x64],
        [0xFF, 0xFF, 0x90, 0x64],
        [0xFF, 0xFB, 0xF0, 0x64],
        [0xFF, 0xFB, 0x9C, 0x64],
    ] {
        assert_eq!(sniff(&header), Sniffed::Other("unknown"), "{header:02X?}");
    }
}

// ---- refusals ----

#[test]
fn a_jpeg_with_php_appended_is_refused_as_script_inside() {
    let mut polyglot = plain_jpeg();
    let end = polyglot.len();
    polyglot.extend_from_slice(b"<?php system($_GET['c']); ?>");
    // Still a JPEG by its magic bytes, and a viewer shows it: only the scan finds it.
    assert_eq!(sniff(&polyglot), Sniffed::Allowed(MediaType::Jpeg));
    assert_eq!(
        refusal("cat.jpg", &polyglot),
        Refusal::ScriptInside {
            marker: "<?php",
            offset: end as u64
        }
    );
}

#[test]
fn php_hidden_in_a_jpeg_comment_or_exif_in_any_case_is_refused() {
    let in_comment = jpeg_with(&[app0_jfif(), segment(0xFE, b"hello <?PhP eval($_POST[1]);")]);
    assert_eq!(refusal("a.jpg", &in_comment).reason(), "ScriptInside");
    let in_exif = jpeg_with(&[segment(0xE1, b"Exif\0\0MM<?php echo 1;")]);
    // Refused before the Exif segment would have been dropped: the upload is judged whole.
    assert_eq!(refusal("a.jpg", &in_exif).reason(), "ScriptInside");
}

#[test]
fn svg_with_script_html_and_php_are_refused() {
    let svg =
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(document.cookie)</script></svg>";
    assert_eq!(
        refusal("logo.svg", svg),
        Refusal::ScriptInside {
            marker: "<script",
            offset: 40
        }
    );
    let plain_svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><rect width=\"1\"/></svg>";
    assert_eq!(
        refusal("logo.svg", plain_svg),
        Refusal::NotAllowedType {
            detected: "svg".into()
        }
    );
    assert_eq!(
        refusal("page.html", b"<html><body>hi</body></html>").reason(),
        "NotAllowedType"
    );
    assert_eq!(
        refusal("shell.php", b"<?php phpinfo();").reason(),
        "ScriptInside"
    );
    assert_eq!(
        refusal("shell.phtml", b"<?PHP phpinfo();").reason(),
        "ScriptInside"
    );
    assert_eq!(
        refusal("tool.exe", b"MZ\x90\0\x03\0\0\0").reason(),
        "NotAllowedType"
    );
    assert_eq!(
        refusal("a.jpg", b"GIF89a\x01\0\x01\0__HALT_COMPILER(); ?>"),
        Refusal::ScriptInside {
            marker: "__halt_compiler",
            offset: 10
        }
    );
}

#[test]
fn a_jpg_that_is_a_png_is_an_extension_mismatch() {
    assert_eq!(
        refusal("photo.jpg", &png()),
        Refusal::ExtensionMismatch {
            extension: "jpg".into(),
            detected: MediaType::Png
        }
    );
    let message = refusal("photo.jpg", &png()).to_string();
    assert!(
        message.contains(".jpg") && message.contains("image/png") && message.contains(".png"),
        "{message}"
    );
}

#[test]
fn a_jpeg_named_as_a_script_or_without_extension_is_refused() {
    for (name, ext) in [
        ("x.php", "php"),
        ("x.phtml", "phtml"),
        ("x.php5", "php5"),
        ("x.svg", "svg"),
        ("photo", ""),
    ] {
        assert_eq!(
            refusal(name, &plain_jpeg()),
            Refusal::ExtensionMismatch {
                extension: ext.into(),
                detected: MediaType::Jpeg
            },
            "{name}"
        );
    }
}

#[test]
fn a_pdf_with_javascript_is_refused_and_a_plain_one_taken() {
    let mut active = pdf();
    active.extend_from_slice(b"2 0 obj << /S /JavaScript /JS (app.alert(1)) >> endobj");
    assert_eq!(refusal("form.pdf", &active).reason(), "ScriptInside");
    let plain = pdf();
    let taken = inspect("Annual Report.pdf", &plain, LIMIT).expect("taken");
    assert_eq!(taken.file_name, "Annual-Report.pdf");
    assert_eq!(taken.media_type.mime_type(), "application/pdf");
}

#[test]
fn size_is_checked_first_and_the_limit_itself_is_allowed() {
    let jpeg = plain_jpeg();
    let size = jpeg.len() as u64;
    assert!(inspect("a.jpg", &jpeg, size).is_ok());
    assert_eq!(
        inspect("a.php", &jpeg, size - 1).unwrap_err(),
        Refusal::TooLarge {
            size,
            limit: size - 1
        }
    );
    assert_eq!(
        check_size(DEFAULT_MAX_BYTES + 1, DEFAULT_MAX_BYTES)
            .unwrap_err()
            .reason(),
        "TooLarge"
    );
    assert_eq!(DEFAULT_MAX_BYTES, 67_108_864);
}

#[test]
fn every_reason_has_its_stable_name() {
    let reasons = [
        Refusal::TooLarge { size: 2, limit: 1 },
        Refusal::BadName {
            name: "..".into(),
            why: "names a directory",
        },
        Refusal::NotAllowedType {
            detected: "svg".into(),
        },
        Refusal::ExtensionMismatch {
            extension: "jpg".into(),
            detected: MediaType::Png,
        },
        Refusal::ScriptInside {
            marker: "<?php",
            offset: 0,
        },
        Refusal::Damaged { detail: "x".into() },
        Refusal::Uninspectable { detail: "x".into() },
        Refusal::InvalidTenant {
            tenant: "A".into(),
            why: "tenant id \"A\" is not valid".into(),
        },
        Refusal::NotOnboarded {
            tenant: "gone".into(),
        },
    ];
    let names: Vec<&str> = reasons.iter().map(Refusal::reason).collect();
    assert_eq!(
        names,
        [
            "TooLarge",
            "BadName",
            "NotAllowedType",
            "ExtensionMismatch",
            "ScriptInside",
            "Damaged",
            "Uninspectable",
            "InvalidTenant",
            "NotOnboarded"
        ]
    );
    for r in &reasons {
        assert!(!r.to_string().is_empty());
    }
}

// ---- names ----

#[test]
fn paths_and_empty_names_are_bad_names() {
    for name in [
        "../x.jpg",
        "..\\x.jpg",
        "a/b.jpg",
        "/etc/passwd",
        "..",
        ".",
        "",
        "???",
        "-_.",
        "%+",
    ] {
        assert_eq!(refusal(name, &plain_jpeg()).reason(), "BadName", "{name:?}");
    }
    let long = format!("{}.jpg", "a".repeat(MAX_NAME_BYTES));
    assert_eq!(
        refusal(&long, &plain_jpeg()),
        Refusal::BadName {
            name: long.clone(),
            why: "is too long"
        }
    );
}

#[test]
fn names_are_cleaned_as_wordpress_cleans_them() {
    let exts = MediaType::all_extensions();
    let cases = [
        // Spaces to dashes, special characters removed, case kept.
        ("My Holiday Photo (1).JPG", "My-Holiday-Photo-1.JPG"),
        ("a  -  b.jpg", "a-b.jpg"),
        ("a\tb\r\nc.jpg", "a-b-c.jpg"),
        ("a\u{a0}b.jpg", "a-b.jpg"),
        // `%` and `+` go with the special characters before `%20` could be seen.
        ("photo%20one.jpg", "photo20one.jpg"),
        ("a+b.jpg", "ab.jpg"),
        ("what?[is]=<this>:;,'\"&$#*|~`!{}.png", "whatisthis.png"),
        (
            "\u{201c}quoted\u{201d} \u{ab}name\u{bb}.jpg",
            "quoted-name.jpg",
        ),
        ("it\u{2019}s.jpg", "its.jpg"),
        // Unicode letters are kept.
        ("naïve café.jpg", "naïve-café.jpg"),
        ("日本語 写真.png", "日本語-写真.png"),
        // Trimmed of dots, dashes and underscores; runs of dots made one.
        ("-_.photo.jpg._-", "photo.jpg"),
        ("photo...jpg", "photo.jpg"),
        // Control characters go (beyond WordPress).
        ("a\u{1}b\u{7f}.jpg", "ab.jpg"),
        // A name that is only an extension.
        ("jpg", "unnamed-file.jpg"),
        ("???.jpg", "unnamed-file.jpg"),
        // Middle extensions that are not allowed ones are defused.
        ("shell.php.jpg", "shell.php_.jpg"),
        ("test.phtml.txt", "test.phtml_.txt"),
        ("archive.tar.gz.jpg", "archive.tar_.gz_.jpg"),
        ("photo.png.jpg", "photo.png.jpg"),
        ("image.v2.jpg", "image.v2.jpg"),
        ("x.php5.jpg", "x.php5_.jpg"),
    ];
    for (raw, expected) in cases {
        assert_eq!(sanitize_file_name(raw, &exts), expected, "{raw:?}");
    }
}

#[test]
fn an_accepted_upload_keeps_its_cleaned_name() {
    let jpeg = plain_jpeg();
    let taken = inspect("Été à Paris.JPEG", &jpeg, LIMIT).expect("taken");
    assert_eq!(taken.file_name, "Été-à-Paris.JPEG");
    assert_eq!(taken.media_type, MediaType::Jpeg);
    let image = png();
    let taken = inspect("shell.php.png", &image, LIMIT).expect("taken");
    assert_eq!(taken.file_name, "shell.php_.png");
}

#[test]
fn clashes_are_numbered_as_wordpress_numbers_them() {
    let existing = ["photo.jpg", "photo-1.jpg", "README", "Logo.PNG"];
    let exists = |n: &str| existing.contains(&n);
    assert_eq!(unique_name("new.jpg", exists), "new.jpg");
    assert_eq!(unique_name("photo.jpg", exists), "photo-2.jpg");
    assert_eq!(unique_name("photo-1.jpg", exists), "photo-1-1.jpg");
    assert_eq!(unique_name("README", exists), "README-1");
    // The extension's case does not make a name free.
    assert_eq!(unique_name("Logo.png", exists), "Logo-1.png");
    assert_eq!(unique_name("photo.JPG", exists), "photo-2.JPG");
    let only = |n: &str| n == "a.jpg";
    assert_eq!(unique_name("a.jpg", only), "a-1.jpg");
}

proptest! {
    #[test]
    fn a_cleaned_name_is_never_a_path(raw in "\\PC{0,40}") {
        if let Ok(name) = clean_name(&raw) {
            prop_assert!(!name.is_empty());
            prop_assert!(!name.contains('/') && !name.contains('\\') && !name.contains('\0'));
            prop_assert!(!name.contains(".."));
            prop_assert!(!name.starts_with(['.', '-', '_']));
            prop_assert!(!name.ends_with(['.', '-', '_']));
            prop_assert!(!name.chars().any(char::is_control));
        }
    }

    #[test]
    fn names_with_separators_are_always_refused(a in "[a-z]{0,8}", b in "[a-z]{0,8}", sep in "[/\\\\]") {
        let raw = format!("{a}{sep}{b}.jpg");
        prop_assert_eq!(clean_name(&raw).unwrap_err().reason(), "BadName");
    }

    #[test]
    fn the_script_scan_finds_php_anywhere(prefix in proptest::collection::vec(any::<u8>(), 0..200), case in 0u8..32) {
        let marker: String = "<?php".chars().enumerate()
            .map(|(i, c)| if case & (1 << i) != 0 { c.to_ascii_uppercase() } else { c })
            .collect();
        let mut bytes = prefix.clone();
        bytes.extend_from_slice(marker.as_bytes());
        let (_, at) = find_script(&bytes).expect("found");
        prop_assert!(at <= prefix.len());
    }
}

// ---- JPEG metadata ----

#[test]
fn exif_is_dropped_and_every_other_byte_kept() {
    let icc = segment(0xE2, b"ICC_PROFILE\0\x01\x01profile bytes");
    let comment = segment(0xFE, b"a comment");
    let with = jpeg_with(&[app0_jfif(), exif_with_gps(), icc.clone(), comment.clone()]);
    // The ICC profile renders the colours and stays; the comment is metadata and goes.
    let without = jpeg_with(&[app0_jfif(), icc]);
    let stripped = strip_metadata(&with).expect("read");
    assert_eq!(stripped.bytes.as_ref(), without.as_slice());
    assert_eq!(stripped.segments_removed, 2);
    assert_eq!(
        stripped.bytes_removed,
        exif_with_gps().len() + comment.len()
    );
    assert!(sniff::find(&stripped.bytes, b"GPS").is_none());
}

#[test]
fn xmp_goes_too_and_so_does_every_other_app1_segment() {
    let other_app1 = segment(0xE1, b"SomeVendor\0data");
    let with = jpeg_with(&[
        exif_with_gps(),
        app0_jfif(),
        xmp(),
        other_app1,
        exif_with_gps(),
    ]);
    let stripped = strip_metadata(&with).expect("read");
    assert_eq!(
        stripped.bytes.as_ref(),
        jpeg_with(&[app0_jfif()]).as_slice()
    );
    assert_eq!(stripped.segments_removed, 4);
}

#[test]
fn a_jpeg_without_metadata_is_returned_as_it_is() {
    let jpeg = plain_jpeg();
    let stripped = strip_metadata(&jpeg).expect("read");
    assert!(matches!(stripped.bytes, Cow::Borrowed(_)));
    assert_eq!(stripped.bytes.as_ref(), jpeg.as_slice());
    assert_eq!((stripped.segments_removed, stripped.bytes_removed), (0, 0));
}

#[test]
fn fill_bytes_and_restart_markers_before_the_scan_are_kept() {
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xFF];
    jpeg.extend(app0_jfif());
    jpeg.extend(exif_with_gps());
    jpeg.extend(image_body());
    let stripped = strip_metadata(&jpeg).expect("read");
    let mut expected = vec![0xFF, 0xD8, 0xFF, 0xFF];
    expected.extend(app0_jfif());
    expected.extend(image_body());
    assert_eq!(stripped.bytes.as_ref(), expected.as_slice());
}

#[test]
fn a_jpeg_that_cannot_be_read_is_refused_as_damaged() {
    let mut truncated = vec![0xFF, 0xD8];
    truncated.extend(app0_jfif());
    truncated.extend_from_slice(&[0xFF, 0xE1, 0x40, 0x00, b'E']);
    assert!(strip_metadata(&truncated).is_err());
    assert_eq!(refusal("a.jpg", &truncated).reason(), "Damaged");
    // Garbage where a marker should be, a file that ends after its first marker.
    assert!(strip_metadata(&[0xFF, 0xD8, 0x00, 0x01]).is_err());
    assert!(strip_metadata(&[0xFF, 0xD8]).is_err());
    assert!(strip_metadata(b"not a jpeg").is_err());
}

#[test]
fn an_accepted_jpeg_is_written_without_its_exif() {
    let with = jpeg_with(&[app0_jfif(), exif_with_gps()]);
    let taken = inspect("IMG 0001.jpg", &with, LIMIT).expect("taken");
    assert_eq!(taken.file_name, "IMG-0001.jpg");
    assert_eq!(taken.content.as_ref(), plain_jpeg().as_slice());
    assert_eq!(taken.metadata_segments_removed, 1);
    // Other types are written as they came.
    let image = png();
    let taken = inspect("a.png", &image, LIMIT).expect("taken");
    assert!(matches!(taken.content, Cow::Borrowed(_)));
}

// ---- the rules of issue 25, each with its fixture ----

#[test]
fn every_php_open_tag_form_is_refused() {
    let cases: [(&[u8], &str); 9] = [
        (b"<?php echo 1;", "<?php"),
        (b"<?PhP echo 1;", "<?php"),
        (b"<?= $x ?>", "<?="),
        (b"<? echo 1; ?>", "<?"),
        (b"<?echo 1;?>", "<?"),
        (b"\xEF\xBB\xBF \r\n\t<? echo 1;", "<?"),
        (b"\xEF\xBB\xBF<?= 1 ?>", "<?="),
        (
            b"<script language=\"php\">system('id');</script>",
            "<script",
        ),
        (b"<SCRIPT LANGUAGE='PHP'>system('id');</SCRIPT>", "<script"),
    ];
    for (bytes, marker) in cases {
        assert_eq!(
            find_script(bytes).map(|(m, _)| m),
            Some(marker),
            "{}",
            String::from_utf8_lossy(bytes)
        );
        assert_eq!(refusal("a.jpg", bytes).reason(), "ScriptInside");
    }
    // Polyglots: a valid image with the tag inside, in any case.
    let mut gif = b"GIF89a\x01\0\x01\0\0\0\0;".to_vec();
    gif.extend_from_slice(b"<sCrIpT language=php>");
    assert_eq!(refusal("a.gif", &gif).reason(), "ScriptInside");
    // A short tag's two bytes inside binary data are chance, not a tag a file starts with.
    let mut image = png();
    image.extend_from_slice(b"\x00<?\x91");
    assert!(inspect("a.png", &image, LIMIT).is_ok());
}

#[test]
fn pdf_names_are_judged_with_their_escapes_decoded() {
    for hidden in [
        &b"/S /Java#53cript /JS (app.alert(1))"[..],
        b"/S /J#61v#61Script",
        b"/#4A#53 (app.alert(1))",
        b"/S /Launch /F (cmd.exe)",
        b"/S /L#61unch",
    ] {
        let mut doc = pdf();
        doc.extend_from_slice(b"3 0 obj << ");
        doc.extend_from_slice(hidden);
        doc.extend_from_slice(b" >> endobj\n");
        assert_eq!(
            refusal("a.pdf", &doc).reason(),
            "ScriptInside",
            "{}",
            String::from_utf8_lossy(hidden)
        );
    }
    // A name that only starts like one is another name.
    let mut doc = pdf();
    doc.extend_from_slice(b"3 0 obj << /JSONish 1 /Launcher 2 >> endobj\n");
    assert!(inspect("a.pdf", &doc, LIMIT).is_ok());
}

#[test]
fn a_pdf_with_compressed_object_streams_is_refused_as_uninspectable() {
    for marker in [&b"/Type /ObjStm"[..], b"/Type /Obj#53tm"] {
        let mut doc = pdf();
        doc.extend_from_slice(b"4 0 obj << ");
        doc.extend_from_slice(marker);
        doc.extend_from_slice(b" /N 1 /First 4 /Filter /FlateDecode /Length 5 >>\nstream\nx\x9c\x01\x02\x03\nendstream endobj\n");
        assert_eq!(refusal("a.pdf", &doc).reason(), "Uninspectable");
    }
    // A compressed page content stream is content, not objects: taken; what is inside a
    // stream is never read as names.
    let mut doc = pdf();
    doc.extend_from_slice(
        b"5 0 obj << /Filter /FlateDecode /Length 9 >>\nstream\n/JS <?x\x9c\nendstream endobj\n",
    );
    assert!(inspect("a.pdf", &doc, LIMIT).is_ok());
    // A short PHP tag in the PDF's text is refused.
    let mut doc = pdf();
    doc.extend_from_slice(b"% <?= `id` ?>\n");
    assert_eq!(refusal("a.pdf", &doc).reason(), "ScriptInside");
}

#[test]
fn a_jpeg_must_reach_its_end_of_image_and_what_follows_is_dropped() {
    // No end of image: damaged.
    let mut open = plain_jpeg();
    open.truncate(open.len() - 2);
    assert_eq!(refusal("a.jpg", &open).reason(), "Damaged");
    // Data after the end of image: dropped.
    let mut trailing = plain_jpeg();
    trailing.extend_from_slice(b"ZIP archive or anything else");
    let taken = inspect("a.jpg", &trailing, LIMIT).expect("taken");
    assert_eq!(taken.content.as_ref(), plain_jpeg().as_slice());
    assert_eq!(taken.metadata_segments_removed, 1);
    // A start and an end marker with anything between them is no JPEG.
    assert_eq!(
        refusal("a.jpg", b"\xFF\xD8\xFF\xE0 anything at all \xFF\xD9").reason(),
        "Damaged"
    );
}

#[test]
fn a_progressive_jpeg_is_read_scan_by_scan() {
    let mut j = vec![0xFF, 0xD8];
    j.extend(app0_jfif());
    j.extend(segment(0xDB, &[0u8; 65]));
    j.extend(segment(0xC2, b"\x08\0\x01\0\x01\x01\x01\x11\0"));
    j.extend(segment(0xC4, &[0u8; 20]));
    j.extend(segment(0xDA, b"\x01\x01\0\0\0\0"));
    j.extend_from_slice(b"\x12\xFF\x00\x34\xFF\xD0\x56");
    j.extend(segment(0xC4, &[0u8; 20]));
    j.extend(segment(0xFE, b"a comment between scans"));
    j.extend(segment(0xDA, b"\x01\x01\0\x01\x3f\0"));
    j.extend_from_slice(b"\x78\x9a\xFF\xD9");
    let stripped = strip_metadata(&j).expect("read");
    assert_eq!(stripped.segments_removed, 1, "the comment");
    assert!(sniff::find(&stripped.bytes, b"a comment").is_none());
    assert!(stripped.bytes.ends_with(&[0xFF, 0xD9]));
}

#[test]
fn every_metadata_segment_goes_and_what_renders_the_image_stays() {
    let icc = segment(0xE2, b"ICC_PROFILE\0\x01\x01profile bytes");
    let adobe = segment(0xEE, b"Adobe\0\x64\0\0\0\0\x01");
    let removed = [
        exif_with_gps(),
        xmp(),
        segment(0xE1, b"SomeVendor\0data"),
        segment(0xE2, b"MPF\0multi-picture"),
        segment(0xED, b"Photoshop 3.0\08BIM IPTC city"),
        segment(0xEC, b"Ducky quality"),
        segment(0xE0, b"AVI1 not JFIF"),
        segment(0xFE, b"a comment"),
    ];
    let mut all = vec![app0_jfif(), icc.clone(), adobe.clone()];
    all.extend(removed.iter().cloned());
    let with = jpeg_with(&all);
    let stripped = strip_metadata(&with).expect("read");
    assert_eq!(
        stripped.bytes.as_ref(),
        jpeg_with(&[app0_jfif(), icc, adobe]).as_slice()
    );
    assert_eq!(stripped.segments_removed, removed.len());
}

#[test]
fn audio_needs_more_than_one_frame_header() {
    // One MP3 frame header alone, or one with garbage where the next frame is due.
    assert_eq!(sniff(&mp3_frame()), Sniffed::Other("unknown"));
    let mut broken = mp3_frame();
    broken.extend_from_slice(&[0u8; 417]);
    assert_eq!(sniff(&broken), Sniffed::Other("unknown"));
    // An ID3 tag over nothing.
    assert_eq!(
        sniff(b"ID3\x04\0\0\0\0\0\x0frest of the tag"),
        Sniffed::Other("unknown")
    );
    // One Ogg page.
    assert_eq!(
        sniff(&ogg_page(b"\x01vorbis\0\0\0\0", 0)),
        Sniffed::Other("ogg (one page)")
    );
    // A WAV header without its format and data chunks.
    assert_eq!(
        sniff(&riff(b"WAVE")),
        Sniffed::Other("wav without its format and data")
    );
}

#[test]
fn names_lose_bidirectional_and_zero_width_characters() {
    let exts = MediaType::all_extensions();
    // "photo\u{202E}gpj.exe" shows as "photoexe.jpg".
    assert_eq!(
        sanitize_file_name("photo\u{202E}gpj.php", &exts),
        "photogpj.php"
    );
    for c in name::INVISIBLE {
        let raw = format!("a{c}b.jpg");
        assert_eq!(
            sanitize_file_name(&raw, &exts),
            "ab.jpg",
            "U+{:04X}",
            *c as u32
        );
    }
    assert_eq!(
        clean_name("\u{FEFF}\u{200B}\u{2066}cat\u{2069}.jpg").unwrap(),
        "cat.jpg"
    );
}
