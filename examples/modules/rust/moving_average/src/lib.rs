//! moving_average: a moving-average down-sampler.
//!
//! Subscribes to `sensors/+` (24-byte readings). For each sensor it keeps
//! the last `WINDOW` readings and, after every `EVERY` readings it accepts,
//! publishes their average as a reading on `avg/<sensor>`:
//! - value: the mean of the values in the window (oldest to newest summed,
//!   fewer than `WINDOW` until the window has filled);
//! - timestamp: the newest reading's; unit: the sensor's;
//! - quality: the worst quality in the window.
//!
//! Readings of quality bad are ignored (processed, not counted). A change
//! of unit restarts that sensor's window. Up to `MAX_SENSORS` sensors with
//! names of up to `MAX_NAME` bytes; a reading of another sensor beyond
//! that, a payload that is not a reading or a topic that is not
//! `sensors/<name>` is rejected (the agent counts it) and changes nothing.
#![no_std]

use graft_iot::{topic, Error, Quality, Reading, StrBuf, Unit};

const WINDOW: usize = 8;
const EVERY: u32 = 4;
const MAX_SENSORS: usize = 16;
const MAX_NAME: usize = 32;

#[derive(Clone, Copy)]
struct Track {
    name: [u8; MAX_NAME],
    name_len: usize,
    unit: Unit,
    values: [f64; WINDOW],
    quality: [Quality; WINDOW],
    next: usize,   // slot of the next reading
    filled: usize, // readings in the window
    since: u32,    // readings since the last publish
}

const EMPTY: Track = Track {
    name: [0; MAX_NAME],
    name_len: 0,
    unit: Unit::NONE,
    values: [0.0; WINDOW],
    quality: [Quality::GOOD; WINDOW],
    next: 0,
    filled: 0,
    since: 0,
};

struct State {
    tracks: [Track; MAX_SENSORS],
    used: usize,
}

// One instance runs one event at a time: the handlers are its only users.
static mut STATE: State = State { tracks: [EMPTY; MAX_SENSORS], used: 0 };

fn track_for(name: &str) -> Result<&'static mut Track, Error> {
    let state = unsafe { &mut STATE };
    let bytes = name.as_bytes();
    if let Some(i) = state.tracks[..state.used].iter().position(|t| &t.name[..t.name_len] == bytes) {
        return Ok(&mut state.tracks[i]);
    }
    if bytes.len() > MAX_NAME {
        return Err(Error::TooBig);
    }
    if state.used == MAX_SENSORS {
        return Err(Error::Quota);
    }
    let t = &mut state.tracks[state.used];
    state.used += 1;
    t.name[..bytes.len()].copy_from_slice(bytes);
    t.name_len = bytes.len();
    Ok(t)
}

impl Track {
    fn push(&mut self, r: &Reading) {
        if self.filled > 0 && r.unit != self.unit {
            self.filled = 0;
            self.next = 0;
            self.since = 0;
        }
        self.unit = r.unit;
        self.values[self.next] = r.value;
        self.quality[self.next] = r.quality;
        self.next = (self.next + 1) % WINDOW;
        if self.filled < WINDOW {
            self.filled += 1;
        }
        self.since += 1;
    }

    /// The average over the window, oldest first.
    fn average(&self, newest: &Reading) -> Reading {
        let first = (self.next + WINDOW - self.filled) % WINDOW;
        let mut sum = 0.0;
        let mut worst = Quality::GOOD;
        for k in 0..self.filled {
            let i = (first + k) % WINDOW;
            sum += self.values[i];
            worst = worst.max(self.quality[i]);
        }
        Reading::new(newest.timestamp_ns, sum / self.filled as f64, self.unit, worst)
    }
}

fn start() {
    graft_iot::info("moving_average: window 8, publishing every 4 readings to avg/<sensor>");
}

fn message(topic: &str, payload: &[u8]) -> Result<(), Error> {
    let name = topic::sensor_name(topic).ok_or(Error::Inval)?;
    let reading = Reading::decode(payload).ok_or(Error::Inval)?;
    if reading.quality >= Quality::BAD {
        return Ok(());
    }
    let track = track_for(name)?;
    track.push(&reading);
    if track.since < EVERY {
        return Ok(());
    }
    track.since = 0;
    let mut out = StrBuf::<{ 4 + MAX_NAME }>::new();
    out.push_str("avg/")?;
    out.push_str(name)?;
    graft_iot::publish_reading(&out, &track.average(&reading))
}

fn health() {}

graft_iot::module! {
    on_start => start,
    on_message => message,
    health => health,
}
