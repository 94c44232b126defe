//! OAuth scope values (RFC 6749 §3.3): scope tokens separated by spaces, their order not
//! significant. Every place that reads one reads it through [`Scope`].

/// A scope value as sent or stored (borrowed). Tokens are separated by whitespace; an empty
/// value has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a>(&'a str);

impl<'a> Scope<'a> {
    /// Reads `value`.
    pub fn of(value: &'a str) -> Self {
        Self(value)
    }

    /// The scope tokens, in the order given.
    pub fn tokens(self) -> impl Iterator<Item = &'a str> {
        self.0.split_whitespace()
    }

    /// Whether `token` is one of the tokens.
    pub fn contains(self, token: &str) -> bool {
        self.tokens().any(|t| t == token)
    }

    /// The first token that `granted` does not hold, if any.
    pub fn first_outside(self, granted: Scope<'_>) -> Option<&'a str> {
        self.tokens().find(|t| !granted.contains(t))
    }

    /// Whether `granted` holds every token.
    pub fn is_within(self, granted: Scope<'_>) -> bool {
        self.first_outside(granted).is_none()
    }

    /// The tokens joined by one space (extra whitespace dropped).
    pub fn normalized(self) -> String {
        self.tokens().collect::<Vec<_>>().join(" ")
    }

    /// These tokens, then those of `more` not among them, joined by one space.
    pub fn union(self, more: Scope<'_>) -> String {
        let mut all: Vec<&str> = Vec::new();
        for t in self.tokens().chain(more.tokens()) {
            if !all.contains(&t) {
                all.push(t);
            }
        }
        all.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn tokens_are_separated_by_any_whitespace() {
        let s = Scope::of("  openid \tprofile  email ");
        assert_eq!(
            s.tokens().collect::<Vec<_>>(),
            ["openid", "profile", "email"]
        );
        assert_eq!(s.normalized(), "openid profile email");
        assert!(s.contains("profile"));
        assert!(!s.contains("prof"));
    }

    #[test]
    fn subsets_and_unions() {
        let granted = Scope::of("openid profile");
        assert!(Scope::of("profile").is_within(granted));
        assert!(Scope::of("").is_within(granted));
        assert_eq!(
            Scope::of("openid admin x").first_outside(granted),
            Some("admin")
        );
        assert_eq!(
            granted.union(Scope::of("email openid")),
            "openid profile email"
        );
    }
}
