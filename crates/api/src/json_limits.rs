//! The shape limits of a request body, checked in the same pass that checks its JSON syntax: nesting
//! depth and array length. Runs after authentication (in [`crate::decode_body`]), so an unsigned
//! request never gets its body parsed.
//!
//! A serde visitor rather than a hand-written scanner: serde_json's parser already is the one the
//! handlers use, and the visitor ignores every value (nothing is built) except the path of a violation.

use std::cell::RefCell;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::code::TcssCode;
use crate::error::ApiError;

/// `Ok` when `body` is one JSON value (nothing after it) within the limits; otherwise the TCSS error:
/// `InvalidParameter.ParsingError` (syntax, depth) or `InvalidParameterValue.LengthLimit` (array),
/// naming the field.
pub fn check(body: &[u8], max_depth: usize, max_array: usize) -> Result<(), ApiError> {
    let found = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_slice(body);
    let walk = Walk { depth: 0, max_depth, max_array, found: &found };
    let result = walk.deserialize(&mut de).and_then(|()| de.end());
    match (result, found.into_inner()) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(v)) => Err(v.into_error(max_depth, max_array)),
        (Err(e), None) => Err(crate::action::parsing_error(&e)),
    }
}

enum Kind {
    TooDeep,
    TooLong,
}

/// What was exceeded and where; the path is collected innermost first while the error unwinds.
struct Violation {
    kind: Kind,
    path: Vec<Segment>,
}

enum Segment {
    Key(String),
    Index(usize),
}

impl Violation {
    fn into_error(self, max_depth: usize, max_array: usize) -> ApiError {
        let mut path = String::new();
        for seg in self.path.iter().rev() {
            match seg {
                Segment::Key(k) if path.is_empty() => path.push_str(k),
                Segment::Key(k) => {
                    path.push('.');
                    path.push_str(k);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        let field = if path.is_empty() { "The request body".to_string() } else { format!("The parameter `{path}`") };
        match self.kind {
            Kind::TooDeep => ApiError::new(
                TcssCode::InvalidParameterParsingError,
                format!("{field} nests objects and arrays deeper than {max_depth} levels."),
            ),
            Kind::TooLong => ApiError::new(
                TcssCode::InvalidParameterValueLengthLimit,
                format!("{field} has more than {max_array} elements; send at most {max_array} per request."),
            ),
        }
    }
}

#[derive(Clone, Copy)]
struct Walk<'s> {
    depth: usize,
    max_depth: usize,
    max_array: usize,
    found: &'s RefCell<Option<Violation>>,
}

impl Walk<'_> {
    fn violate<E: serde::de::Error>(&self, kind: Kind) -> E {
        *self.found.borrow_mut() = Some(Violation { kind, path: Vec::new() });
        E::custom("shape limit")
    }

    /// Adds `seg` to the path of a violation found below it (other errors pass unchanged).
    fn locate<E>(&self, seg: impl FnOnce() -> Segment, e: E) -> E {
        if let Some(v) = self.found.borrow_mut().as_mut() {
            v.path.push(seg());
        }
        e
    }

    fn enter<E: serde::de::Error>(&self) -> Result<Walk<'_>, E> {
        if self.depth + 1 > self.max_depth {
            return Err(self.violate(Kind::TooDeep));
        }
        Ok(Walk { depth: self.depth + 1, ..*self })
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        let mut i = 0usize;
        loop {
            match seq.next_element_seed(inner) {
                Ok(Some(())) => {}
                Ok(None) => return Ok(()),
                Err(e) => return Err(self.locate(|| Segment::Index(i), e)),
            }
            i += 1;
            if i > self.max_array {
                return Err(self.violate(Kind::TooLong));
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let inner = self.enter()?;
        while let Some(key) = map.next_key_seed(Key)? {
            if let Err(e) = map.next_value_seed(inner) {
                return Err(self.locate(|| Segment::Key(key.0.into_owned()), e));
            }
        }
        Ok(())
    }
}

/// An object key, borrowed from the body when it has no escapes.
struct Key;
struct KeyText<'de>(std::borrow::Cow<'de, str>);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = KeyText<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<KeyText<'de>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = KeyText<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<KeyText<'de>, E> {
        Ok(KeyText(v.into()))
    }
    fn visit_str<E>(self, v: &str) -> Result<KeyText<'de>, E> {
        Ok(KeyText(v.to_string().into()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(body: &str) -> (TcssCode, String) {
        let e = check(body.as_bytes(), 4, 3).unwrap_err();
        (e.code, e.message)
    }

    #[test]
    fn within_limits() {
        for ok in [r#"{}"#, r#"{"A": [1, 2, 3], "B": {"C": [{"D": 1}]}}"#, r#"{"A": "x\"y", "B\u0041": null}"#, "  {} \n"] {
            assert!(check(ok.as_bytes(), 4, 3).is_ok(), "{ok}");
        }
    }

    #[test]
    fn syntax_errors_are_parsing_errors() {
        for bad in ["", "{", r#"{"A": }"#, "{} {}", "{} x", r#"{"A": [1,]}"#] {
            assert_eq!(err(bad).0, TcssCode::InvalidParameterParsingError, "{bad}");
        }
    }

    #[test]
    fn depth_names_the_field() {
        let (c, m) = err(r#"{"A": {"B": [{"C": {"D": 1}}]}}"#);
        assert_eq!(c, TcssCode::InvalidParameterParsingError);
        assert!(m.contains("`A.B[0].C`") && m.contains("deeper than 4"), "{m}");
        // serde_json's own recursion limit (128) is never reached first with the real limit.
        let deep = format!("{{\"A\":{}1{}}}", "[".repeat(200), "]".repeat(200));
        let e = check(deep.as_bytes(), crate::action::MAX_JSON_DEPTH, 1000).unwrap_err();
        assert!(e.message.contains("`A[0][0]") && e.message.contains("deeper than 32"), "{}", e.message);
    }

    #[test]
    fn array_length_names_the_field() {
        let (c, m) = err(r#"{"Filters": [{"Values": [1, 2, 3, 4]}]}"#);
        assert_eq!(c, TcssCode::InvalidParameterValueLengthLimit);
        assert!(m.contains("`Filters[0].Values`") && m.contains("more than 3"), "{m}");
        let (c, m) = err(r#"{"A\"b": [1, 2, 3, 4]}"#);
        assert_eq!(c, TcssCode::InvalidParameterValueLengthLimit);
        assert!(m.contains(r#"`A"b`"#), "{m}");
        assert_eq!(err("[1, 2, 3, 4]").1, "The request body has more than 3 elements; send at most 3 per request.");
    }
}
