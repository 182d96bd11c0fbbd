//! Reading a JPEG segment by segment to its end, and writing it back with only what a
//! viewer needs to render it: no metadata (camera, time, GPS position, comments), nothing
//! after its end. Nothing is decoded or recompressed.
//!
//! A JPEG is a sequence of marker segments (`FF xx`, then a two-byte big-endian length that
//! counts itself); each start of scan (`FF DA`) is followed by entropy-coded data, which
//! runs to the next marker that is not a stuffed `FF 00` or a restart (`FF D0`–`FF D7`);
//! more segments and scans may follow (a progressive JPEG) until the end of image (`FF D9`).
//! A file that does not reach its end of image this way is damaged.
//!
//! Kept: every segment the decoder needs (tables, frames, scans, restart intervals), APP0
//! `JFIF`/`JFXX` (pixel aspect), APP14 `Adobe` (how the colour channels are coded: without
//! it a CMYK or YCCK image renders with wrong colours) and APP2 `ICC_PROFILE` (the colour
//! space: without it a wide-gamut photo renders dull; it holds colour data only). Removed:
//! every other APPn (Exif, XMP, Photoshop IRB with its IPTC, vendor data), every comment
//! (`COM`), and anything after the end of image.

use std::borrow::Cow;

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

/// Whether the segment `marker` with `payload` is kept.
fn kept(marker: u8, payload: &[u8]) -> bool {
    match marker {
        0xE0 => payload.starts_with(b"JFIF\0") || payload.starts_with(b"JFXX\0"),
        0xE2 => payload.starts_with(b"ICC_PROFILE\0"),
        0xEE => payload.starts_with(b"Adobe"),
        0xE1 | 0xE3..=0xED | 0xEF | 0xFE => false,
        _ => true,
    }
}

/// `jpeg` read to its end of image: without its metadata segments and anything after it.
pub fn strip_metadata(jpeg: &[u8]) -> Result<Stripped<'_>, Malformed> {
    if !jpeg.starts_with(&[0xFF, 0xD8]) {
        return Err(Malformed("no start-of-image marker".into()));
    }
    let mut dropped: Vec<(usize, usize)> = Vec::new();
    let mut at = 2;
    let mut scans = 0;
    let end = loop {
        if at >= jpeg.len() {
            return Err(Malformed(format!(
                "ended at byte {at} before its end-of-image marker"
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
            0xD9 if scans > 0 => break at,
            0xD9 => return Err(Malformed("an end of image before any image data".into())),
            // Markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0x00 => {
                return Err(Malformed(format!(
                    "a stuffed byte where a marker was due, at {start}"
                )))
            }
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
        if !kept(marker, payload) {
            dropped.push((start, at));
        }
        if marker == 0xDA {
            scans += 1;
            at = entropy_coded_end(jpeg, at)?;
        }
    };
    let trailing = jpeg.len() - end;
    if dropped.is_empty() && trailing == 0 {
        return Ok(Stripped {
            bytes: Cow::Borrowed(jpeg),
            segments_removed: 0,
            bytes_removed: 0,
        });
    }
    let removed: usize = dropped.iter().map(|(s, e)| e - s).sum::<usize>() + trailing;
    let mut out = Vec::with_capacity(jpeg.len() - removed);
    let mut from = 0;
    for (start, stop) in &dropped {
        out.extend_from_slice(&jpeg[from..*start]);
        from = *stop;
    }
    out.extend_from_slice(&jpeg[from..end]);
    Ok(Stripped {
        bytes: Cow::Owned(out),
        segments_removed: dropped.len() + usize::from(trailing > 0),
        bytes_removed: removed,
    })
}

/// Where the entropy-coded data that starts at `at` ends: at the first `FF` that begins a
/// marker other than a stuffed `FF 00` or a restart marker.
fn entropy_coded_end(jpeg: &[u8], mut at: usize) -> Result<usize, Malformed> {
    while at + 1 < jpeg.len() {
        if jpeg[at] == 0xFF {
            match jpeg[at + 1] {
                0x00 | 0xD0..=0xD7 => at += 2,
                // Fill bytes before a marker.
                0xFF => at += 1,
                _ => return Ok(at),
            }
        } else {
            at += 1;
        }
    }
    Err(Malformed(
        "the image data ends without an end-of-image marker".into(),
    ))
}
