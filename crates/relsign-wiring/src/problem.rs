//! What the wiring checks report: one problem each, said so that the fix is clear. Apart
//! from check.rs so that the checks it runs (limits.rs) report without importing it.

use std::fmt;

/// One thing wrong with the wiring, said so that the fix is clear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem(pub String);

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
