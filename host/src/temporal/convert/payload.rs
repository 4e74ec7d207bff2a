//! Payloads, headers, durations and timestamps.

use std::collections::HashMap;

use prost_wkt_types::{Duration as PbDuration, Timestamp as PbTimestamp};
use temporalio_common::protos::temporal::api::common::v1::Payload as CorePayload;

use super::{ConvertError, Limits};
use crate::runtime::bindings::polyworker::worker::types::Payload;

/// Core → WIT. Metadata is sorted by key so the guest sees the same order on
/// every replay (protobuf maps have none).
pub fn payload_from_core(p: CorePayload) -> Payload {
    let mut metadata: Vec<(String, Vec<u8>)> = p.metadata.into_iter().collect();
    metadata.sort_by(|a, b| a.0.cmp(&b.0));
    Payload {
        metadata,
        data: p.data,
    }
}

/// Core → WIT, for a list.
pub fn payloads_from_core(ps: impl IntoIterator<Item = CorePayload>) -> Vec<Payload> {
    ps.into_iter().map(payload_from_core).collect()
}

/// WIT → core, checking the size limit and duplicate metadata keys.
pub fn payload_to_core(p: Payload, limits: &Limits) -> Result<CorePayload, ConvertError> {
    let len = p.data.len()
        + p.metadata
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    if len > limits.max_payload_bytes {
        return Err(ConvertError::TooLarge {
            what: "payload",
            len,
            limit: limits.max_payload_bytes,
        });
    }
    let mut metadata = HashMap::with_capacity(p.metadata.len());
    for (k, v) in p.metadata {
        if metadata.contains_key(&k) {
            return Err(ConvertError::DuplicateMetadata(k));
        }
        metadata.insert(k, v);
    }
    Ok(CorePayload {
        metadata,
        data: p.data,
        ..Default::default()
    })
}

pub fn payloads_to_core(
    ps: Vec<Payload>,
    limits: &Limits,
) -> Result<Vec<CorePayload>, ConvertError> {
    ps.into_iter().map(|p| payload_to_core(p, limits)).collect()
}

/// Header maps, sorted by key.
pub fn headers_from_core(h: HashMap<String, CorePayload>) -> Vec<(String, Payload)> {
    let mut v: Vec<_> = h
        .into_iter()
        .map(|(k, p)| (k, payload_from_core(p)))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

pub fn headers_to_core(
    h: Vec<(String, Payload)>,
    limits: &Limits,
) -> Result<HashMap<String, CorePayload>, ConvertError> {
    h.into_iter()
        .map(|(k, p)| Ok((k, payload_to_core(p, limits)?)))
        .collect()
}

/// Nanoseconds → protobuf duration. Cannot fail: u64 nanoseconds fit.
pub fn duration_to_core(nanos: u64) -> PbDuration {
    PbDuration {
        seconds: (nanos / 1_000_000_000) as i64,
        nanos: (nanos % 1_000_000_000) as i32,
    }
}

/// Protobuf duration → nanoseconds; negative durations become 0, huge ones saturate.
pub fn duration_from_core(d: &PbDuration) -> u64 {
    if d.seconds < 0 || d.nanos < 0 {
        return 0;
    }
    (d.seconds as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(d.nanos as u64)
}

/// Nanoseconds since the epoch → a protobuf timestamp.
pub fn timestamp_to_core(nanos: u64) -> PbTimestamp {
    PbTimestamp {
        seconds: (nanos / 1_000_000_000) as i64,
        nanos: (nanos % 1_000_000_000) as i32,
    }
}

/// Timestamps before 1970 (never sent by Temporal) clamp to the epoch.
pub fn timestamp_from_core(t: &PbTimestamp) -> u64 {
    if t.seconds < 0 {
        return 0;
    }
    (t.seconds as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.nanos.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(data: &str) -> CorePayload {
        CorePayload {
            metadata: [
                ("encoding".to_string(), b"json/plain".to_vec()),
                ("a".to_string(), b"1".to_vec()),
            ]
            .into(),
            data: data.as_bytes().to_vec(),
            ..Default::default()
        }
    }

    #[test]
    fn payload_round_trips_with_sorted_metadata() {
        let wit = payload_from_core(json("{\"x\":1}"));
        assert_eq!(wit.metadata[0].0, "a");
        assert_eq!(wit.metadata[1].0, "encoding");
        let back = payload_to_core(wit, &Limits::default()).unwrap();
        assert_eq!(back, json("{\"x\":1}"));
    }

    #[test]
    fn oversized_and_duplicate_payloads_are_rejected() {
        let limits = Limits {
            max_payload_bytes: 10,
            ..Limits::default()
        };
        let big = Payload {
            metadata: vec![],
            data: vec![0; 11],
        };
        assert!(matches!(
            payload_to_core(big, &limits),
            Err(ConvertError::TooLarge { len: 11, .. })
        ));
        let dup = Payload {
            metadata: vec![("k".into(), vec![]), ("k".into(), vec![])],
            data: vec![],
        };
        assert_eq!(
            payload_to_core(dup, &Limits::default()),
            Err(ConvertError::DuplicateMetadata("k".into()))
        );
    }

    #[test]
    fn durations_and_timestamps_round_trip_and_clamp() {
        for n in [0, 1, 999_999_999, 1_000_000_000, 86_400_123_456_789] {
            assert_eq!(duration_from_core(&duration_to_core(n)), n);
            assert_eq!(timestamp_from_core(&timestamp_to_core(n)), n);
        }
        assert_eq!(
            duration_from_core(&PbDuration {
                seconds: -1,
                nanos: 0
            }),
            0
        );
        assert_eq!(
            duration_from_core(&PbDuration {
                seconds: i64::MAX,
                nanos: 0
            }),
            u64::MAX
        );
        assert_eq!(
            timestamp_from_core(&PbTimestamp {
                seconds: -5,
                nanos: 0
            }),
            0
        );
    }
}
