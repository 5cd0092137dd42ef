//! What a command printed, kept in order until the caller writes it out.
//!
//! Commands write into this instead of the terminal so that a command's lines are written in
//! one piece (a watch firing meanwhile cannot split them) and so that tests can read them.

use std::io::Write;

use zookeeper_client::{OneshotWatcher, PersistentWatcher};

/// Which standard stream a piece of text belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Results.
    Out,
    /// Errors, warnings and zkCli's `Created /path`.
    Err,
}

/// A watch a command left behind; the interactive shell prints its event when it fires.
#[derive(Debug)]
pub enum Watch {
    /// From `get -w`, `ls -w`, `stat -w`, `config -w`.
    Oneshot(OneshotWatcher),
    /// From `addWatch`.
    Persistent(PersistentWatcher),
}

/// Text in the order it was printed, and the watches left behind.
#[derive(Debug, Default)]
pub struct Output {
    chunks: Vec<(Stream, String)>,
    /// Watches set by the command.
    pub watches: Vec<Watch>,
}

impl Output {
    /// Appends a line (a newline is added) to stdout.
    pub fn out_line(&mut self, text: impl Into<String>) {
        self.push(Stream::Out, text.into() + "\n");
    }

    /// Appends text as is to stdout.
    pub fn out(&mut self, text: impl Into<String>) {
        self.push(Stream::Out, text.into());
    }

    /// Appends a line (a newline is added) to stderr.
    pub fn err_line(&mut self, text: impl Into<String>) {
        self.push(Stream::Err, text.into() + "\n");
    }

    /// Appends text as is to stderr.
    pub fn err(&mut self, text: impl Into<String>) {
        self.push(Stream::Err, text.into());
    }

    fn push(&mut self, stream: Stream, text: String) {
        match self.chunks.last_mut() {
            Some((last, buf)) if *last == stream => buf.push_str(&text),
            _ => self.chunks.push((stream, text)),
        }
    }

    /// Everything written to one stream, for tests.
    #[cfg(test)]
    pub fn text(&self, stream: Stream) -> String {
        self.chunks
            .iter()
            .filter(|(s, _)| *s == stream)
            .map(|(_, t)| t.as_str())
            .collect()
    }

    /// Writes the text to the process's stdout and stderr, in order, and forgets it.
    pub fn flush_to_std(&mut self) -> std::io::Result<()> {
        for (stream, text) in self.chunks.drain(..) {
            match stream {
                Stream::Out => {
                    let mut out = std::io::stdout().lock();
                    out.write_all(text.as_bytes())?;
                    out.flush()?;
                }
                Stream::Err => {
                    let mut err = std::io::stderr().lock();
                    err.write_all(text.as_bytes())?;
                    err.flush()?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_streams_apart_and_in_order() {
        let mut o = Output::default();
        o.err_line("w");
        o.out_line("a");
        o.out("b");
        o.err_line("e");
        assert_eq!(o.text(Stream::Out), "a\nb");
        assert_eq!(o.text(Stream::Err), "w\ne\n");
        assert_eq!(o.chunks.len(), 3);
    }
}
