//! Load errors: every problem found in policy or policy-test files, each reported as `file:line: message`.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in one file. `line` is 1-based; 0 means the problem concerns the whole file (it could
/// not be read, for example) and is displayed as `file: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
        }
    }
}

/// Every problem found while loading, in file order then line order. Its `Display` is one
/// `file:line: message` per line, ready for `wardgate policy check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyErrors {
    errors: Vec<PolicyError>,
}

impl PolicyErrors {
    pub(crate) fn new(errors: Vec<PolicyError>) -> Self {
        Self { errors }
    }

    pub fn errors(&self) -> &[PolicyError] {
        &self.errors
    }

    pub fn into_errors(self) -> Vec<PolicyError> {
        self.errors
    }
}

impl fmt::Display for PolicyErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        wardgate_types::write_lines(f, &self.errors)
    }
}

impl std::error::Error for PolicyErrors {}

/// Where something was defined: a file and a 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loc {
    pub file: PathBuf,
    pub line: usize,
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// Turns byte offsets of one file into line numbers.
pub(crate) struct LineIndex {
    path: PathBuf,
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(path: &Path, content: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            content
                .bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self {
            path: path.to_path_buf(),
            line_starts,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn line(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }

    pub fn loc(&self, span: &Range<usize>) -> Loc {
        Loc {
            file: self.path.clone(),
            line: self.line(span.start),
        }
    }
}

/// Collects errors across files.
#[derive(Default)]
pub(crate) struct Sink {
    errors: Vec<PolicyError>,
}

impl Sink {
    pub fn at(&mut self, loc: &Loc, message: impl Into<String>) {
        self.errors.push(PolicyError {
            file: loc.file.clone(),
            line: loc.line,
            message: message.into(),
        });
    }

    pub fn file(&mut self, file: &Path, message: impl Into<String>) {
        self.errors.push(PolicyError {
            file: file.to_path_buf(),
            line: 0,
            message: message.into(),
        });
    }

    pub fn len(&self) -> usize {
        self.errors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// The errors sorted by file then line (stable, so errors on one line keep their order).
    pub fn into_errors(mut self) -> PolicyErrors {
        self.errors
            .sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        PolicyErrors::new(self.errors)
    }
}
