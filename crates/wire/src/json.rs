//! Reading any JSON value by kind, for the bodies whose every field the domain judges
//! itself: the values are read in full (a malformed string or number deep inside is
//! still a malformed body), but only their kind is kept.

use serde::de::{MapAccess, SeqAccess};
use tether_domain::SettingValue;

/// The visitor methods of the scalar values, each answering `$value`.
macro_rules! forward_scalars {
    (|$arg:pat_param| $value:expr) => {
        fn visit_bool<E: serde::de::Error>(self, $arg: bool) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_i64<E: serde::de::Error>(self, $arg: i64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_u64<E: serde::de::Error>(self, $arg: u64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_f64<E: serde::de::Error>(self, $arg: f64) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_str<E: serde::de::Error>(self, $arg: &str) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            let $arg = ();
            Ok($value)
        }
    };
}
pub(crate) use forward_scalars;

/// `Deserialize` for `$type` from any JSON value: a visitor of `$value` with the visit
/// methods given (it expects "any JSON value"), whose value `$into` makes the `$type`.
macro_rules! deserialize_any {
    ($type:ty, $value:ty, $into:expr, { $($methods:tt)* }) => {
        impl<'de> serde::Deserialize<'de> for $type {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct AnyValue;
                impl<'de> serde::de::Visitor<'de> for AnyValue {
                    type Value = $value;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str("any JSON value")
                    }
                    $($methods)*
                }
                deserializer.deserialize_any(AnyValue).map($into)
            }
        }
    };
}
pub(crate) use deserialize_any;

/// Any JSON value, read in full and dropped.
pub(crate) struct Discard;

deserialize_any!(Discard, Discard, std::convert::identity, {
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Discard, A::Error> {
        drain_seq(seq).map(|()| Discard)
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Discard, A::Error> {
        drain_map(map).map(|()| Discard)
    }
    forward_scalars!(|_| Discard);
});

/// Reads every element of a JSON array.
pub(crate) fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<Discard>()?.is_some() {}
    Ok(())
}

/// Reads every member of a JSON object.
pub(crate) fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<Discard, Discard>()?.is_some() {}
    Ok(())
}

/// A JSON value as a setting value: `None` for `null`, arrays and objects named.
pub(crate) struct Kind(pub(crate) Option<SettingValue>);

deserialize_any!(Kind, Kind, std::convert::identity, {
    fn visit_bool<E>(self, b: bool) -> Result<Kind, E> {
        Ok(Kind(Some(SettingValue::Bool(b))))
    }
    // Every JSON number has an f64 reading; the domain checks wholeness and bounds.
    #[expect(
        clippy::cast_precision_loss,
        reason = "as a JSON value reads it: every number as an f64"
    )]
    fn visit_i64<E>(self, n: i64) -> Result<Kind, E> {
        Ok(Kind(Some(SettingValue::Number(n as f64))))
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "as a JSON value reads it: every number as an f64"
    )]
    fn visit_u64<E>(self, n: u64) -> Result<Kind, E> {
        Ok(Kind(Some(SettingValue::Number(n as f64))))
    }
    fn visit_f64<E>(self, n: f64) -> Result<Kind, E> {
        Ok(Kind(Some(SettingValue::Number(n))))
    }
    fn visit_str<E>(self, s: &str) -> Result<Kind, E> {
        Ok(Kind(Some(SettingValue::Text(s.to_owned()))))
    }
    fn visit_string<E>(self, s: String) -> Result<Kind, E> {
        Ok(Kind(Some(SettingValue::Text(s))))
    }
    fn visit_unit<E>(self) -> Result<Kind, E> {
        Ok(Kind(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Kind, A::Error> {
        drain_seq(seq).map(|()| Kind(Some(SettingValue::Other("array"))))
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Kind, A::Error> {
        drain_map(map).map(|()| Kind(Some(SettingValue::Other("object"))))
    }
});
