//! The workflow's input, in either of its two shapes: a packet (with the
//! options as a second argument), or the tutorial's
//! `{"Packet": {...}, "GetRouteMaxAttempts": n, "TransmitPacketMaxAttempts": m}`,
//! answered as `{"Packet": {...}}`. Anything else is refused with a message
//! that says what is wrong, rather than read as an empty packet.

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Packet, RoutingOptions};

/// Which shape the input came in, so the output can answer in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A packet; the answer is the packet.
    Packet,
    /// The tutorial's input record; the answer is `{"Packet": ...}`.
    Tutorial,
}

/// A packet as it may arrive: `ID` is required, every other field may be
/// missing, and no field may be unknown or of the wrong type.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct StrictPacket {
    #[serde(rename = "ID")]
    id: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    destination: String,
    #[serde(default)]
    contents: String,
    #[serde(default)]
    failed_route_providers: Option<Vec<String>>,
    #[serde(default)]
    current_route_provider: String,
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
struct TutorialInput {
    packet: Value,
    #[serde(default)]
    get_route_max_attempts: Option<u32>,
    #[serde(default)]
    transmit_packet_max_attempts: Option<u32>,
}

fn packet(v: Value) -> Result<Packet, String> {
    let p: StrictPacket = serde_json::from_value(v).map_err(|e| format!("not a packet: {e}"))?;
    if p.id.is_empty() {
        return Err("not a packet: `ID` is empty".into());
    }
    Ok(Packet {
        id: p.id,
        source: p.source,
        destination: p.destination,
        contents: p.contents,
        failed_route_providers: p.failed_route_providers.unwrap_or_default(),
        current_route_provider: p.current_route_provider,
        status: p.status,
    })
}

/// The packet, the options (the tutorial's fields override `options`), and
/// the shape; or what is wrong with the input.
pub fn parse(
    input: Value,
    options: Option<RoutingOptions>,
) -> Result<(Packet, RoutingOptions, Shape), String> {
    let mut options = options.unwrap_or_default();
    let tutorial = input.as_object().is_some_and(|o| o.contains_key("Packet"));
    if !tutorial {
        return Ok((packet(input)?, options, Shape::Packet));
    }
    let t: TutorialInput =
        serde_json::from_value(input).map_err(|e| format!("not a data-routing input: {e}"))?;
    if let Some(n) = t.get_route_max_attempts {
        options.route_max_attempts = n;
    }
    if let Some(n) = t.transmit_packet_max_attempts {
        options.transmit_max_attempts = n;
    }
    Ok((packet(t.packet)?, options, Shape::Tutorial))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn both_shapes_are_read() {
        let (p, _, shape) = parse(json!({"ID": "a", "Source": "s"}), None).unwrap();
        assert_eq!(
            (p.id.as_str(), p.source.as_str(), shape),
            ("a", "s", Shape::Packet)
        );
        let (p, o, shape) = parse(
            json!({"Packet": {"ID": "b"}, "GetRouteMaxAttempts": 7, "TransmitPacketMaxAttempts": 2}),
            None,
        )
        .unwrap();
        assert_eq!(p.id, "b");
        assert_eq!((o.route_max_attempts, o.transmit_max_attempts), (7, 2));
        assert_eq!(shape, Shape::Tutorial);
    }

    #[test]
    fn input_that_is_not_a_packet_says_what_is_wrong() {
        let wrong = |v: Value| parse(v, None).unwrap_err();
        assert!(wrong(json!({"Source": "s"})).contains("missing field `ID`"));
        assert!(wrong(json!({"ID": 3})).contains("invalid type"));
        assert!(wrong(json!({"ID": "a", "Colour": "red"})).contains("unknown field `Colour`"));
        assert!(wrong(json!({"ID": ""})).contains("`ID` is empty"));
        assert!(wrong(json!("a string")).contains("not a packet"));
        assert!(
            wrong(json!({"Packet": {"ID": "a"}, "Extra": 1})).contains("unknown field `Extra`")
        );
        assert!(wrong(json!({"Packet": {}})).contains("missing field `ID`"));
    }
}
