//! Media a tenant uploads: what a file is, whether it may go into the tenant's WordPress
//! uploads, under what name, and its JPEG metadata removed. Pure: no AWS, no file system.
//!
//! A file is judged by its content, never by its name. It is taken when all of these hold,
//! checked in this order, and the first that fails is the refusal's named reason:
//!
//! 1. it is at most the size limit ([`DEFAULT_MAX_BYTES`], 64 MiB, unless set otherwise):
//!    [`Refusal::TooLarge`];
//! 2. its name, cleaned as WordPress cleans it ([`sanitize_file_name`]), holds something and
//!    never a path: [`Refusal::BadName`];
//! 3. no script marker ([`SCRIPT_MARKERS`]: `<?php`, `<script` (which is also PHP's
//!    `<script language="php">`), `__halt_compiler`, in any letter case) appears anywhere in
//!    its bytes, and no PHP short open tag (`<?=`, `<?`) starts it after a byte-order mark
//!    and white space, so no polyglot (a valid JPEG with PHP in a comment or after its end)
//!    gets in: [`Refusal::ScriptInside`];
//! 4. its magic bytes make it one of the allowed [`MediaType`]s: [`Refusal::NotAllowedType`]
//!    (SVG, HTML, PHP without a marker, executables, archives, anything unknown);
//! 5. its name's extension is one of that type's: [`Refusal::ExtensionMismatch`] (a PNG
//!    called `.jpg`, a JPEG called `.php`);
//! 6. a PDF, its names' `#xx` escapes decoded, holds no JavaScript or launch action and no
//!    PHP short open tag outside its streams ([`Refusal::ScriptInside`]), and no compressed
//!    object stream (`/ObjStm`), whose objects cannot be inspected
//!    ([`Refusal::Uninspectable`]), see [`sniff::pdf_refusal`];
//! 7. a JPEG can be read segment by segment to its end of image, so its metadata segments
//!    and anything after its end can be removed ([`jpeg`]): [`Refusal::Damaged`].
//!
//! Audio needs more than one frame's header: two MP3 frame headers in a row, a second Ogg
//! page, a WAV's format chunk and its data. Names lose bidirectional and zero-width
//! characters ([`name::INVISIBLE`]).
//!
//! The allow-list is WordPress's own media types for images, documents, audio and video that
//! a browser shows by itself: JPEG, PNG, GIF, WebP, AVIF and PDF, MP4 and MP3 as the issue
//! names them, and beside them
//!
//! - **ICO** (`image/x-icon`): the site icon WordPress itself offers to upload; a bitmap
//!   container without script;
//! - **MOV** (`video/quicktime`), **M4A** (`audio/mp4`): the same ISO media container as MP4,
//!   what phones record;
//! - **WebM** (`video/webm`), **Ogg** audio (`audio/ogg`: Vorbis, Opus or FLAC), **WAV**
//!   (`audio/wav`): the formats WordPress's audio and video players play besides MP4 and MP3.
//!
//! Not allowed: SVG (markup that runs script; WordPress refuses it too), HEIC (browsers do not
//! show it, and WordPress takes it only to convert it where its image library can), Ogg video
//! and other Matroska than WebM (rarely played), 3GP, ZIP and the office formats built on it
//! (a ZIP can carry anything, and a JAR or a phar is a ZIP).

#[cfg(all(
    feature = "sdk-s3",
    feature = "sdk-eventbridge",
    feature = "sdk-tagging",
    feature = "sdk-dynamodb"
))]
pub mod ingest;
pub mod jpeg;
pub mod name;
pub mod sniff;
pub mod store;
#[cfg(feature = "sdk-s3")]
pub mod upload;

use std::borrow::Cow;
use std::fmt;

use crate::config::ConfigError;

/// How long the outcome's GET is good for: past the PUT's life and the CLI's wait after
/// it (the CLI ends its wait before it); it reads one JSON object and writes nothing, so it
/// need not be as short.
pub const OUTCOME_URL_SECONDS: u64 = 900;

pub use jpeg::strip_metadata;
pub use name::{extension, sanitize_file_name, unique_name};
pub use sniff::{find_script, sniff, Sniffed, SCRIPT_MARKERS};

/// The staging bucket's prefix uploads go under, as `incoming/<tenant>/<upload id>/<name>`.
pub const INCOMING_PREFIX: &str = "incoming/";
/// The staging bucket's prefix where ingest-media leaves each upload's outcome, as
/// `outcomes/<tenant>/<upload id>.json`, for `bbws upload` to read.
pub const OUTCOMES_PREFIX: &str = "outcomes/";

/// `outcomes/<tenant>/<upload id>.json`: the object holding an upload's outcome (the
/// `detailType` announced and its `detail`). The uploader reads it through a GET URL
/// upload-media presigned with the PUT's, so it needs no permission of its own and sees its
/// own upload's outcome only; the bucket's one-day expiry removes it as it removes uploads.
pub fn outcome_key(tenant: &crate::TenantId, upload_id: &str) -> String {
    format!("{OUTCOMES_PREFIX}{tenant}/{upload_id}.json")
}
/// The size limit unless set otherwise: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// The longest cleaned name taken, in bytes, leaving room for a `-<n>` and a temporary
/// file's suffix under the 255 bytes a file name may have.
pub const MAX_NAME_BYTES: usize = 200;

/// A type of media allowed into a tenant's uploads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MediaType {
    Jpeg,
    Png,
    Gif,
    Webp,
    Avif,
    Ico,
    Pdf,
    Mp4,
    Mov,
    Webm,
    Mp3,
    M4a,
    Ogg,
    Wav,
}

impl MediaType {
    /// Every allowed type.
    pub const ALL: &'static [MediaType] = &[
        Self::Jpeg,
        Self::Png,
        Self::Gif,
        Self::Webp,
        Self::Avif,
        Self::Ico,
        Self::Pdf,
        Self::Mp4,
        Self::Mov,
        Self::Webm,
        Self::Mp3,
        Self::M4a,
        Self::Ogg,
        Self::Wav,
    ];

    /// Its MIME type, as WordPress's `wp_get_mime_types` gives it (M4A aside: WordPress
    /// calls it `audio/mpeg`, which it is not).
    pub const fn mime_type(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Webp => "image/webp",
            Self::Avif => "image/avif",
            Self::Ico => "image/x-icon",
            Self::Pdf => "application/pdf",
            Self::Mp4 => "video/mp4",
            Self::Mov => "video/quicktime",
            Self::Webm => "video/webm",
            Self::Mp3 => "audio/mpeg",
            Self::M4a => "audio/mp4",
            Self::Ogg => "audio/ogg",
            Self::Wav => "audio/wav",
        }
    }

    /// The extensions a file of this type may have (lower case), WordPress's for it.
    pub const fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Jpeg => &["jpg", "jpeg", "jpe"],
            Self::Png => &["png"],
            Self::Gif => &["gif"],
            Self::Webp => &["webp"],
            Self::Avif => &["avif"],
            Self::Ico => &["ico"],
            Self::Pdf => &["pdf"],
            Self::Mp4 => &["mp4", "m4v"],
            Self::Mov => &["mov", "qt"],
            Self::Webm => &["webm"],
            Self::Mp3 => &["mp3"],
            Self::M4a => &["m4a"],
            Self::Ogg => &["ogg", "oga"],
            Self::Wav => &["wav"],
        }
    }

    /// Every allowed extension, of every type.
    pub fn all_extensions() -> Vec<&'static str> {
        Self::ALL
            .iter()
            .flat_map(|t| t.extensions())
            .copied()
            .collect()
    }
}

impl fmt::Display for MediaType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mime_type())
    }
}

/// Why an upload was refused; [`Refusal::reason`] is its stable name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than the limit.
    TooLarge { size: u64, limit: u64 },
    /// A name that is empty once cleaned, too long, or a path.
    BadName { name: String, why: &'static str },
    /// Content of a type not on the allow-list (what it was found to be).
    NotAllowedType { detected: String },
    /// A name whose extension is not one of its content's type.
    ExtensionMismatch {
        extension: String,
        detected: MediaType,
    },
    /// Script found in the bytes: the marker and its offset.
    ScriptInside { marker: &'static str, offset: u64 },
    /// Content that starts as an allowed type but cannot be read as one.
    Damaged { detail: String },
    /// Content whose parts cannot be inspected (a PDF's compressed object streams).
    Uninspectable { detail: String },
    /// The upload names no valid tenant id.
    InvalidTenant { tenant: String, why: String },
    /// The tenant has no access point: never onboarded, or offboarded.
    NotOnboarded { tenant: String },
}

impl Refusal {
    /// The reason's stable name, as the `TenantMediaRejected` event carries it.
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "TooLarge",
            Self::BadName { .. } => "BadName",
            Self::NotAllowedType { .. } => "NotAllowedType",
            Self::ExtensionMismatch { .. } => "ExtensionMismatch",
            Self::ScriptInside { .. } => "ScriptInside",
            Self::Damaged { .. } => "Damaged",
            Self::Uninspectable { .. } => "Uninspectable",
            Self::InvalidTenant { .. } => "InvalidTenant",
            Self::NotOnboarded { .. } => "NotOnboarded",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { size, limit } => {
                write!(
                    f,
                    "the file is {size} bytes, more than the limit of {limit}"
                )
            }
            Self::BadName { name, why } => write!(f, "the name {name:?} {why}"),
            Self::NotAllowedType { detected } => {
                write!(
                    f,
                    "the content is {detected}, which is not an allowed media type"
                )
            }
            Self::ExtensionMismatch {
                extension,
                detected,
            } if extension.is_empty() => {
                write!(f, "the name has no extension; the content is {detected}")
            }
            Self::ExtensionMismatch {
                extension,
                detected,
            } => write!(
                f,
                "the name's extension .{extension} does not match the content, {detected} ({})",
                detected
                    .extensions()
                    .iter()
                    .map(|e| format!(".{e}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Self::ScriptInside { marker, offset } => {
                write!(f, "the content holds script ({marker:?} at byte {offset})")
            }
            Self::Damaged { detail } => write!(f, "the content is damaged: {detail}"),
            Self::Uninspectable { detail } => {
                write!(f, "the content cannot be inspected: {detail}")
            }
            Self::InvalidTenant { why, .. } => f.write_str(why),
            Self::NotOnboarded { tenant } => {
                write!(
                    f,
                    "tenant {tenant} is not onboarded: it has no access point"
                )
            }
        }
    }
}

/// An upload that may go into the tenant's uploads.
#[derive(Debug, PartialEq, Eq)]
pub struct Accepted<'a> {
    /// The cleaned name (before any `-<n>` for a clash).
    pub file_name: String,
    pub media_type: MediaType,
    /// What to write: the upload, a JPEG without its metadata.
    pub content: Cow<'a, [u8]>,
    /// Metadata segments removed from a JPEG.
    pub metadata_segments_removed: usize,
}

/// The S3 client of the media functions: path-style addressing where the endpoint is
/// overridden (a local stack on one address), virtual-hosted style, AWS's default, elsewhere.
#[cfg(feature = "sdk-s3")]
pub fn s3_client(sdk: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(sdk.endpoint_url().is_some())
            .build(),
    )
}

/// `MEDIA_MAX_BYTES`: a positive number of bytes.
pub fn max_bytes(raw: Option<&str>) -> Result<u64, ConfigError> {
    match raw.map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(DEFAULT_MAX_BYTES),
        Some(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ConfigError::Invalid {
                name: "MEDIA_MAX_BYTES",
                reason: format!("{v:?} is not a positive number of bytes"),
            }),
    }
}

/// Refuses an upload of `size` bytes over `limit` before it is read.
pub fn check_size(size: u64, limit: u64) -> Result<(), Refusal> {
    if size > limit {
        Err(Refusal::TooLarge { size, limit })
    } else {
        Ok(())
    }
}

/// The name `raw` cleaned, or why it cannot be a file's name in the uploads.
pub fn clean_name(raw: &str) -> Result<String, Refusal> {
    let bad = |why| Refusal::BadName {
        name: raw.to_owned(),
        why,
    };
    // The name given is a file's name, never a path: refused rather than cleaned.
    if raw.contains(['/', '\\']) {
        return Err(bad("is a path"));
    }
    if raw == "." || raw == ".." {
        return Err(bad("names a directory"));
    }
    let name = sanitize_file_name(raw, &MediaType::all_extensions());
    if name.is_empty() {
        return Err(bad("holds nothing once cleaned"));
    }
    if name.len() > MAX_NAME_BYTES {
        return Err(bad("is too long"));
    }
    // Cleaning removes both; this does not rely on it.
    if name.contains(['/', '\\', '\0']) || name.contains("..") || name.starts_with('.') {
        return Err(bad("is not a plain file name once cleaned"));
    }
    Ok(name)
}

/// Judges an upload named `name` holding `bytes` against the rules above.
pub fn inspect<'a>(name: &str, bytes: &'a [u8], limit: u64) -> Result<Accepted<'a>, Refusal> {
    check_size(bytes.len() as u64, limit)?;
    let file_name = clean_name(name)?;
    if let Some((marker, offset)) = find_script(bytes) {
        return Err(Refusal::ScriptInside {
            marker,
            offset: offset as u64,
        });
    }
    let media_type = match sniff(bytes) {
        Sniffed::Allowed(t) => t,
        Sniffed::Other(what) => {
            return Err(Refusal::NotAllowedType {
                detected: what.to_owned(),
            })
        }
    };
    let ext = extension(&file_name)
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !media_type.extensions().contains(&ext.as_str()) {
        return Err(Refusal::ExtensionMismatch {
            extension: ext,
            detected: media_type,
        });
    }
    if media_type == MediaType::Pdf {
        match sniff::pdf_refusal(bytes) {
            Some(("/ObjStm", offset)) => {
                return Err(Refusal::Uninspectable {
                    detail: format!(
                        "a compressed object stream (/ObjStm at byte {offset}) hides objects \
                         that cannot be checked for script; save the PDF without object \
                         streams (PDF 1.4)"
                    ),
                })
            }
            Some(("stream without endstream", offset)) => {
                return Err(Refusal::Damaged {
                    detail: format!("a stream at byte {offset} has no endstream"),
                })
            }
            Some((marker, offset)) => {
                return Err(Refusal::ScriptInside {
                    marker,
                    offset: offset as u64,
                })
            }
            None => {}
        }
    }
    let (content, removed) = if media_type == MediaType::Jpeg {
        let stripped = strip_metadata(bytes).map_err(|e| Refusal::Damaged {
            detail: e.to_string(),
        })?;
        (stripped.bytes, stripped.segments_removed)
    } else {
        (Cow::Borrowed(bytes), 0)
    };
    Ok(Accepted {
        file_name,
        media_type,
        content,
        metadata_segments_removed: removed,
    })
}

#[cfg(test)]
mod tests;
