//! Safe wrappers over the `iot_v1` imports. Each returns the typed error
//! for a refused call; see docs/host-api.md for limits and fuel costs.

use crate::error::{check, Error};
use crate::reading::{Reading, READING_SIZE};
use crate::sys;

/// Log levels (`log`'s first argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(i32)]
pub enum Level {
    Debug = 0,
    Info = 1,
    Warn = 2,
    Error = 3,
}

/// One line in the agent's log for this module (cut at 1 KiB by the host).
pub fn log(level: Level, msg: &str) -> Result<(), Error> {
    check(unsafe { sys::log(level as i32, msg.as_ptr(), msg.len()) }).map(drop)
}

pub fn debug(msg: &str) {
    let _ = log(Level::Debug, msg);
}

pub fn info(msg: &str) {
    let _ = log(Level::Info, msg);
}

pub fn warn(msg: &str) {
    let _ = log(Level::Warn, msg);
}

pub fn error(msg: &str) {
    let _ = log(Level::Error, msg);
}

/// The monotonic clock, in ns.
pub fn monotonic_ns() -> i64 {
    unsafe { sys::time_monotonic_ns() }
}

/// The wall clock, in ns since the Unix epoch.
pub fn wall_ns() -> i64 {
    unsafe { sys::time_wall_ns() }
}

/// Reads a granted sensor.
pub fn sensor_read(name: &str) -> Result<Reading, Error> {
    let mut out = [0u8; READING_SIZE];
    check(unsafe { sys::sensor_read(name.as_ptr(), name.len(), out.as_mut_ptr()) })?;
    Reading::decode(&out).ok_or(Error::Io)
}

/// Writes a granted actuator.
pub fn actuator_write(name: &str, value: f64) -> Result<(), Error> {
    check(unsafe { sys::actuator_write(name.as_ptr(), name.len(), value) }).map(drop)
}

/// Publishes opaque bytes to a topic (no wildcards) inside the granted
/// publish filters.
pub fn publish(topic: &str, payload: &[u8]) -> Result<(), Error> {
    check(unsafe { sys::publish(topic.as_ptr(), topic.len(), payload.as_ptr(), payload.len()) })
        .map(drop)
}

/// Publishes a reading as its 24-byte encoding.
pub fn publish_reading(topic: &str, reading: &Reading) -> Result<(), Error> {
    publish(topic, &reading.encode())
}

/// Key-value state, persistent per module, within the granted quota.
pub mod kv {
    use super::*;

    /// Copies the value of `key` into `buf` (as much as fits) and returns
    /// the value's whole length: a result larger than `buf.len()` means
    /// the copy was cut. `Err(Error::NoEnt)` when the key is absent.
    pub fn get(key: &str, buf: &mut [u8]) -> Result<usize, Error> {
        check(unsafe { sys::kv_get(key.as_ptr(), key.len(), buf.as_mut_ptr(), buf.len()) })
            .map(|n| n as usize)
    }

    /// Stores a value: visible to this module at once, durable when the
    /// event commits.
    pub fn put(key: &str, value: &[u8]) -> Result<(), Error> {
        check(unsafe { sys::kv_put(key.as_ptr(), key.len(), value.as_ptr(), value.len()) })
            .map(drop)
    }

    /// Removes a key.
    pub fn delete(key: &str) -> Result<(), Error> {
        check(unsafe { sys::kv_delete(key.as_ptr(), key.len()) }).map(drop)
    }
}

/// One-shot and periodic timers; `on_timer(id)` is called when one fires.
pub mod timer {
    use super::*;

    /// Fires once after `ms` milliseconds. Restarting an id replaces it.
    pub fn once(id: i32, ms: u32) -> Result<(), Error> {
        start(id, ms, false)
    }

    /// Fires every `ms` milliseconds (at least 10, and the granted minimum).
    pub fn every(id: i32, ms: u32) -> Result<(), Error> {
        start(id, ms, true)
    }

    pub fn start(id: i32, period_ms: u32, periodic: bool) -> Result<(), Error> {
        if period_ms > i32::MAX as u32 {
            return Err(Error::Inval);
        }
        check(unsafe { sys::timer_start(id, period_ms as i32, periodic as i32) }).map(drop)
    }

    pub fn cancel(id: i32) -> Result<(), Error> {
        check(unsafe { sys::timer_cancel(id) }).map(drop)
    }
}
