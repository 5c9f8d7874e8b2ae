//! A string that must never be shown: API token secrets, passwords and tickets.
//!
//! `Secret` has no `Display`, no `Serialize`, and its `Debug` prints a fixed placeholder, so a secret
//! cannot reach a log line, an error message, a report or a recording by accident. The one way to
//! read it is [`Secret::expose`], which the HTTP layer calls when it builds a header.

use std::fmt;

/// A secret value (token secret, password, ticket). `Debug` prints `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself, for building an `Authorization` header or a login form. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty (a configuration error worth naming).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::new("c0ffee00-1234-5678-9abc-def012345678");
        let shown = format!("{secret:?} {:#?}", Some(&secret));
        assert!(!shown.contains("c0ffee00"), "{shown}");
        assert!(shown.contains("***"));
    }
}
