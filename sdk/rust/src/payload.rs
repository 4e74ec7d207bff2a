//! Payloads: how values cross into and out of Temporal.
//!
//! polyworker speaks Temporal's default data converter: JSON with the
//! `encoding: json/plain` metadata, so a workflow started from the `temporal`
//! CLI or any other SDK's client reads and writes the same values.

use serde::{Serialize, de::DeserializeOwned};

pub use crate::wit::polyworker::worker::types::Payload;

const ENCODING: &str = "encoding";
const JSON_PLAIN: &[u8] = b"json/plain";
const BINARY_NULL: &[u8] = b"binary/null";

/// A value that could not be turned into a payload, or a payload that could
/// not be turned into the requested type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PayloadError {}

impl Payload {
    /// Encodes `value` as a `json/plain` payload.
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<Self, PayloadError> {
        let data = serde_json::to_vec(value)
            .map_err(|e| PayloadError(format!("cannot encode value as JSON: {e}")))?;
        Ok(Payload {
            metadata: vec![(ENCODING.to_string(), JSON_PLAIN.to_vec())],
            data,
        })
    }

    /// The payload's `encoding` metadata, if any.
    pub fn encoding(&self) -> Option<&[u8]> {
        self.metadata
            .iter()
            .find(|(k, _)| k == ENCODING)
            .map(|(_, v)| v.as_slice())
    }

    /// Decodes a `json/plain` (or `binary/null`, as `null`) payload into `T`.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, PayloadError> {
        match self.encoding() {
            Some(JSON_PLAIN) | None => serde_json::from_slice(&self.data)
                .map_err(|e| PayloadError(format!("cannot decode JSON payload: {e}"))),
            Some(BINARY_NULL) => serde_json::from_slice(b"null")
                .map_err(|e| PayloadError(format!("cannot decode null payload: {e}"))),
            Some(other) => Err(PayloadError(format!(
                "unsupported payload encoding {:?}",
                String::from_utf8_lossy(other)
            ))),
        }
    }
}

/// Types that can be a workflow's or activity's arguments.
///
/// A single value is the first argument; a tuple takes one argument per
/// element. A missing trailing argument decodes as JSON `null`, so `Option`
/// arguments may be left out by the caller.
pub trait FromPayloads: Sized {
    /// Decodes the arguments.
    fn from_payloads(payloads: &[Payload]) -> Result<Self, PayloadError>;
}

/// Types that can be passed as arguments (the reverse of [`FromPayloads`]).
pub trait ToPayloads {
    /// Encodes the arguments.
    fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError>;
}

fn nth<T: DeserializeOwned>(payloads: &[Payload], i: usize) -> Result<T, PayloadError> {
    match payloads.get(i) {
        Some(p) => p
            .decode()
            .map_err(|e| PayloadError(format!("argument {}: {}", i + 1, e.0))),
        None => serde_json::from_slice(b"null")
            .map_err(|_| PayloadError(format!("argument {} is missing", i + 1))),
    }
}

impl FromPayloads for () {
    fn from_payloads(_: &[Payload]) -> Result<Self, PayloadError> {
        Ok(())
    }
}

impl ToPayloads for () {
    fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError> {
        Ok(Vec::new())
    }
}

/// Already-encoded arguments, passed through as they are.
impl ToPayloads for Vec<Payload> {
    fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError> {
        Ok(self.clone())
    }
}

macro_rules! tuple_payloads {
    ($($name:ident : $idx:tt),+) => {
        impl<$($name: DeserializeOwned),+> FromPayloads for ($($name,)+) {
            fn from_payloads(payloads: &[Payload]) -> Result<Self, PayloadError> {
                Ok(($(nth::<$name>(payloads, $idx)?,)+))
            }
        }
        impl<$($name: Serialize),+> ToPayloads for ($($name,)+) {
            fn to_payloads(&self) -> Result<Vec<Payload>, PayloadError> {
                Ok(vec![$(Payload::json(&self.$idx)?),+])
            }
        }
    };
}

tuple_payloads!(A: 0);
tuple_payloads!(A: 0, B: 1);
tuple_payloads!(A: 0, B: 1, C: 2);
tuple_payloads!(A: 0, B: 1, C: 2, D: 3);
