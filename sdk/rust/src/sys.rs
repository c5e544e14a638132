//! The raw `iot_v1` imports (docs/host-api.md, "Imports"). On wasm32 they
//! are WebAssembly imports; a module imports only the functions it uses
//! (the linker drops the rest). On any other target (the host, for
//! `cargo test`) they are stubs: clocks return 0 and every call fails with
//! `IOT_EIO`, so the pure parts of the SDK and of modules build and test
//! natively.

#[cfg(target_arch = "wasm32")]
#[link(wasm_import_module = "iot_v1")]
extern "C" {
    pub fn log(level: i32, ptr: *const u8, len: usize) -> i32;
    pub fn time_monotonic_ns() -> i64;
    pub fn time_wall_ns() -> i64;
    pub fn sensor_read(name_ptr: *const u8, name_len: usize, out_ptr: *mut u8) -> i32;
    pub fn actuator_write(name_ptr: *const u8, name_len: usize, value: f64) -> i32;
    pub fn publish(topic_ptr: *const u8, topic_len: usize, payload_ptr: *const u8, payload_len: usize) -> i32;
    pub fn kv_get(key_ptr: *const u8, key_len: usize, buf_ptr: *mut u8, buf_cap: usize) -> i32;
    pub fn kv_put(key_ptr: *const u8, key_len: usize, val_ptr: *const u8, val_len: usize) -> i32;
    pub fn kv_delete(key_ptr: *const u8, key_len: usize) -> i32;
    pub fn timer_start(id: i32, period_ms: i32, periodic: i32) -> i32;
    pub fn timer_cancel(id: i32) -> i32;
}

#[cfg(not(target_arch = "wasm32"))]
mod host {
    #![allow(clippy::missing_safety_doc)]
    use crate::error::IOT_EIO;
    pub unsafe fn log(_: i32, _: *const u8, _: usize) -> i32 {
        IOT_EIO
    }
    pub unsafe fn time_monotonic_ns() -> i64 {
        0
    }
    pub unsafe fn time_wall_ns() -> i64 {
        0
    }
    pub unsafe fn sensor_read(_: *const u8, _: usize, _: *mut u8) -> i32 {
        IOT_EIO
    }
    pub unsafe fn actuator_write(_: *const u8, _: usize, _: f64) -> i32 {
        IOT_EIO
    }
    pub unsafe fn publish(_: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
        IOT_EIO
    }
    pub unsafe fn kv_get(_: *const u8, _: usize, _: *mut u8, _: usize) -> i32 {
        IOT_EIO
    }
    pub unsafe fn kv_put(_: *const u8, _: usize, _: *const u8, _: usize) -> i32 {
        IOT_EIO
    }
    pub unsafe fn kv_delete(_: *const u8, _: usize) -> i32 {
        IOT_EIO
    }
    pub unsafe fn timer_start(_: i32, _: i32, _: i32) -> i32 {
        IOT_EIO
    }
    pub unsafe fn timer_cancel(_: i32) -> i32 {
        IOT_EIO
    }
}
#[cfg(not(target_arch = "wasm32"))]
pub use host::*;
