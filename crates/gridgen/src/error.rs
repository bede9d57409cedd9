//! The steps' error: whatever failed — a file, HDF5, MPI, a channel — with what was being done,
//! printed as one line, whatever `RUST_BACKTRACE` says. `?` turns any library's error into it,
//! as an exception propagates in Python; `main` prints it as `Error: …` and exits with 1.

use std::fmt;

/// An error that says, in one line, what failed and why.
pub struct Error(anyhow::Error);

impl Error {
    /// An error of this message.
    pub fn msg(message: impl fmt::Display) -> Error {
        Error(anyhow::Error::msg(message.to_string()))
    }

    /// The library's own error inside, if it is an `E`.
    pub fn downcast_ref<E: fmt::Display + fmt::Debug + Send + Sync + 'static>(&self) -> Option<&E> {
        self.0.downcast_ref()
    }
}

impl<E: std::error::Error + Send + Sync + 'static> From<E> for Error {
    fn from(error: E) -> Error {
        Error(anyhow::Error::new(error))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The causes after the error itself, on one line: "outer: inner".
        let text = format!("{:#}", self.0);
        f.write_str(&text.replace('\n', " "))
    }
}

/// What `main` prints after `Error: ` when it returns an error: the same one line.
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_one_line_whatever_its_cause() {
        let io = std::io::Error::other("disk\nfull");
        let e = Error::from(io);
        assert_eq!(format!("{e:?}"), "disk full");
        assert_eq!(Error::msg("cannot write x").to_string(), "cannot write x");
        assert!(e.downcast_ref::<std::io::Error>().is_some());
    }
}
