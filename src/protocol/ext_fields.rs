//! `ExtFields`: a command's flattened custom header (`extFields` on the wire).
//!
//! A send request carries about a dozen of these and every request is decoded on the broker's
//! hottest path, so the representation is chosen for that: a small vector searched linearly (a
//! dozen short-key comparisons beat hashing each key with SipHash), and keys and values that are
//! slices of the received header buffer ([`ByteString`]: reference-counted, no copy, no allocation
//! per field). Fields set locally (responses) hold their own strings; static keys cost nothing.
//! Keys are unique: `insert` replaces. Equality ignores order, as the wire format's map does.

use std::fmt;

use bytestring::ByteString;
use serde::ser::{Serialize, SerializeMap, Serializer};

#[derive(Clone, Default)]
pub struct ExtFields(Vec<(ByteString, ByteString)>);

impl ExtFields {
    pub fn new() -> Self {
        ExtFields(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Self {
        ExtFields(Vec::with_capacity(n))
    }

    /// Room for `n` more fields (a response's fields are known in advance: no regrowing).
    pub fn reserve(&mut self, n: usize) {
        self.0.reserve(n);
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| same_key(k, key))
            .map(|(_, v)| &**v)
    }

    /// Sets `key` to `value`, replacing an earlier value of the same key. Header keys are
    /// protocol constants, so the key costs no allocation.
    pub fn insert(&mut self, key: &'static str, value: impl Into<ByteString>) {
        self.insert_owned(ByteString::from_static(key), value);
    }

    /// [`ExtFields::insert`] for a key that is not a constant.
    pub fn insert_owned(&mut self, key: impl Into<ByteString>, value: impl Into<ByteString>) {
        let (key, value) = (key.into(), value.into());
        match self.0.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Decoding: appends without looking for an earlier same key; [`ExtFields::dedup_decoded`]
    /// runs once at the end (a peer can send a huge header, so no per-field search).
    #[inline]
    pub(crate) fn push_decoded(&mut self, key: ByteString, value: ByteString) {
        self.0.push((key, value));
    }

    /// Decoding: a repeated key keeps its last value, as a JSON object parsed into a map does.
    pub(crate) fn dedup_decoded(&mut self) {
        if !self.may_repeat_a_key() {
            return;
        }
        let n = self.0.len();
        let mut seen = std::collections::HashSet::with_capacity(n);
        let mut keep: Vec<bool> = (0..n)
            .rev()
            .map(|i| seen.insert(self.0[i].0.clone()))
            .collect();
        keep.reverse();
        let mut keep = keep.into_iter();
        self.0.retain(|_| keep.next().unwrap_or(true));
    }

    /// A cheap check that is false for almost every real header: no two keys share a one-byte
    /// fingerprint (length, first and last byte). Only a header it cannot clear pays for a set.
    fn may_repeat_a_key(&self) -> bool {
        let mut seen = [0u64; 4];
        for (k, _) in &self.0 {
            let b = k.as_bytes();
            let (first, last) = (b.first().copied(), b.last().copied());
            let h = (b.len() as u32)
                .wrapping_mul(31)
                .wrapping_add(u32::from(first.unwrap_or(0)).wrapping_mul(7))
                .wrapping_add(u32::from(last.unwrap_or(0)))
                & 255;
            let (word, bit) = ((h / 64) as usize, 1u64 << (h % 64));
            if seen[word] & bit != 0 {
                return true;
            }
            seen[word] |= bit;
        }
        false
    }

    pub fn remove(&mut self, key: &str) -> Option<ByteString> {
        let at = self.0.iter().position(|(k, _)| same_key(k, key))?;
        Some(self.0.swap_remove(at).1)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (&**k, &**v))
    }
}

/// Key equality with the first byte compared inline: lookups mostly compare different one- or
/// few-letter keys, which this settles without a `memcmp` call.
fn same_key(k: &str, key: &str) -> bool {
    k.len() == key.len() && k.as_bytes().first() == key.as_bytes().first() && k == key
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<ByteString>, V: Into<ByteString>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut fields = ExtFields::new();
        for (k, v) in iter {
            fields.insert_owned(k, v);
        }
        fields
    }
}

impl Serialize for ExtFields {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.len()))?;
        for (k, v) in self.iter() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_replaces_and_remove_takes_out() {
        let mut f = ExtFields::new();
        f.insert("a", "1");
        f.insert_owned(String::from("b"), String::from("2"));
        f.insert("a", "3");
        assert_eq!((f.len(), f.get("a"), f.get("b")), (2, Some("3"), Some("2")));
        assert_eq!(f.remove("a").as_deref(), Some("3"));
        assert_eq!((f.get("a"), f.len()), (None, 1));
        assert!(f.remove("zz").is_none());
    }

    #[test]
    fn equality_ignores_order() {
        let a: ExtFields = [("x", "1"), ("y", "2")].into_iter().collect();
        let b: ExtFields = [("y", "2"), ("x", "1")].into_iter().collect();
        let c: ExtFields = [("y", "2"), ("x", "9")].into_iter().collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, ExtFields::new());
    }

    #[test]
    fn decoded_duplicates_keep_the_last_value_small_and_large() {
        for n in [3usize, 40, 300] {
            let mut f = ExtFields::new();
            f.push_decoded("k".into(), "first".into());
            for i in 0..n {
                f.push_decoded(ByteString::from(format!("f{i}")), "v".into());
            }
            f.push_decoded("k".into(), "last".into());
            f.dedup_decoded();
            assert_eq!((f.len(), f.get("k")), (n + 1, Some("last")));
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever keys repeat, dedup leaves each key once with its last value, in first-seen
        /// order of the survivors.
        #[test]
        fn dedup_keeps_last_values(keys in proptest::collection::vec("[a-c]{0,3}", 0..60)) {
            let mut f = ExtFields::new();
            for (i, k) in keys.iter().enumerate() {
                f.push_decoded(ByteString::from(k.as_str()), ByteString::from(i.to_string()));
            }
            f.dedup_decoded();
            let mut expected = std::collections::HashMap::new();
            for (i, k) in keys.iter().enumerate() {
                expected.insert(k.as_str(), i.to_string());
            }
            prop_assert_eq!(f.len(), expected.len());
            for (k, v) in &expected {
                prop_assert_eq!(f.get(k), Some(v.as_str()));
            }
        }
    }
}
