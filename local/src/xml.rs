//! The little XML the stand-in reads and writes (RDS's Query protocol answers).

/// The text of the first `<tag>` element of `xml`, as written (not unescaped).
pub fn element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let len = xml[start..].find(&format!("</{tag}>"))?;
    Some(&xml[start..start + len])
}

/// XML's five predefined entities; `&amp;` last so `&amp;lt;` stays `&lt;`.
pub fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Text for an element or an attribute; `&` first so nothing is escaped twice.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_survives_escaping_both_ways() {
        let text = "a<b> & \"c\" &lt;";
        assert_eq!(unescape(&escape(text)), text);
        assert_eq!(element("<A><B>x</B></A>", "B"), Some("x"));
        assert_eq!(element("<A/>", "B"), None);
    }
}
