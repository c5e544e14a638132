//! The 24-byte sensor reading (docs/host-api.md, "The sensor reading"):
//!
//! | offset | type | field |
//! |---|---|---|
//! | 0  | i64 | `timestamp_ns` |
//! | 8  | f64 | `value` |
//! | 16 | u32 | `unit` |
//! | 20 | u32 | `quality` |
//!
//! All little-endian. Encoding and decoding are explicit byte moves, so they
//! do not depend on the struct's layout or the target's byte order.

/// A unit code. Unknown codes (from a newer host) are kept as they are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unit(pub u32);

impl Unit {
    pub const NONE: Unit = Unit(0);
    pub const DEG_C: Unit = Unit(1);
    pub const PERCENT: Unit = Unit(2);
    pub const PA: Unit = Unit(3);
    pub const VOLT: Unit = Unit(4);
    pub const AMPERE: Unit = Unit(5);
    pub const LUX: Unit = Unit(6);
    pub const PPM: Unit = Unit(7);
    pub const METRE_PER_S: Unit = Unit(8);
    pub const WATT: Unit = Unit(9);

    /// The unit's symbol as the host API documents it ("" for none,
    /// "?" for an unknown code).
    pub const fn symbol(self) -> &'static str {
        match self.0 {
            0 => "",
            1 => "degC",
            2 => "percent",
            3 => "Pa",
            4 => "V",
            5 => "A",
            6 => "lux",
            7 => "ppm",
            8 => "m/s",
            9 => "W",
            _ => "?",
        }
    }
}

/// A quality code: 0 good, 1 uncertain, 2 bad. Larger is worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quality(pub u32);

impl Quality {
    pub const GOOD: Quality = Quality(0);
    pub const UNCERTAIN: Quality = Quality(1);
    pub const BAD: Quality = Quality(2);
}

/// One sensor reading, as `sensor_read` fills it and as drivers publish it
/// on `sensors/<name>`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Reading {
    /// Wall clock when the driver sampled, ns since the Unix epoch.
    pub timestamp_ns: i64,
    pub value: f64,
    pub unit: Unit,
    pub quality: Quality,
}

/// The encoded size of a reading.
pub const READING_SIZE: usize = 24;

impl Reading {
    pub const fn new(timestamp_ns: i64, value: f64, unit: Unit, quality: Quality) -> Reading {
        Reading { timestamp_ns, value, unit, quality }
    }

    /// The 24 little-endian bytes.
    pub fn encode(&self) -> [u8; READING_SIZE] {
        let mut out = [0u8; READING_SIZE];
        out[0..8].copy_from_slice(&self.timestamp_ns.to_le_bytes());
        out[8..16].copy_from_slice(&self.value.to_bits().to_le_bytes());
        out[16..20].copy_from_slice(&self.unit.0.to_le_bytes());
        out[20..24].copy_from_slice(&self.quality.0.to_le_bytes());
        out
    }

    /// Parses exactly 24 bytes; `None` for any other length (a payload that
    /// is not a reading).
    pub fn decode(bytes: &[u8]) -> Option<Reading> {
        if bytes.len() != READING_SIZE {
            return None;
        }
        Some(Reading {
            timestamp_ns: i64::from_le_bytes(le8(&bytes[0..8])),
            value: f64::from_bits(u64::from_le_bytes(le8(&bytes[8..16]))),
            unit: Unit(u32::from_le_bytes(le4(&bytes[16..20]))),
            quality: Quality(u32::from_le_bytes(le4(&bytes[20..24]))),
        })
    }
}

fn le8(b: &[u8]) -> [u8; 8] {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    a
}

fn le4(b: &[u8]) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    a
}
