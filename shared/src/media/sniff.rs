//! What a file is, from its first bytes, never from its name; and whether script hides
//! anywhere in it.

use super::MediaType;

/// What the content of a file was found to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    /// One of the allowed media types.
    Allowed(MediaType),
    /// Anything else, named for the refusal (`svg`, `html`, `executable (ELF)`, ...).
    Other(&'static str),
}

/// The type of `bytes`, from their magic numbers.
pub fn sniff(bytes: &[u8]) -> Sniffed {
    use MediaType::*;
    use Sniffed::{Allowed, Other};
    let b = bytes;
    if b.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Allowed(Jpeg);
    }
    if b.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Allowed(Png);
    }
    if b.starts_with(b"GIF87a") || b.starts_with(b"GIF89a") {
        return Allowed(Gif);
    }
    if b.starts_with(b"%PDF-") {
        return Allowed(Pdf);
    }
    if b.len() >= 12 && b.starts_with(b"RIFF") {
        return match &b[8..12] {
            b"WEBP" => Allowed(Webp),
            // The format chunk first, and sound data after it: not four bytes alone.
            b"WAVE"
                if b.get(12..16) == Some(b"fmt ")
                    && find(&b[..b.len().min(4096)], b"data").is_some() =>
            {
                Allowed(Wav)
            }
            b"WAVE" => Other("wav without its format and data"),
            b"AVI " => Other("avi"),
            _ => Other("riff"),
        };
    }
    if b.len() >= 12 && &b[4..8] == b"ftyp" {
        return iso_media(b);
    }
    if b.starts_with(b"OggS") {
        return ogg(b);
    }
    if b.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        let head = &b[..b.len().min(64)];
        // The EBML header's DocType element (0x4282) names the flavour of Matroska.
        return match find(head, b"\x42\x82") {
            Some(at) if head[at + 2..].iter().skip(1).take(4).eq(b"webm".iter()) => Allowed(Webm),
            _ => Other("matroska"),
        };
    }
    if is_ico(b) {
        return Allowed(Ico);
    }
    if is_mp3(b) {
        return Allowed(Mp3);
    }
    if let Some(other) = refused_kind(b) {
        return Other(other);
    }
    Other("unknown")
}

/// ISO base media files (`ftyp` box first): told apart by their major and compatible brands.
fn iso_media(b: &[u8]) -> Sniffed {
    use MediaType::*;
    use Sniffed::{Allowed, Other};
    let size = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let box_end = size.clamp(12, b.len().min(4096));
    let major = &b[8..12];
    let compatible: Vec<&[u8]> = b[16.min(box_end)..box_end].chunks_exact(4).collect();
    let has = |brand: &[u8]| major == brand || compatible.contains(&brand);
    match major {
        b"avif" | b"avis" => return Allowed(Avif),
        b"mif1" | b"msf1" if has(b"avif") || has(b"avis") => return Allowed(Avif),
        b"heic" | b"heix" | b"hevc" | b"hevx" | b"heim" | b"heis" | b"hevm" | b"hevs" | b"mif1"
        | b"msf1" => return Other("heic"),
        b"M4A " | b"M4B " => return Allowed(M4a),
        b"qt  " => return Allowed(Mov),
        b"isom" | b"iso2" | b"iso3" | b"iso4" | b"iso5" | b"iso6" | b"mp41" | b"mp42" | b"avc1"
        | b"M4V " | b"M4VH" | b"M4VP" | b"dash" | b"mmp4" | b"MSNV" | b"f4v " => {
            return Allowed(Mp4)
        }
        _ => {}
    }
    if major.starts_with(b"3g") {
        Other("3gp")
    } else {
        Other("iso media")
    }
}

/// An Ogg stream is audio when its first packet starts a Vorbis, Opus or FLAC stream.
fn ogg(b: &[u8]) -> Sniffed {
    // The first page's header is 27 bytes, then its segment table (one byte per segment).
    let Some(&segments) = b.get(26) else {
        return Sniffed::Other("ogg");
    };
    let packet = b.get(27 + segments as usize..).unwrap_or_default();
    // A second page must follow the first: one page header alone turns up in anything.
    let first_len: usize = b
        .get(27..27 + segments as usize)
        .map_or(0, |lacing| lacing.iter().map(|l| *l as usize).sum());
    let second = b
        .get(27 + segments as usize + first_len..)
        .unwrap_or_default();
    if !second.starts_with(b"OggS") {
        return Sniffed::Other("ogg (one page)");
    }
    if packet.starts_with(b"\x01vorbis")
        || packet.starts_with(b"OpusHead")
        || packet.starts_with(b"\x7fFLAC")
    {
        Sniffed::Allowed(MediaType::Ogg)
    } else if packet.starts_with(b"\x80theora") {
        Sniffed::Other("ogg video")
    } else {
        Sniffed::Other("ogg")
    }
}

/// An icon directory (`00 00 01 00`, at least one image, whose data lies after the
/// directory and inside the file): four bytes of magic alone would match too much.
fn is_ico(b: &[u8]) -> bool {
    if !b.starts_with(&[0, 0, 1, 0]) || b.len() < 22 {
        return false;
    }
    let count = u16::from_le_bytes([b[4], b[5]]) as usize;
    let offset = u32::from_le_bytes([b[18], b[19], b[20], b[21]]) as usize;
    count > 0 && b[9] == 0 && offset >= 6 + 16 * count && offset < b.len()
}

/// An MPEG-1/2 Layer III frame header: its frame's length in bytes, if it is one.
fn mpeg_audio_frame(b: &[u8]) -> Option<usize> {
    if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b[1] >> 3) & 0b11; // 00 MPEG-2.5, 01 reserved, 10 MPEG-2, 11 MPEG-1
    let layer = (b[1] >> 1) & 0b11; // 01 is Layer III
    let bitrate = (b[2] >> 4) as usize; // 0000 (free) and 1111 (bad) are not taken
    let sample_rate = ((b[2] >> 2) & 0b11) as usize; // 11 is reserved
    let padding = ((b[2] >> 1) & 1) as usize;
    if version == 0b01 || layer != 0b01 || bitrate == 0 || bitrate == 0xF || sample_rate == 0b11 {
        return None;
    }
    // ISO 11172-3 and 13818-3's Layer III tables, in kbit/s and Hz.
    const MPEG1_KBPS: [usize; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const MPEG2_KBPS: [usize; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    const RATES: [usize; 3] = [44_100, 48_000, 32_000];
    let (kbps, rate, per_frame) = match version {
        0b11 => (MPEG1_KBPS[bitrate], RATES[sample_rate], 144),
        0b10 => (MPEG2_KBPS[bitrate], RATES[sample_rate] / 2, 72),
        _ => (MPEG2_KBPS[bitrate], RATES[sample_rate] / 4, 72),
    };
    Some(per_frame * kbps * 1000 / rate + padding)
}

/// MP3: frame headers one after the other, at least [`MP3_FRAMES`] of them, after an ID3v2
/// tag if there is one. One header is four bytes that turn up by chance.
fn is_mp3(b: &[u8]) -> bool {
    let mut at = 0;
    if b.starts_with(b"ID3") && b.len() >= 10 && (2..=4).contains(&b[3]) {
        // The tag's size: four bytes of seven bits each, after its 10-byte header.
        let size = b[6..10]
            .iter()
            .fold(0usize, |n, x| (n << 7) | (*x as usize & 0x7F));
        at = 10 + size;
    }
    for _ in 0..MP3_FRAMES {
        match b.get(at..).and_then(mpeg_audio_frame) {
            Some(length) => at += length,
            None => return false,
        }
    }
    true
}

/// How many frame headers in a row make an MP3.
pub const MP3_FRAMES: usize = 2;

/// Names what is never allowed, so that the refusal says what the file was.
fn refused_kind(b: &[u8]) -> Option<&'static str> {
    const KINDS: &[(&[u8], &str)] = &[
        (b"\x7fELF", "executable (ELF)"),
        (b"MZ", "executable (PE)"),
        (&[0xFE, 0xED, 0xFA, 0xCE], "executable (Mach-O)"),
        (&[0xFE, 0xED, 0xFA, 0xCF], "executable (Mach-O)"),
        (&[0xCE, 0xFA, 0xED, 0xFE], "executable (Mach-O)"),
        (&[0xCF, 0xFA, 0xED, 0xFE], "executable (Mach-O)"),
        (
            &[0xCA, 0xFE, 0xBA, 0xBE],
            "executable (Mach-O universal or Java class)",
        ),
        (b"#!", "script (#!)"),
        (b"PK\x03\x04", "zip archive"),
    ];
    if let Some((_, name)) = KINDS.iter().find(|(magic, _)| b.starts_with(magic)) {
        return Some(name);
    }
    // Markup: after a byte-order mark and white space, a `<`.
    let text = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let start = text.iter().position(|c| !c.is_ascii_whitespace())?;
    let text = &text[start..text.len().min(start + 4096)];
    if !text.starts_with(b"<") {
        return None;
    }
    Some(if find_ignore_case(text, b"<svg").is_some() {
        "svg"
    } else if find_ignore_case(text, b"<html").is_some()
        || find_ignore_case(text, b"<!doctype html").is_some()
    {
        "html"
    } else {
        "markup"
    })
}

/// What marks script a server or browser would run, searched for anywhere in a file, in any
/// letter case. `<?php` runs as PHP wherever the file is included or served as PHP (a JPEG
/// with PHP in a comment or after its end is still a valid JPEG); `<script` runs in a browser
/// that renders the bytes as markup, and is PHP's own `<script language="php">` open tag
/// (PHP 5); `__halt_compiler` ends a PHP archive's (phar's) stub, which makes any file a
/// phar that a `phar://` path would deserialize.
pub const SCRIPT_MARKERS: &[&str] = &["<?php", "<script", "__halt_compiler"];

/// PHP's short open tags: `<?=` (always on) and `<?` (with `short_open_tag`, PHP's own
/// default). Two or three bytes turn up by chance in compressed data (`<?` about sixteen
/// times in a megabyte), so they are looked for where text is: the file's start, after a
/// byte-order mark and white space, and the whole of a PDF's text outside its streams.
pub const SHORT_OPEN_TAGS: &[&str] = &["<?=", "<?"];

/// The first script marker in `bytes` and where it starts: a [`SCRIPT_MARKERS`] anywhere,
/// or a short open tag ([`SHORT_OPEN_TAGS`]) at the file's start.
pub fn find_script(bytes: &[u8]) -> Option<(&'static str, usize)> {
    let head = head_text_start(bytes);
    let text = &bytes[head..];
    let long = text
        .get(..5)
        .is_some_and(|w| w.eq_ignore_ascii_case(b"<?php"));
    if text.starts_with(b"<?") && !long {
        let marker = if text.starts_with(b"<?=") {
            "<?="
        } else {
            "<?"
        };
        return Some((marker, head));
    }
    find_marker(bytes, SCRIPT_MARKERS)
}

/// Where the first byte of text lies: after a UTF-8, UTF-16 or UTF-32 byte-order mark, and
/// white space.
fn head_text_start(bytes: &[u8]) -> usize {
    let bom = [&b"\xEF\xBB\xBF"[..], b"\xFE\xFF", b"\xFF\xFE"]
        .iter()
        .find(|b| bytes.starts_with(b))
        .map_or(0, |b| b.len());
    bom + bytes[bom..]
        .iter()
        .take_while(|c| c.is_ascii_whitespace() || **c == 0)
        .count()
}

/// The first of `markers` in `bytes`, in any letter case, and where it starts.
pub fn find_marker(bytes: &[u8], markers: &[&'static str]) -> Option<(&'static str, usize)> {
    let firsts: Vec<u8> = markers
        .iter()
        .map(|m| m.as_bytes()[0].to_ascii_lowercase())
        .collect();
    bytes.iter().enumerate().find_map(|(at, byte)| {
        if !firsts.contains(&byte.to_ascii_lowercase()) {
            return None;
        }
        markers
            .iter()
            .find(|m| {
                bytes
                    .get(at..at + m.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(m.as_bytes()))
            })
            .map(|m| (*m, at))
    })
}

/// Why a PDF may not go in, judged on its names with their `#xx` escapes decoded (PDF 32000
/// §7.3.5: `/Java#53cript` is `/JavaScript`):
///
/// - a JavaScript action (`/JavaScript`, `/JS`) or one that starts a program (`/Launch`):
///   script inside;
/// - a compressed object stream (`/ObjStm`, PDF 1.5): the objects in it, actions included,
///   cannot be inspected without inflating them, and no well-kept parser is linked here to
///   do it, so such a PDF is refused (re-saving it without object streams, "PDF 1.4", is
///   what the refusal asks). Other compressed streams hold page content or images, never a
///   dictionary a viewer acts on, so they are left as they are.
/// - outside streams, a PHP short open tag ([`SHORT_OPEN_TAGS`]): a PDF's body is text.
pub fn pdf_refusal(bytes: &[u8]) -> Option<(&'static str, usize)> {
    let mut at = 0;
    while at < bytes.len() {
        // A stream's data is skipped: names and tags are judged in the PDF's text.
        if bytes[at..].starts_with(b"stream") && (at == 0 || !bytes[at - 1].is_ascii_alphabetic()) {
            match find(&bytes[at..], b"endstream") {
                Some(end) => {
                    at += end + b"endstream".len();
                    continue;
                }
                None => return Some(("stream without endstream", at)),
            }
        }
        if bytes[at] == b'<' && bytes.get(at + 1) == Some(&b'?') {
            return Some(("<?", at));
        }
        if bytes[at] == b'/' {
            let (name, len) = pdf_name(&bytes[at + 1..]);
            for (bad, marker) in [
                (&b"JavaScript"[..], "/JavaScript"),
                (b"JS", "/JS"),
                (b"Launch", "/Launch"),
                (b"ObjStm", "/ObjStm"),
            ] {
                if name == bad {
                    return Some((marker, at));
                }
            }
            at += 1 + len;
            continue;
        }
        at += 1;
    }
    None
}

/// A PDF name's bytes (after its `/`) with `#xx` decoded, and how many bytes it took.
fn pdf_name(bytes: &[u8]) -> (Vec<u8>, usize) {
    const DELIMITERS: &[u8] = b"()<>[]{}/%";
    let mut name = Vec::new();
    let mut at = 0;
    while let Some(&c) = bytes.get(at) {
        if c.is_ascii_whitespace() || c == 0 || DELIMITERS.contains(&c) {
            break;
        }
        let hex = |b: u8| (b as char).to_digit(16);
        if c == b'#' {
            if let (Some(h), Some(l)) = (
                bytes.get(at + 1).and_then(|b| hex(*b)),
                bytes.get(at + 2).and_then(|b| hex(*b)),
            ) {
                name.push((h * 16 + l) as u8);
                at += 3;
                continue;
            }
        }
        name.push(c);
        at += 1;
    }
    (name, at)
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where `needle` first occurs in `haystack`, in any ASCII letter case.
pub(crate) fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}
