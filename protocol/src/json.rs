//! Strict JSON reading: `docs/protocol.md` makes an event with a member
//! given twice unreadable, at any depth, known member or not. serde_json
//! keeps the last of two members in silence (and serde's derive catches
//! only the members a type knows), so events are checked first with
//! [`no_duplicate_members`].

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

/// Whether `bytes` is JSON in which no object gives a member twice. Any
/// other problem (not JSON at all, say) is left to the real decoding.
pub fn no_duplicate_members(bytes: &[u8]) -> bool {
    // `Unique` takes every kind of value: its only data error is a member
    // given twice; syntax errors are the real decoding's to report.
    match serde_json::from_slice::<Unique>(bytes) {
        Ok(Unique) => true,
        Err(e) => e.classify() != serde_json::error::Category::Data,
    }
}

/// Reads `bytes` as a `T`, refusing a member given twice, and anything but
/// a JSON object: serde's derive would also read a struct (and a tagged
/// enum) from an array of its members in order, a form the protocol does
/// not have (`["auth","ace"]` would be an `Auth`).
pub fn from_slice_strict<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Option<T> {
    if !is_object(bytes) || !no_duplicate_members(bytes) {
        return None;
    }
    serde_json::from_slice(bytes).ok()
}

/// Whether `bytes` starts as a JSON object does (after JSON's white space);
/// the rest is left to the real decoding.
pub fn is_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

/// Any JSON value whose objects all have distinct member names.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut names: Vec<String> = Vec::new();
        while let Some(name) = map.next_key::<String>()? {
            if names.contains(&name) {
                return Err(de::Error::custom(format_args!("duplicate member {name:?}")));
            }
            map.next_value::<Unique>()?;
            names.push(name);
        }
        Ok(Unique)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_twice_anywhere_is_found() {
        for ok in [
            r#"{"type":"say","text":"hi"}"#,
            r#"{"a":{"b":1},"c":[{"b":2},{"b":3}]}"#,
            r#"[1,"x",null,true,1.5,-3]"#,
            "not json",
        ] {
            assert!(no_duplicate_members(ok.as_bytes()), "{ok}");
        }
        for twice in [
            r#"{"type":"say","text":"hi","x":1,"x":2}"#,
            r#"{"a":{"b":1,"b":2}}"#,
            r#"{"c":[{"b":2,"b":3}]}"#,
            r#"{"text":"a","\u0074ext":"b"}"#,
        ] {
            assert!(!no_duplicate_members(twice.as_bytes()), "{twice}");
        }
    }

    #[test]
    fn only_an_object_is_read() {
        #[derive(Deserialize, Debug)]
        struct Pair {
            #[allow(dead_code)]
            a: String,
            #[allow(dead_code)]
            b: u8,
        }
        // serde's derive alone reads a struct from an array of its members.
        assert!(serde_json::from_str::<Pair>(r#"["x",1]"#).is_ok());
        assert!(from_slice_strict::<Pair>(br#"["x",1]"#).is_none());
        assert!(from_slice_strict::<Pair>(b" \n{\"a\":\"x\",\"b\":1}").is_some());
        for not_objects in [&b""[..], b"  ", b"[]", b"\"x\"", b"1", b"null"] {
            assert!(!is_object(not_objects), "{not_objects:?}");
        }
    }
}
