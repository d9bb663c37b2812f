//! A message's property string edited the way Java edits its property map: one value per key (the
//! last one read wins), keys set or removed, then written back. The original order is kept, so a
//! record whose properties are left unchanged reads the same. Used where the broker rewrites a
//! stored message into a new one (a send-back's retry, a transaction's commit).

use crate::store::message::{parse_properties, NAME_VALUE_SEPARATOR, PROPERTY_SEPARATOR};

/// A parsed property list, borrowing its keys from the string it was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyEdit<'a>(Vec<(&'a str, String)>);

impl<'a> PropertyEdit<'a> {
    pub fn parse(s: &'a str) -> Self {
        let mut out: Vec<(&'a str, String)> = Vec::new();
        for (k, v) in parse_properties(s) {
            match out.iter_mut().find(|(key, _)| *key == k) {
                Some(slot) => slot.1 = v.to_string(),
                None => out.push((k, v.to_string())),
            }
        }
        PropertyEdit(out)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &'a str, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Removes `key`; returns its value if it was there.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let at = self.0.iter().position(|(k, _)| *k == key)?;
        Some(self.0.remove(at).1)
    }
}

impl std::fmt::Display for PropertyEdit<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (k, v) in &self.0 {
            write!(f, "{k}{NAME_VALUE_SEPARATOR}{v}{PROPERTY_SEPARATOR}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_remove_keep_the_order_and_the_last_value() {
        let mut p = PropertyEdit::parse("A\u{1}1\u{2}B\u{1}2\u{2}A\u{1}3\u{2}");
        assert_eq!(p.get("A"), Some("3"));
        p.set("C", "4".into());
        p.set("B", "5".into());
        assert_eq!(p.remove("A").as_deref(), Some("3"));
        assert_eq!(p.remove("A"), None);
        assert_eq!(p.to_string(), "B\u{1}5\u{2}C\u{1}4\u{2}");
        assert_eq!(PropertyEdit::parse("").to_string(), "");
    }
}
