//! Removing a JPEG's Exif and XMP metadata (camera, time, GPS position) without decoding or
//! recompressing it: the APP1 segments that carry them are dropped, and every other byte is
//! kept as it was.
//!
//! A JPEG is a sequence of marker segments (`FF xx`, then a two-byte big-endian length that
//! counts itself) up to the first start-of-scan (`FF DA`), after which the compressed image
//! data follows; that part, and anything after it, is copied untouched.

use std::borrow::Cow;

/// Identifies an Exif APP1 segment (after its length).
const EXIF: &[u8] = b"Exif\0\0";
/// Identifies an XMP APP1 segment, which may hold the same GPS position as Exif.
const XMP: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";
/// Identifies an extended XMP APP1 segment (the rest of a long XMP packet).
const XMP_EXTENSION: &[u8] = b"http://ns.adobe.com/xmp/extension/\0";

/// A JPEG with its metadata segments dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct Stripped<'a> {
    pub bytes: Cow<'a, [u8]>,
    /// How many segments were dropped (0: `bytes` is the input, borrowed).
    pub segments_removed: usize,
    /// How many bytes they held.
    pub bytes_removed: usize,
}

/// Why a file that starts as a JPEG could not be read as one.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a well-formed JPEG: {0}")]
pub struct Malformed(pub String);

/// `jpeg` without its Exif and XMP APP1 segments.
pub fn strip_metadata(jpeg: &[u8]) -> Result<Stripped<'_>, Malformed> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(Malformed("no start-of-image marker".into()));
    }
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    let mut at = 2;
    loop {
        if at >= jpeg.len() {
            return Err(Malformed(format!(
                "ended at byte {at} before any image data"
            )));
        }
        if jpeg[at] != 0xFF {
            return Err(Malformed(format!("no marker at byte {at}")));
        }
        let start = at;
        // A marker may be preceded by any number of 0xFF fill bytes.
        while at < jpeg.len() && jpeg[at] == 0xFF {
            at += 1;
        }
        let Some(&marker) = jpeg.get(at) else {
            return Err(Malformed("ended inside a marker".into()));
        };
        at += 1;
        match marker {
            // Start of scan or end of image: the rest is copied as it is.
            0xDA | 0xD9 => break,
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            _ => {}
        }
        let Some(length) = jpeg.get(at..at + 2) else {
            return Err(Malformed(format!(
                "ended inside the length of marker {marker:02X}"
            )));
        };
        let length = u16::from_be_bytes([length[0], length[1]]) as usize;
        if length < 2 || at + length > jpeg.len() {
            return Err(Malformed(format!(
                "segment {marker:02X} at byte {start} claims {length} bytes, past the end"
            )));
        }
        let payload = &jpeg[at + 2..at + length];
        at += length;
        if marker == 0xE1
            && (payload.starts_with(EXIF)
                || payload.starts_with(XMP)
                || payload.starts_with(XMP_EXTENSION))
        {
            dropped.push((start, at));
        }
    }
    if dropped.is_empty() {
        return Ok(Stripped {
            bytes: Cow::Borrowed(jpeg),
            segments_removed: 0,
            bytes_removed: 0,
        });
    }
    let removed: usize = dropped.iter().map(|(s, e)| e - s).sum();
    let mut out = Vec::with_capacity(jpeg.len() - removed);
    let mut from = 0;
    for (start, end) in &dropped {
        out.extend_from_slice(&jpeg[from..*start]);
        from = *end;
    }
    out.extend_from_slice(&jpeg[from..]);
    Ok(Stripped {
        bytes: Cow::Owned(out),
        segments_removed: dropped.len(),
        bytes_removed: removed,
    })
}
