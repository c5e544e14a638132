//! # graft-iot: the Rust SDK for Graft modules
//!
//! A `no_std` crate with no dependencies for modules that run under graftd
//! and import the host API `iot_v1` (docs/host-api.md). It gives:
//!
//! - safe wrappers over every import: [`log`], [`monotonic_ns`],
//!   [`wall_ns`], [`sensor_read`], [`actuator_write`], [`publish`],
//!   [`kv`], [`timer`]; refusals come back as typed [`Error`]s;
//! - the 24-byte sensor [`Reading`], encoded and decoded explicitly;
//! - MQTT [`topic`] helpers and a stack string [`StrBuf`] for topics;
//! - a small size-class heap ([`heap`]) over the module's memory, which is
//!   the `#[global_allocator]` on wasm32 (feature `global-allocator`);
//! - [`module!`], which turns plain functions into the exports the agent
//!   calls (`on_start`, `on_message` with `graft_alloc`, `on_timer`,
//!   `health`) and applies the payload ownership rule: the buffer the agent
//!   filled through `graft_alloc` is freed by the SDK after the handler
//!   returns, so handlers just borrow `topic` and `payload`;
//! - a panic handler that traps (`unreachable`): the agent ends the
//!   instance and its supervisor restarts it.
//!
//! ```ignore
//! #![no_std]
//! use graft_iot::{Reading, Error};
//! fn on_message(topic: &str, payload: &[u8]) -> Result<(), Error> {
//!     let r = Reading::decode(payload).ok_or(Error::Inval)?;
//!     graft_iot::publish_reading("out/x", &r)
//! }
//! graft_iot::module! { on_message => on_message }
//! ```
//!
//! On targets other than wasm32 the imports are stubs (see [`sys`]) so the
//! crate and the pure parts of modules build and test on the host:
//! `cargo test --offline` in sdk/rust.

#![cfg_attr(not(test), no_std)]

mod api;
mod buf;
pub mod delivery;
mod error;
pub mod heap;
mod reading;
pub mod sys;
pub mod topic;

pub use api::{
    actuator_write, debug, error, info, kv, log, monotonic_ns, publish, publish_reading,
    sensor_read, timer, wall_ns, warn, Level,
};
pub use buf::StrBuf;
pub use error::{
    check, Error, Status, IOT_E2BIG, IOT_EAGAIN, IOT_EFAULT, IOT_EINVAL, IOT_EIO, IOT_ENOENT,
    IOT_EPERM, IOT_EQUOTA, IOT_OK,
};
pub use reading::{Quality, Reading, Unit, READING_SIZE};

/// Ends the instance with a WebAssembly trap (`unreachable`); on the host,
/// a panic.
#[inline(always)]
pub fn trap() -> ! {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
    #[cfg(not(target_arch = "wasm32"))]
    panic!("graft_iot::trap");
}

/// A panic in a module traps: the event fails, the agent ends this
/// instance and restarts it with backoff. No message is formatted (that
/// would pull `core::fmt` into every module).
#[cfg(all(target_arch = "wasm32", not(test)))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    trap()
}

/// Formats a log line into a 256-byte stack buffer (longer is cut) and
/// logs it: `graft_iot::log!(Level::Info, "{} readings", n)`. Uses
/// `core::fmt`, which costs a few KiB of code; `graft_iot::info(&str)`
/// does not.
#[macro_export]
macro_rules! log {
    ($level:expr, $($arg:tt)*) => {{
        let mut line = $crate::StrBuf::<256>::new();
        let _ = ::core::fmt::Write::write_fmt(&mut line, ::core::format_args!($($arg)*));
        let _ = $crate::log($level, line.as_str());
    }};
}

/// Declares the module's handlers and generates their exports:
///
/// ```ignore
/// graft_iot::module! {
///     on_start => start,        // fn() -> impl Status
///     on_message => message,    // fn(&str, &[u8]) -> impl Status
///     on_timer => timer,        // fn(i32) -> impl Status
///     health => health,         // fn() -> impl Status
/// }
/// ```
///
/// Any subset, in any order. A handler returns anything that is a
/// [`Status`]: `()`, `Result<T, Error>`, `bool` or a raw `i32`; `Ok`/`()`
/// becomes 0 (processed), an error its `IOT_*` code (the agent counts the
/// event as rejected). `on_message` also exports `graft_alloc`; see
/// [`delivery`] for the ownership rule.
#[macro_export]
macro_rules! module {
    ($($kind:ident => $handler:path),* $(,)?) => {
        $( $crate::__graft_export!($kind, $handler); )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __graft_export {
    (on_start, $h:path) => {
        #[export_name = "on_start"]
        pub extern "C" fn __graft_export_on_start() -> i32 {
            $crate::Status::status($h())
        }
    };
    (on_message, $h:path) => {
        #[export_name = "graft_alloc"]
        pub extern "C" fn __graft_export_graft_alloc(size: i32) -> i32 {
            $crate::delivery::alloc(size)
        }
        #[export_name = "on_message"]
        pub unsafe extern "C" fn __graft_export_on_message(
            topic_ptr: i32,
            topic_len: i32,
            payload_ptr: i32,
            payload_len: i32,
        ) -> i32 {
            $crate::delivery::dispatch(topic_ptr, topic_len, payload_ptr, payload_len, |t, p| {
                $crate::Status::status($h(t, p))
            })
        }
    };
    (on_timer, $h:path) => {
        #[export_name = "on_timer"]
        pub extern "C" fn __graft_export_on_timer(id: i32) -> i32 {
            $crate::Status::status($h(id))
        }
    };
    (health, $h:path) => {
        #[export_name = "health"]
        pub extern "C" fn __graft_export_health() -> i32 {
            $crate::Status::status($h())
        }
    };
    ($other:ident, $h:path) => {
        ::core::compile_error!(::core::concat!(
            "graft_iot::module!: unknown handler `",
            ::core::stringify!($other),
            "` (expected on_start, on_message, on_timer or health)"
        ));
    };
}

#[cfg(test)]
mod tests;
