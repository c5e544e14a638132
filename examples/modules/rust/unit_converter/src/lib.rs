//! unit_converter: republishes sensor readings in other units.
//!
//! Subscribes to `sensors/+` (24-byte readings). For each rule of `RULES`
//! whose unit is the reading's, it publishes `value * scale + offset` as a
//! reading on `conv/<sensor>/<suffix>`, with the input's timestamp and
//! quality. The host API's unit codes have no degF, K, hPa or km/h, so the
//! converted reading's unit is 0 (none) and the topic's last level names
//! it. A reading whose unit has no rule is processed and publishes nothing.
//! A payload that is not a reading, or a topic that is not
//! `sensors/<name>`, is rejected (the agent counts it).
#![no_std]

use graft_iot::{topic, Error, Quality, Reading, StrBuf, Unit};

struct Rule {
    from: Unit,
    suffix: &'static str,
    scale: f64,
    offset: f64,
}

/// The mapping table, compiled in.
const RULES: &[Rule] = &[
    Rule { from: Unit::DEG_C, suffix: "degF", scale: 1.8, offset: 32.0 },
    Rule { from: Unit::DEG_C, suffix: "K", scale: 1.0, offset: 273.15 },
    Rule { from: Unit::PA, suffix: "hPa", scale: 0.01, offset: 0.0 },
    Rule { from: Unit::METRE_PER_S, suffix: "km_h", scale: 3.6, offset: 0.0 },
    Rule { from: Unit::WATT, suffix: "kW", scale: 0.001, offset: 0.0 },
];

const MAX_TOPIC: usize = 96;

fn start() {
    graft_iot::info("unit_converter: degC->degF,K; Pa->hPa; m/s->km_h; W->kW on conv/<sensor>/<unit>");
}

fn message(topic: &str, payload: &[u8]) -> Result<(), Error> {
    let name = topic::sensor_name(topic).ok_or(Error::Inval)?;
    let r = Reading::decode(payload).ok_or(Error::Inval)?;
    let mut result = Ok(());
    for rule in RULES.iter().filter(|rule| rule.from == r.unit) {
        let mut out = StrBuf::<MAX_TOPIC>::new();
        out.push_str("conv/")?;
        out.push_str(name)?;
        out.push_str("/")?;
        out.push_str(rule.suffix)?;
        let value = r.value * rule.scale + rule.offset;
        let converted = Reading::new(r.timestamp_ns, value, Unit::NONE, Quality(r.quality.0));
        // keep converting on a refusal; report the first one
        if let Err(e) = graft_iot::publish_reading(&out, &converted) {
            if result.is_ok() {
                result = Err(e);
            }
        }
    }
    result
}

fn health() {}

graft_iot::module! {
    on_start => start,
    on_message => message,
    health => health,
}
