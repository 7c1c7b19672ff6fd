//! Reading JSON objects member by member, without building a `serde_json::Value` tree.
//!
//! Every event passes through here, so it matters: a `Value` allocates a map, a key
//! and a value per member and rebuilds number text; this reads an object into
//! (key, raw text) pairs borrowed from the input, and a leaf is looked at only when
//! asked. Numbers stay the exact text that was sent.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

/// The members of one JSON object, in order, borrowed from the text.
#[derive(Debug)]
pub struct Members<'a> {
    pairs: Vec<(Cow<'a, str>, &'a RawValue)>,
}

/// A member's value, seen one level deep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Leaf<'a> {
    /// A string, unescaped.
    Str(Cow<'a, str>),
    /// A number, exactly as written.
    Number(&'a str),
    /// `true` or `false`.
    Bool(bool),
    /// `null`.
    Null,
    /// An object (its raw text, for [`Members::parse`]).
    Object(&'a str),
    /// An array.
    Array,
}

impl<'a> Members<'a> {
    /// Reads `text`, which must be exactly one JSON object.
    pub fn parse(text: &'a str) -> Result<Members<'a>, serde_json::Error> {
        let Object(pairs) = serde_json::from_str(text)?;
        Ok(Members { pairs })
    }

    /// The raw value of `name`; with duplicate keys the last one wins, as in `serde_json::Value`.
    pub fn get(&self, name: &str) -> Option<&'a RawValue> {
        self.pairs.iter().rev().find(|(k, _)| k == name).map(|(_, v)| *v)
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// The member at `index`, in order (duplicates included).
    pub fn member(&self, index: usize) -> Option<(&str, &'a RawValue)> {
        self.pairs.get(index).map(|(k, v)| (k.as_ref(), *v))
    }

    /// The members in order (duplicates included).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &'a RawValue)> + '_ {
        self.pairs.iter().map(|(k, v)| (k.as_ref(), *v))
    }
}

impl<'a> Leaf<'a> {
    /// Looks at a raw value's first byte and reads it if it is a scalar.
    pub fn of(raw: &'a RawValue) -> Result<Leaf<'a>, serde_json::Error> {
        let text = raw.get();
        Ok(match text.as_bytes().first() {
            Some(b'"') => match text[1..text.len() - 1].contains('\\') {
                false => Leaf::Str(Cow::Borrowed(&text[1..text.len() - 1])),
                true => Leaf::Str(Cow::Owned(serde_json::from_str(text)?)),
            },
            Some(b'{') => Leaf::Object(text),
            Some(b'[') => Leaf::Array,
            Some(b't') => Leaf::Bool(true),
            Some(b'f') => Leaf::Bool(false),
            Some(b'n') => Leaf::Null,
            _ => Leaf::Number(text),
        })
    }

    /// What kind of JSON value this is, for messages ("a number instead of a string").
    pub fn kind(&self) -> &'static str {
        match self {
            Leaf::Str(_) => "string",
            Leaf::Number(_) => "number",
            Leaf::Bool(_) => "boolean",
            Leaf::Null => "null",
            Leaf::Object(_) => "object",
            Leaf::Array => "array",
        }
    }
}

/// An object's members as borrowed pairs.
struct Object<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

/// A key borrowed from the input unless it had escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de> Deserialize<'de> for Object<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = Object<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Key(key), value)) = map.next_entry::<Key<'de>, &'de RawValue>()? {
                    pairs.push((key, value));
                }
                Ok(Object(pairs))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_borrow_and_keep_numbers_exact() {
        let text = r#"{"a": 0.30000000000000004, "b\u0041": "x\ny", "c": {"d": [1]}, "e": true, "a": null}"#;
        let m = Members::parse(text).unwrap();
        assert_eq!(m.iter().count(), 5);
        assert_eq!(Leaf::of(m.get("a").unwrap()).unwrap(), Leaf::Null, "the last duplicate wins");
        let first_a = m.iter().next().unwrap().1;
        assert_eq!(Leaf::of(first_a).unwrap(), Leaf::Number("0.30000000000000004"));
        assert_eq!(Leaf::of(m.get("bA").unwrap()).unwrap(), Leaf::Str(Cow::Owned("x\ny".into())));
        let Leaf::Object(inner) = Leaf::of(m.get("c").unwrap()).unwrap() else { panic!("an object") };
        assert_eq!(Leaf::of(Members::parse(inner).unwrap().get("d").unwrap()).unwrap(), Leaf::Array);
        assert_eq!(Leaf::of(m.get("e").unwrap()).unwrap(), Leaf::Bool(true));
    }

    #[test]
    fn only_one_complete_object_is_accepted() {
        for bad in ["[1]", "1", "\"x\"", "{\"a\":1", "{\"a\":1} {}", "{\"a\":01}", "{'a':1}"] {
            assert!(Members::parse(bad).is_err(), "{bad}");
        }
    }
}
