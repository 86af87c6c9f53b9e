//! Three-valued logic (Kleene): a match is yes, no, or unknown because it depends on a context
//! key whose value cannot be known offline. An unknown never turns into a guess: `No AND Maybe` is
//! `No`, `Yes OR Maybe` is `Yes`, everything else involving `Maybe` stays `Maybe`.

/// A three-valued truth value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tri {
    No,
    Yes,
    Maybe,
}

impl Tri {
    pub(crate) fn from_bool(b: bool) -> Tri {
        if b { Tri::Yes } else { Tri::No }
    }

    pub(crate) fn not(self) -> Tri {
        match self {
            Tri::No => Tri::Yes,
            Tri::Yes => Tri::No,
            Tri::Maybe => Tri::Maybe,
        }
    }

    pub(crate) fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Yes, Tri::Yes) => Tri::Yes,
            _ => Tri::Maybe,
        }
    }

    pub(crate) fn or(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::Yes, _) | (_, Tri::Yes) => Tri::Yes,
            (Tri::No, Tri::No) => Tri::No,
            _ => Tri::Maybe,
        }
    }
}

/// Collects the keys that made results unknown, rolling back the ones that did not matter.
pub(crate) struct Keys<'p> {
    keys: Vec<&'p str>,
}

impl<'p> Keys<'p> {
    pub(crate) fn new() -> Keys<'p> {
        Keys { keys: Vec::new() }
    }

    pub(crate) fn push(&mut self, key: &'p str) {
        self.keys.push(key);
    }

    /// A mark to roll back to.
    pub(crate) fn mark(&self) -> usize {
        self.keys.len()
    }

    /// Keeps the keys pushed since `mark` only if `t` is unknown.
    pub(crate) fn settle(&mut self, mark: usize, t: Tri) -> Tri {
        if t != Tri::Maybe {
            self.keys.truncate(mark);
        }
        t
    }

    /// The keys pushed since `mark`.
    pub(crate) fn since(&self, mark: usize) -> &[&'p str] {
        self.keys.get(mark..).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kleene() {
        use Tri::*;
        assert_eq!(No.and(Maybe), No);
        assert_eq!(Yes.and(Maybe), Maybe);
        assert_eq!(Yes.or(Maybe), Yes);
        assert_eq!(No.or(Maybe), Maybe);
        assert_eq!(Maybe.not(), Maybe);
        assert_eq!(Yes.not(), No);
        assert_eq!(Tri::from_bool(true), Yes);
    }
}
