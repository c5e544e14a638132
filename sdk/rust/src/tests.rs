//! Host-side tests of the pure parts: `cargo test --offline` in sdk/rust.

use crate::heap::Heap;
use crate::topic::{is_publishable, last_level, level, matches, sensor_name};
use crate::*;

#[test]
fn reading_encodes_little_endian_at_documented_offsets() {
    let r = Reading::new(0x0102_0304_0506_0708, 1.5, Unit::DEG_C, Quality::UNCERTAIN);
    let b = r.encode();
    assert_eq!(&b[0..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
    // 1.5 = 0x3FF8000000000000
    assert_eq!(&b[8..16], &[0, 0, 0, 0, 0, 0, 0xF8, 0x3F]);
    assert_eq!(&b[16..20], &[1, 0, 0, 0]);
    assert_eq!(&b[20..24], &[1, 0, 0, 0]);
}

#[test]
fn reading_round_trips() {
    for r in [
        Reading::new(0, 0.0, Unit::NONE, Quality::GOOD),
        Reading::new(-1, -273.15, Unit::DEG_C, Quality::BAD),
        Reading::new(i64::MAX, f64::MAX, Unit::PA, Quality::UNCERTAIN),
        Reading::new(i64::MIN, f64::MIN_POSITIVE, Unit(1234), Quality(77)),
        Reading::new(1_700_000_000_000_000_000, 101325.0, Unit::PA, Quality::GOOD),
    ] {
        assert_eq!(Reading::decode(&r.encode()), Some(r));
    }
    let nan = Reading::decode(&Reading::new(1, f64::NAN, Unit::VOLT, Quality::GOOD).encode()).unwrap();
    assert!(nan.value.is_nan());
}

#[test]
fn reading_decodes_known_bytes() {
    let mut b = [0u8; 24];
    b[0..8].copy_from_slice(&1_000_000_007i64.to_le_bytes());
    b[8..16].copy_from_slice(&21.25f64.to_bits().to_le_bytes());
    b[16] = 3;
    b[20] = 2;
    let r = Reading::decode(&b).unwrap();
    assert_eq!(r.timestamp_ns, 1_000_000_007);
    assert_eq!(r.value, 21.25);
    assert_eq!(r.unit, Unit::PA);
    assert_eq!(r.quality, Quality::BAD);
}

#[test]
fn reading_rejects_other_lengths() {
    assert_eq!(Reading::decode(&[]), None);
    assert_eq!(Reading::decode(&[0; 23]), None);
    assert_eq!(Reading::decode(&[0; 25]), None);
}

#[test]
fn unit_symbols() {
    assert_eq!(Unit::DEG_C.symbol(), "degC");
    assert_eq!(Unit::WATT.symbol(), "W");
    assert_eq!(Unit(10).symbol(), "?");
}

#[test]
fn topic_filters() {
    assert!(matches("sensors/+", "sensors/t1"));
    assert!(!matches("sensors/+", "sensors/t1/x"));
    assert!(!matches("sensors/+", "sensors"));
    assert!(matches("sensors/+", "sensors/"));
    assert!(matches("sensors/#", "sensors"));
    assert!(matches("sensors/#", "sensors/a/b/c"));
    assert!(matches("#", "a/b"));
    assert!(matches("+/+/c", "a/b/c"));
    assert!(!matches("+/+/c", "a/b/d"));
    assert!(matches("a/b", "a/b"));
    assert!(!matches("a/b", "a/bc"));
    assert!(!matches("a/#/b", "a/x/b"));
    assert!(!matches("#", "$SYS/x"));
    assert!(matches("$SYS/#", "$SYS/x"));
}

#[test]
fn topic_levels() {
    assert_eq!(level("a/b/c", 0), Some("a"));
    assert_eq!(level("a/b/c", 2), Some("c"));
    assert_eq!(level("a/b/c", 3), None);
    assert_eq!(last_level("a/b/c"), "c");
    assert_eq!(last_level("abc"), "abc");
    assert_eq!(sensor_name("sensors/t1"), Some("t1"));
    assert_eq!(sensor_name("sensors/"), None);
    assert_eq!(sensor_name("other/t1"), None);
    assert!(is_publishable("avg/t1"));
    assert!(!is_publishable("avg/+"));
    assert!(!is_publishable("avg/#"));
    assert!(!is_publishable(""));
}

#[test]
fn error_codes_round_trip() {
    for code in -8..=-1 {
        let e = Error::from_code(code);
        assert_eq!(e.code(), code);
        assert!(!matches!(e, Error::Other(_)));
    }
    assert_eq!(Error::from_code(-99), Error::Other(-99));
    assert_eq!(Error::TooBig.name(), "IOT_E2BIG");
    assert_eq!(check(5), Ok(5));
    assert_eq!(check(IOT_EPERM), Err(Error::Perm));
}

#[test]
fn handler_statuses() {
    assert_eq!(().status(), 0);
    assert_eq!(Ok::<u8, Error>(3).status(), 0);
    assert_eq!(Err::<(), Error>(Error::Again).status(), IOT_EAGAIN);
    assert_eq!(true.status(), 0);
    assert_eq!(false.status(), IOT_EINVAL);
    assert_eq!(7.status(), 7);
}

#[test]
fn strbuf_builds_topics_and_cuts_long_text() {
    let mut b = StrBuf::<12>::new();
    b.push_str("avg/").unwrap();
    b.push_str("t1").unwrap();
    b.push_u32(407).unwrap();
    assert_eq!(b.as_str(), "avg/t1407");
    assert_eq!(b.push_str("toolong"), Err(Error::TooBig));
    assert_eq!(b.as_str(), "avg/t1407");
    let mut z = StrBuf::<4>::new();
    z.push_u32(0).unwrap();
    assert_eq!(&*z, "0");
    let mut c = StrBuf::<5>::new();
    assert!(core::fmt::Write::write_str(&mut c, "abcdé").is_err()); // é is 2 bytes
    assert_eq!(c.as_str(), "abcd");
}

/// The heap over a test region: 1 MiB of host memory, grown in 64 KiB
/// steps as the wasm version grows memory.
#[test]
fn heap_classes_reuse_and_growth() {
    let region = vec![0u64; (1 << 20) / 8];
    let base = region.as_ptr() as usize;
    let limit = base + (1 << 20);
    let mut h = Heap::new();
    h.init(base + 5, base + 65536); // start is rounded up to 16
    let grows = std::cell::Cell::new(0);
    let mut grow = |pages: usize| {
        grows.set(grows.get() + pages);
        base + 65536 * (1 + grows.get()) <= limit
    };
    unsafe {
        let a = h.alloc(1, &mut grow);
        assert_eq!(a, base + 16 + 8);
        assert_eq!(a % 8, 0);
        assert_eq!(Heap::usable_size(a), 8);
        let b = h.alloc(8, &mut grow); // still the 16-byte class
        assert_eq!(b, a + 16);
        let c = h.alloc(9, &mut grow); // 32-byte class
        assert_eq!(Heap::usable_size(c), 24);
        // steady state: free and allocate the same size -> the same block
        h.free(c);
        assert_eq!(h.alloc(20, &mut grow), c);
        h.free(a);
        h.free(b);
        assert_eq!(h.alloc(3, &mut grow), b); // LIFO
        assert_eq!(h.alloc(3, &mut grow), a);
        h.free(0); // ignored
        // a large block grows the region
        let big = h.alloc(100_000, &mut grow);
        assert_ne!(big, 0);
        assert_eq!(Heap::usable_size(big), 131072 - 8);
        assert!(big + 100_000 <= base + 65536 * (1 + grows.get()));
        assert!(grows.get() >= 2);
        // too large for the region: 0, and the heap still works
        assert_eq!(h.alloc(2 << 20, &mut grow), 0);
        assert_eq!(h.alloc(usize::MAX - 4, &mut grow), 0);
        assert_ne!(h.alloc(1, &mut grow), 0);
    }
    drop(region);
}

// The macros expand and link on the host too (the imports are stubs there).
mod declared {
    use crate::{Error, Level};
    fn start() -> Result<(), Error> {
        crate::log!(Level::Info, "started with {} rules", 3);
        Ok(())
    }
    fn message(_topic: &str, payload: &[u8]) -> Result<(), Error> {
        crate::Reading::decode(payload).map(drop).ok_or(Error::Inval)
    }
    fn timer(id: i32) -> i32 {
        id * 2
    }
    fn health() -> bool {
        crate::publish("x/y", b"").is_ok() // the host stub refuses
    }
    crate::module! {
        on_start => start,
        on_message => message,
        on_timer => timer,
        health => health,
    }

    #[test]
    fn generated_exports_map_statuses() {
        assert_eq!(__graft_export_on_start(), 0);
        assert_eq!(__graft_export_on_timer(21), 42);
        assert_eq!(__graft_export_health(), crate::IOT_EINVAL);
        assert_eq!(__graft_export_graft_alloc(-1), 0);
    }
}
