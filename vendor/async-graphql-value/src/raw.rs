//! Bistro: objects and lists the executor writes as JSON text while it
//! resolves them ([`ConstValue::Raw`]).

use std::fmt;

use crate::{ConstValue, Name};

/// Bistro: a JSON object or array, written once by the executor in place of
/// a tree of maps that the response would otherwise build, serialise and
/// drop (one hash table and one entry vector an object, a page holding
/// about a thousand).
///
/// Always a JSON object or array, in UTF-8. serde_json writes it as it is
/// (its raw-value token); wherever a tree is needed (merging a key selected
/// twice, comparing, displaying, deserialising) it is parsed back into one.
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(Vec<u8>);

impl RawJson {
    /// Past about this many bytes, an object or a list is not written as
    /// one: every object above it would copy it again, while a tree holding
    /// its written parts costs the same at any size. Below it, a copy takes
    /// less than a map (and stays under glibc's `rep movsb` threshold).
    pub const MAX_LEN: usize = 4096;

    /// `{"key":value,…}`, the fields in the given order; `None` when it
    /// would be longer than [`Self::MAX_LEN`]. The keys must be distinct
    /// GraphQL names, as the response keys of a parsed document are.
    pub fn object<'a, I>(fields: I) -> Option<Self>
    where
        I: Iterator<Item = (&'a Name, &'a ConstValue)> + Clone,
    {
        Self::write(
            (b'{', b'}'),
            fields,
            |(key, value)| key.len() + 4 + estimate(value),
            |out, (key, value)| {
                write_key(out, key);
                write_value(out, value);
            },
        )
    }

    /// `[item,…]`; `None` when it would be longer than [`Self::MAX_LEN`].
    pub fn list(items: &[ConstValue]) -> Option<Self> {
        Self::write(
            (b'[', b']'),
            items.iter(),
            |item| 1 + estimate(item),
            write_value,
        )
    }

    /// The entries between `brackets`, separated by commas, sized once from
    /// `size`; `None` past [`Self::MAX_LEN`].
    fn write<T, I>(
        brackets: (u8, u8),
        entries: I,
        size: impl Fn(&T) -> usize,
        write: impl Fn(&mut Vec<u8>, T),
    ) -> Option<Self>
    where
        I: Iterator<Item = T> + Clone,
    {
        let capacity = 2 + entries.clone().map(|entry| size(&entry)).sum::<usize>();
        if capacity > Self::MAX_LEN {
            return None;
        }
        let mut out = Vec::with_capacity(capacity);
        out.push(brackets.0);
        for (index, entry) in entries.enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write(&mut out, entry);
        }
        out.push(brackets.1);
        Some(Self(out))
    }

    /// The JSON text.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("raw JSON is written in UTF-8")
    }

    /// The JSON text's length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Never: a raw value is an object or an array, at least two bytes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The same value as a tree.
    pub fn to_value(&self) -> ConstValue {
        serde_json::from_slice(&self.0).expect("raw JSON is valid JSON")
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RawJson").field(&self.as_str()).finish()
    }
}

/// About the bytes `value` takes as JSON, to size the buffer once and to
/// keep what is too long to copy (a list kept as a tree, say) out of it.
#[inline]
fn estimate(value: &ConstValue) -> usize {
    match value {
        ConstValue::Raw(raw) => raw.len(),
        ConstValue::String(text) => text.len() + 2,
        ConstValue::Enum(name) => name.len() + 2,
        ConstValue::Null | ConstValue::Boolean(_) | ConstValue::Number(_) => 8,
        ConstValue::List(_) | ConstValue::Object(_) | ConstValue::Binary(_) => estimate_tree(value),
    }
}

/// [`estimate`] for a tree, out of line: it recurses, and the common
/// values above stay inlined.
#[inline(never)]
fn estimate_tree(value: &ConstValue) -> usize {
    match value {
        ConstValue::List(items) => 2 + items.iter().map(|item| 1 + estimate(item)).sum::<usize>(),
        ConstValue::Object(fields) => {
            2 + fields
                .iter()
                .map(|(key, value)| key.len() + 4 + estimate(value))
                .sum::<usize>()
        }
        ConstValue::Binary(bytes) => 2 + bytes.len() * 4,
        value => estimate(value),
    }
}

fn write_key(out: &mut Vec<u8>, key: &Name) {
    // A response key is a GraphQL name (`[_A-Za-z][_0-9A-Za-z]*`, checked
    // by the parser), which JSON needs no escapes for.
    debug_assert!(
        key.bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_'),
        "a response key is a GraphQL name: {key}"
    );
    out.push(b'"');
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
}

fn write_value(out: &mut Vec<u8>, value: &ConstValue) {
    match value {
        ConstValue::Raw(raw) => out.extend_from_slice(&raw.0),
        ConstValue::Null => out.extend_from_slice(b"null"),
        ConstValue::Boolean(true) => out.extend_from_slice(b"true"),
        ConstValue::Boolean(false) => out.extend_from_slice(b"false"),
        ConstValue::String(text) => write_json(out, text.as_str()),
        ConstValue::Enum(name) => write_json(out, name.as_str()),
        ConstValue::Number(number) => write_json(out, number),
        ConstValue::Binary(_) | ConstValue::List(_) | ConstValue::Object(_) => {
            write_json(out, value)
        }
    }
}

fn write_json<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) {
    // Writing to a `Vec` fails only for a value serde_json cannot represent,
    // which a `ConstValue` cannot hold.
    serde_json::to_writer(out, value).expect("a value serialises to JSON");
}
