//! Where the CLI writes: stdout and stderr in real use, buffers in tests.

use std::io::{self, IsTerminal, Write};

use serde_json::Value;

/// The two output streams, and how to write to them.
pub struct Term {
    out: Box<dyn Write + Send>,
    err: Box<dyn Write + Send>,
    /// Stdout is a terminal: progress is one line rewritten in place.
    pub tty: bool,
    /// Machine-readable output: the result is one JSON object on the last line of stdout.
    pub json: bool,
}

impl Term {
    pub fn stdio(json: bool) -> Self {
        Self {
            out: Box::new(io::stdout()),
            err: Box::new(io::stderr()),
            tty: io::stdout().is_terminal(),
            json,
        }
    }

    /// A line on stdout.
    pub fn line(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.out, "{}", text.as_ref());
        let _ = self.out.flush();
    }

    /// A line on stderr: errors and notes that are not the result.
    pub fn note(&mut self, text: impl AsRef<str>) {
        let _ = writeln!(self.err, "{}", text.as_ref());
        let _ = self.err.flush();
    }

    /// One JSON value on one line of stdout.
    pub fn json_line(&mut self, value: &Value) {
        self.line(value.to_string());
    }

    /// Replaces the current stdout line (terminal only): no newline, so the next call
    /// overwrites it.
    pub fn rewrite(&mut self, text: &str) {
        let _ = write!(self.out, "\r\x1b[2K{text}");
        let _ = self.out.flush();
    }

    /// Clears a line drawn by [`Term::rewrite`].
    pub fn clear_line(&mut self) {
        self.rewrite("");
    }
}

/// A `Write` whose bytes a test can read back.
#[cfg(test)]
#[derive(Clone, Default)]
pub struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

#[cfg(test)]
impl Captured {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[cfg(test)]
impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
impl Term {
    /// A terminal whose stdout and stderr a test reads back.
    pub fn captured(tty: bool, json: bool) -> (Self, Captured, Captured) {
        let (out, err) = (Captured::default(), Captured::default());
        let term = Self {
            out: Box::new(out.clone()),
            err: Box::new(err.clone()),
            tty,
            json,
        };
        (term, out, err)
    }
}
