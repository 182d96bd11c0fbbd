//! File names as WordPress makes them: `sanitize_file_name` and `wp_unique_filename`.
//!
//! Read from WordPress's `wp-includes/formatting.php` (`sanitize_file_name`) and
//! `wp-includes/functions.php` (`wp_unique_filename`), in that order of steps:
//!
//! 1. a no-break space becomes a space;
//! 2. the characters `? [ ] / \ = < > : ; , ' " & $ # * ( ) | ~ ` ! { } % + ’ « » ” “` and
//!    NUL are removed;
//! 3. `%20` and `+` become `-`;
//! 4. runs of two or more dots become one dot;
//! 5. runs of spaces, tabs, line breaks and dashes become one dash;
//! 6. dots, dashes and underscores are trimmed from both ends;
//! 7. a name that is only a known extension (`jpg`) becomes `unnamed-file.jpg`;
//! 8. of several extensions, each one in the middle that looks like an extension (two to
//!    five letters, maybe a digit) and is not an allowed one gets a trailing `_`
//!    (`shell.php.jpg` → `shell.php_.jpg`), so no server takes the file for a script.
//!
//! Letter case is kept. Beyond WordPress, other control characters are removed too, and the
//! caller refuses a name that still holds a path separator or `..` (it cannot, after step 2
//! and 4, but the check does not rely on it).

/// Bidirectional controls (U+202A–202E embeddings and overrides, U+2066–2069 isolates,
/// U+200E/U+200F marks, U+061C the Arabic letter mark) and zero-width characters (U+200B
/// space, U+200C/U+200D joiners, U+2060 word joiner, U+FEFF byte-order mark): removed from
/// names.
pub const INVISIBLE: &[char] = &[
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}', '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}',
    '\u{FEFF}',
];

/// `name` cleaned as WordPress's `sanitize_file_name` cleans it; `known_extensions` plays
/// WordPress's list of allowed MIME types (lower case).
pub fn sanitize_file_name(name: &str, known_extensions: &[&str]) -> String {
    const SPECIAL: &[char] = &[
        '?', '[', ']', '/', '\\', '=', '<', '>', ':', ';', ',', '\'', '"', '&', '$', '#', '*', '(',
        ')', '|', '~', '`', '!', '{', '}', '%', '+', '\u{2019}', '\u{ab}', '\u{bb}', '\u{201d}',
        '\u{201c}', '\0',
    ];
    let name = name.replace('\u{a0}', " ");
    let name: String = name
        .chars()
        .filter(|c| !SPECIAL.contains(c))
        // Beyond WordPress: no control character but the white space step 5 turns to dashes.
        .filter(|c| !c.is_control() || matches!(c, '\r' | '\n' | '\t'))
        // Nor a character that hides or reorders what a person reads (`gpj.exe` shown as
        // `exe.jpg`): bidirectional controls and zero-width characters.
        .filter(|c| !INVISIBLE.contains(c))
        .collect();
    let name = name.replace("%20", "-").replace('+', "-");
    let name = collapse(&name, |c| c == '.', ".");
    let name = collapse(&name, |c| matches!(c, '\r' | '\n' | '\t' | ' ' | '-'), "-");
    let name = name
        .trim_matches(|c| matches!(c, '.' | '-' | '_'))
        .to_owned();

    if !name.contains('.') && known_extensions.contains(&name.to_ascii_lowercase().as_str()) {
        return format!("unnamed-file.{name}");
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() <= 2 {
        return name;
    }
    let mut out = parts[0].to_owned();
    for part in &parts[1..parts.len() - 1] {
        out.push('.');
        out.push_str(part);
        if looks_like_extension(part)
            && !known_extensions.contains(&part.to_ascii_lowercase().as_str())
        {
            out.push('_');
        }
    }
    out.push('.');
    out.push_str(parts[parts.len() - 1]);
    out
}

/// `^[a-zA-Z]{2,5}\d?$`, WordPress's test for a middle part that is an extension.
fn looks_like_extension(part: &str) -> bool {
    let letters = part.trim_end_matches(|c: char| c.is_ascii_digit());
    let digits = part.len() - letters.len();
    digits <= 1
        && (2..=5).contains(&letters.len())
        && letters.chars().all(|c| c.is_ascii_alphabetic())
}

/// Every run of characters matching `is` replaced by `with`.
fn collapse(s: &str, is: impl Fn(char) -> bool, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if is(c) {
            if !in_run {
                out.push_str(with);
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out
}

/// The name's extension (after the last dot), if it has one.
pub fn extension(name: &str) -> Option<&str> {
    name.rsplit_once('.')
        .map(|(_, ext)| ext)
        .filter(|e| !e.is_empty())
}

/// `name` if nothing by that name `exists`, else the first free `stem-1.ext`, `stem-2.ext`, ...
/// as WordPress's `wp_unique_filename` numbers a clash (it checks the extension in either
/// case, so `photo.JPG` clashes with `photo.jpg`; so does this, when `exists` is asked).
pub fn unique_name(name: &str, exists: impl Fn(&str) -> bool) -> String {
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (name, String::new()),
    };
    let taken = |candidate: &str| {
        exists(candidate) || {
            let lower = format!(
                "{}{}",
                &candidate[..candidate.len() - ext.len()],
                ext.to_ascii_lowercase()
            );
            let upper = format!(
                "{}{}",
                &candidate[..candidate.len() - ext.len()],
                ext.to_ascii_uppercase()
            );
            (lower != candidate && exists(&lower)) || (upper != candidate && exists(&upper))
        }
    };
    if !taken(name) {
        return name.to_owned();
    }
    (1u64..)
        .map(|n| format!("{stem}-{n}{ext}"))
        .find(|candidate| !taken(candidate))
        .expect("a free number")
}
