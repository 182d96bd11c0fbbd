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
            b"WAVE" => Allowed(Wav),
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
    if (b.starts_with(b"ID3") && b.len() > 3 && (2..=4).contains(&b[3])) || is_mpeg_audio_frame(b) {
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

/// An MPEG-1/2 Layer III frame header without an ID3 tag before it.
fn is_mpeg_audio_frame(b: &[u8]) -> bool {
    if b.len() < 4 || b[0] != 0xFF || b[1] & 0xE0 != 0xE0 {
        return false;
    }
    let version = (b[1] >> 3) & 0b11; // 01 is reserved
    let layer = (b[1] >> 1) & 0b11; // 01 is Layer III
    let bitrate = b[2] >> 4; // 0000 (free) and 1111 (bad) are not taken
    let sample_rate = (b[2] >> 2) & 0b11; // 11 is reserved
    version != 0b01 && layer == 0b01 && bitrate != 0 && bitrate != 0xF && sample_rate != 0b11
}

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
/// that renders the bytes as markup; `__halt_compiler` ends a PHP archive's (phar's) stub,
/// which makes any file a phar that a `phar://` path would deserialize. `<?=` is left out:
/// three bytes turn up by chance in about one megabyte of compressed data in sixteen.
pub const SCRIPT_MARKERS: &[&str] = &["<?php", "<script", "__halt_compiler"];

/// The first script marker in `bytes` and where it starts.
pub fn find_script(bytes: &[u8]) -> Option<(&'static str, usize)> {
    let firsts: Vec<u8> = SCRIPT_MARKERS.iter().map(|m| m.as_bytes()[0]).collect();
    bytes.iter().enumerate().find_map(|(at, byte)| {
        if !firsts.contains(byte) {
            return None;
        }
        SCRIPT_MARKERS
            .iter()
            .find(|m| {
                bytes
                    .get(at..at + m.len())
                    .is_some_and(|w| w.eq_ignore_ascii_case(m.as_bytes()))
            })
            .map(|m| (*m, at))
    })
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
