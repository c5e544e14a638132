//! Message delivery and the payload ownership rule (docs/host-api.md).
//!
//! Before each delivery the agent calls the exported `graft_alloc(size)`
//! for room for the topic and payload, writes them there, and calls
//! `on_message` with pointers into that room. The room then belongs to the
//! module. The SDK remembers what `graft_alloc` handed out since the last
//! delivery (up to `PENDING` buffers; past that the oldest is freed, as the
//! agent never keeps more than one delivery in flight) and frees all of it
//! after the user's handler returns, whatever it returned. A handler must
//! therefore copy out anything it wants to keep; `topic` and `payload` are
//! borrows that end with the call.

use crate::error::{Status, IOT_EFAULT, IOT_EINVAL};

#[cfg(target_arch = "wasm32")]
mod pending {
    const PENDING: usize = 4;
    use core::cell::UnsafeCell;

    pub struct List(UnsafeCell<([usize; PENDING], usize)>);
    // wasm32 instances are single-threaded
    unsafe impl Sync for List {}
    pub static LIST: List = List(UnsafeCell::new(([0; PENDING], 0)));

    impl List {
        pub fn push(&self, p: usize) {
            let (slots, n) = unsafe { &mut *self.0.get() };
            if *n == PENDING {
                unsafe { crate::heap::HEAP.free(slots[0] as *mut u8) };
                slots.copy_within(1.., 0);
                *n -= 1;
            }
            slots[*n] = p;
            *n += 1;
        }

        pub fn free_all(&self) {
            let (slots, n) = unsafe { &mut *self.0.get() };
            for p in &slots[..*n] {
                unsafe { crate::heap::HEAP.free(*p as *mut u8) };
            }
            *n = 0;
        }
    }
}

/// The body of the exported `graft_alloc`: room for `size` bytes, or 0
/// (the agent then drops the message and counts it).
pub fn alloc(size: i32) -> i32 {
    if size < 0 {
        return 0;
    }
    #[cfg(target_arch = "wasm32")]
    {
        let p = crate::heap::HEAP.alloc(size as usize) as usize;
        if p != 0 {
            pending::LIST.push(p);
        }
        p as i32
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        0
    }
}

/// The body of the exported `on_message`: checks and borrows the topic
/// (UTF-8) and payload, runs `handler`, then frees the delivery buffers.
/// A negative length or a non-UTF-8 topic rejects the event without
/// calling the handler.
///
/// # Safety
/// The pointers and lengths must describe memory of this module, as the
/// agent's do.
pub unsafe fn dispatch(
    topic_ptr: i32,
    topic_len: i32,
    payload_ptr: i32,
    payload_len: i32,
    handler: impl FnOnce(&str, &[u8]) -> i32,
) -> i32 {
    let status = if topic_len < 0 || payload_len < 0 {
        IOT_EFAULT
    } else {
        let topic = raw_slice(topic_ptr, topic_len);
        let payload = raw_slice(payload_ptr, payload_len);
        match core::str::from_utf8(topic) {
            Ok(t) => handler(t, payload),
            Err(_) => IOT_EINVAL,
        }
    };
    release();
    status.status()
}

/// Frees what `graft_alloc` handed out for the delivery that just ended.
pub fn release() {
    #[cfg(target_arch = "wasm32")]
    pending::LIST.free_all();
}

unsafe fn raw_slice<'a>(ptr: i32, len: i32) -> &'a [u8] {
    if len == 0 {
        &[]
    } else {
        core::slice::from_raw_parts(ptr as u32 as usize as *const u8, len as usize)
    }
}
